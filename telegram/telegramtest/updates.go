package telegramtest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/mymmrac/telego"
)

// Inject queues an update for the bot and wakes its pending getUpdates. It
// fills what Telegram would: the next update_id, and for a message without
// one the next message_id in its chat and the current date. Files referenced
// by photos, documents, stickers and voice notes become downloadable through
// getFile with synthetic content of their declared size (see SetFileContent).
// It returns the update as it will be delivered, so a test can refer to the
// message id in a later edit or reply. It panics for an unknown bot, which is
// a mistake in the test.
func (s *Server) Inject(botID int64, u telego.Update) telego.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBot(botID)
	u.UpdateID = b.nextUpdateID
	b.nextUpdateID++
	now := time.Now().Unix()
	for _, m := range []*telego.Message{u.Message, u.EditedMessage, u.ChannelPost, u.EditedChannelPost, u.BusinessMessage, u.EditedBusinessMessage} {
		if m == nil {
			continue
		}
		if m.MessageID == 0 {
			m.MessageID = b.nextID(m.BusinessConnectionID, m.Chat.ID)
		} else {
			b.seenID(m.BusinessConnectionID, m.Chat.ID, m.MessageID)
		}
		if m.Date == 0 {
			m.Date = now
		}
		b.injectTopic(m)
		b.chats[m.Chat.ID] = m.Chat
		s.registerFiles(m)
		b.remember(*m, false)
	}
	if bc := u.BusinessConnection; bc != nil {
		if bc.Date == 0 {
			bc.Date = now
		}
		b.business[bc.ID] = *bc
	}
	if d := u.DeletedBusinessMessages; d != nil {
		for _, id := range d.MessageIDs {
			if fm := b.lookupIn(d.BusinessConnectionID, d.Chat.ID, id); fm != nil {
				fm.deleted = true
			}
		}
	}
	if cm := u.MyChatMember; cm != nil {
		if cm.Date == 0 {
			cm.Date = now
		}
		b.chats[cm.Chat.ID] = cm.Chat
	}
	b.queue = append(b.queue, u)
	close(b.wake)
	b.wake = make(chan struct{})
	return u
}

// SetFileContent sets the bytes served for a file id (and its file_size), for
// tests that check a download byte for byte.
func (s *Server) SetFileContent(fileID string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		f = s.addFile(telego.File{FileID: fileID, FileUniqueID: "AQAD" + randomID(8)}, "documents", ".bin")
	}
	f.data = append([]byte(nil), data...)
	f.file.FileSize = int64(len(data))
}

// registerFiles makes the files of m downloadable; s.mu must be held.
func (s *Server) registerFiles(m *telego.Message) {
	for _, p := range m.Photo {
		s.ensureFile(p.FileID, p.FileUniqueID, int64(p.FileSize), "photos", ".jpg")
	}
	if d := m.Document; d != nil {
		ext := path.Ext(d.FileName)
		s.ensureFile(d.FileID, d.FileUniqueID, d.FileSize, "documents", ext)
	}
	if st := m.Sticker; st != nil {
		s.ensureFile(st.FileID, st.FileUniqueID, int64(st.FileSize), "stickers", ".webp")
	}
	if v := m.Voice; v != nil {
		s.ensureFile(v.FileID, v.FileUniqueID, v.FileSize, "voice", ".oga")
	}
}

func (s *Server) ensureFile(id, uniqueID string, size int64, dir, ext string) {
	if id == "" {
		return
	}
	if _, ok := s.files[id]; ok {
		return
	}
	f := s.addFile(telego.File{FileID: id, FileUniqueID: uniqueID, FileSize: size}, dir, ext)
	// Synthetic but deterministic content, capped so a careless size in a
	// test cannot eat memory.
	n := min(max(size, 0), 1<<20)
	f.data = make([]byte, n)
	for i := range f.data {
		f.data[i] = byte(i)
	}
}

func (s *Server) addFile(file telego.File, dir, ext string) *fakeFile {
	file.FilePath = fmt.Sprintf("%s/file_%d%s", dir, s.nextFile, ext)
	s.nextFile++
	f := &fakeFile{file: file}
	s.files[file.FileID] = f
	s.filePaths[file.FilePath] = f
	return f
}

// randomID returns n random bytes in URL-safe base64, the alphabet of
// Telegram's file ids.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// fileIDs returns a (file_id, file_unique_id) pair shaped like Telegram's.
func fileIDs(prefix string) (string, string) {
	return prefix + "AxkBAAI" + randomID(36), "AQAD" + randomID(12)
}

// User builds a human Telegram user. Real user ids are positive and up to
// about 10^10.
func User(id int64, firstName, username string) telego.User {
	return telego.User{ID: id, FirstName: firstName, Username: username, LanguageCode: "en"}
}

// PrivateChat is the private chat between the bot and u; its id is the
// user's id.
func PrivateChat(u telego.User) telego.Chat {
	return telego.Chat{ID: u.ID, Type: telego.ChatTypePrivate, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

// Group builds a basic group. Basic group ids are negative, e.g. -4012345678.
func Group(id int64, title string) telego.Chat {
	return telego.Chat{ID: id, Type: telego.ChatTypeGroup, Title: title}
}

// Supergroup builds a supergroup. Their ids start with -100, e.g.
// -1001234567890.
func Supergroup(id int64, title string) telego.Chat {
	return telego.Chat{ID: id, Type: telego.ChatTypeSupergroup, Title: title}
}

// Channel builds a channel (ids start with -100); username may be empty for a
// private channel.
func Channel(id int64, title, username string) telego.Chat {
	return telego.Chat{ID: id, Type: telego.ChatTypeChannel, Title: title, Username: username}
}

func ptr[T any](v T) *T { return &v }

// message is the common skeleton; Inject fills message_id and date.
func message(chat telego.Chat, from *telego.User) *telego.Message {
	m := &telego.Message{Chat: chat}
	if from != nil {
		m.From = ptr(*from)
	}
	return m
}

// TextMessage is a "message" update with text in any chat.
func TextMessage(chat telego.Chat, from telego.User, text string) telego.Update {
	m := message(chat, &from)
	m.Text = text
	return telego.Update{Message: m}
}

// PrivateText is a text message from a user to the bot in their private chat.
func PrivateText(from telego.User, text string) telego.Update {
	return TextMessage(PrivateChat(from), from, text)
}

// GroupText is a text message in a group or supergroup.
func GroupText(chat telego.Chat, from telego.User, text string) telego.Update {
	return TextMessage(chat, from, text)
}

// ChannelPost is a "channel_post" update: a post has no from, only the
// channel as sender_chat.
func ChannelPost(channel telego.Chat, text string) telego.Update {
	m := message(channel, nil)
	m.SenderChat = ptr(channel)
	m.Text = text
	return telego.Update{ChannelPost: m}
}

// Edited is the "edited_message" (or "edited_channel_post") update for a
// message previously returned by Inject, with new text.
func Edited(orig telego.Message, newText string) telego.Update {
	m := orig
	m.Text = newText
	m.Entities = nil
	m.EditDate = time.Now().Unix()
	if m.Chat.Type == telego.ChatTypeChannel {
		return telego.Update{EditedChannelPost: &m}
	}
	return telego.Update{EditedMessage: &m}
}

// ReplyTo is a text message answering orig, in orig's chat.
func ReplyTo(orig telego.Message, from telego.User, text string) telego.Update {
	u := TextMessage(orig.Chat, from, text)
	r := orig
	// Telegram never nests replies more than one level deep.
	r.ReplyToMessage = nil
	u.Message.ReplyToMessage = &r
	return u
}

// BotAdded is the "my_chat_member" update sent when someone adds the bot to a
// group or channel: left → member, or → administrator in a channel where a
// bot can only be an admin.
func BotAdded(bot telego.User, chat telego.Chat, by telego.User) telego.Update {
	var newMember telego.ChatMember = &telego.ChatMemberMember{Status: telego.MemberStatusMember, User: bot}
	if chat.Type == telego.ChatTypeChannel {
		newMember = &telego.ChatMemberAdministrator{
			Status: telego.MemberStatusAdministrator, User: bot, CanManageChat: true, CanPostMessages: true,
		}
	}
	return telego.Update{MyChatMember: &telego.ChatMemberUpdated{
		Chat: chat, From: by,
		OldChatMember: &telego.ChatMemberLeft{Status: telego.MemberStatusLeft, User: bot},
		NewChatMember: newMember,
	}}
}

// BotRemoved is the "my_chat_member" update sent when the bot is removed from
// a chat (left in a basic group, kicked in supergroups and channels) or when
// a user blocks it in a private chat (kicked).
func BotRemoved(bot telego.User, chat telego.Chat, by telego.User) telego.Update {
	var old telego.ChatMember = &telego.ChatMemberMember{Status: telego.MemberStatusMember, User: bot}
	var newMember telego.ChatMember = &telego.ChatMemberBanned{Status: telego.MemberStatusBanned, User: bot}
	if chat.Type == telego.ChatTypeGroup {
		newMember = &telego.ChatMemberLeft{Status: telego.MemberStatusLeft, User: bot}
	}
	return telego.Update{MyChatMember: &telego.ChatMemberUpdated{
		Chat: chat, From: by, OldChatMember: old, NewChatMember: newMember,
	}}
}

// Photo is a photo message with the three sizes Telegram usually sends.
func Photo(chat telego.Chat, from telego.User, caption string) telego.Update {
	m := message(chat, &from)
	for _, sz := range []struct{ w, h int }{{90, 67}, {320, 240}, {1280, 960}} {
		id, uid := fileIDs("AgACAgIAA")
		m.Photo = append(m.Photo, telego.PhotoSize{
			FileID: id, FileUniqueID: uid, Width: sz.w, Height: sz.h, FileSize: sz.w * sz.h / 10,
		})
	}
	m.Caption = caption
	return telego.Update{Message: m}
}

// Document is a file sent as a document.
func Document(chat telego.Chat, from telego.User, fileName, mimeType string, size int64) telego.Update {
	m := message(chat, &from)
	id, uid := fileIDs("BQACAgIAA")
	m.Document = &telego.Document{FileID: id, FileUniqueID: uid, FileName: fileName, MimeType: mimeType, FileSize: size}
	return telego.Update{Message: m}
}

// Sticker is a static sticker message.
func Sticker(chat telego.Chat, from telego.User, emoji string) telego.Update {
	m := message(chat, &from)
	id, uid := fileIDs("CAACAgIAA")
	m.Sticker = &telego.Sticker{
		FileID: id, FileUniqueID: uid, Type: telego.StickerTypeRegular,
		Width: 512, Height: 512, Emoji: emoji, SetName: "botdesk_test", FileSize: 20480,
	}
	return telego.Update{Message: m}
}

// Voice is a voice note of the given length.
func Voice(chat telego.Chat, from telego.User, duration time.Duration) telego.Update {
	m := message(chat, &from)
	id, uid := fileIDs("AwACAgIAA")
	secs := int(duration.Round(time.Second) / time.Second)
	m.Voice = &telego.Voice{FileID: id, FileUniqueID: uid, Duration: secs, MimeType: "audio/ogg", FileSize: int64(secs) * 2000}
	return telego.Update{Message: m}
}

// Location is a shared (static) location.
func Location(chat telego.Chat, from telego.User, latitude, longitude float64) telego.Update {
	m := message(chat, &from)
	m.Location = &telego.Location{Latitude: latitude, Longitude: longitude}
	return telego.Update{Message: m}
}

// Part is a run of text for Formatted; Type is a MessageEntity type such as
// "bold", "code" or "text_link" ("" for plain text).
type Part struct {
	Text string
	Type string
	URL  string
}

// Plain is unformatted text.
func Plain(s string) Part { return Part{Text: s} }

// Bold is bold text.
func Bold(s string) Part { return Part{Text: s, Type: "bold"} }

// Code is inline monospace text.
func Code(s string) Part { return Part{Text: s, Type: "code"} }

// TextLink is text that links to url.
func TextLink(s, url string) Part { return Part{Text: s, Type: "text_link", URL: url} }

// Formatted is a text message with entities. Offsets and lengths are counted
// in UTF-16 code units, as Telegram does, so emoji before an entity shift it
// the way they do in production.
func Formatted(chat telego.Chat, from telego.User, parts ...Part) telego.Update {
	var text strings.Builder
	var entities []telego.MessageEntity
	offset := 0
	for _, p := range parts {
		n := len(utf16.Encode([]rune(p.Text)))
		if p.Type != "" {
			entities = append(entities, telego.MessageEntity{Type: p.Type, Offset: offset, Length: n, URL: p.URL})
		}
		text.WriteString(p.Text)
		offset += n
	}
	u := TextMessage(chat, from, text.String())
	u.Message.Entities = entities
	return u
}
