package telegramtest

// The rich-message methods: sendPhoto, sendDocument, editMessageText,
// deleteMessage, setMessageReaction and sendChatAction, with the Bot API's
// limits and the errors it answers when they are broken.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/mymmrac/telego"
)

// Limits and error texts of the real Bot API for these methods.
const (
	MaxPhotoBytes    = 10 << 20
	MaxDocumentBytes = 50 << 20
	MaxCaption       = 1024
	// DeleteWindow is how long after sending a message may be deleted for
	// everyone by a bot (in private chats and groups without admin rights).
	DeleteWindow = 48 * time.Hour

	DescTooBig           = "Request Entity Too Large"
	DescPhotoTooBig      = "Bad Request: PHOTO_INVALID_DIMENSIONS"
	DescReplyNotFound    = "Bad Request: message to be replied not found"
	DescEditNotFound     = "Bad Request: message to edit not found"
	DescCantEdit         = "Bad Request: message can't be edited"
	DescNotModified      = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	DescNoText           = "Bad Request: there is no text in the message to edit"
	DescDeleteNotFound   = "Bad Request: message to delete not found"
	DescCantDelete       = "Bad Request: message can't be deleted for everyone"
	DescReactionNotFound = "Bad Request: message to react not found"
	DescReactionInvalid  = "Bad Request: REACTION_INVALID"
	DescCaptionTooLong   = "Bad Request: message caption is too long"
)

// fakeMessage is what the fake remembers of a message for edits, deletes
// and reactions.
type fakeMessage struct {
	msg       telego.Message
	fromBot   bool
	deleted   bool
	reactions []string // the bot's current reaction emoji
}

// msgKey names a message: a business account's chats number their
// messages apart from the bot's own chats (bc is the connection, "" for
// the bot's chats).
type msgKey struct {
	chat int64
	id   int
	bc   string
}

// remember records a message the bot sent or received; s.mu must be held.
func (b *fakeBot) remember(m telego.Message, fromBot bool) {
	if b.msgs == nil {
		b.msgs = map[msgKey]*fakeMessage{}
	}
	b.msgs[msgKey{m.Chat.ID, m.MessageID, m.BusinessConnectionID}] = &fakeMessage{msg: m, fromBot: fromBot}
}

func (b *fakeBot) lookup(chat int64, id int) *fakeMessage { return b.lookupIn("", chat, id) }

// lookupIn finds a message of a chat of the business connection bc.
func (b *fakeBot) lookupIn(bc string, chat int64, id int) *fakeMessage {
	fm := b.msgs[msgKey{chat, id, bc}]
	if fm == nil || fm.deleted {
		return nil
	}
	return fm
}

// Message returns what the fake holds for a message (sent or injected)
// and whether it exists and is not deleted.
func (s *Server) Message(botID, chatID int64, messageID int) (telego.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fm := s.mustBot(botID).lookup(chatID, messageID)
	if fm == nil {
		return telego.Message{}, false
	}
	return fm.msg, true
}

// BusinessMessage is Message for a chat of business connection bc.
func (s *Server) BusinessMessage(botID int64, bc string, chatID int64, messageID int) (telego.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fm := s.mustBot(botID).lookupIn(bc, chatID, messageID)
	if fm == nil {
		return telego.Message{}, false
	}
	return fm.msg, true
}

// Reactions returns the bot's current reaction emoji on a message.
func (s *Server) Reactions(botID, chatID int64, messageID int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fm := s.mustBot(botID).lookup(chatID, messageID); fm != nil {
		return slices.Clone(fm.reactions)
	}
	return nil
}

// SetMessageDate back-dates a message, so tests can reach the limits that
// depend on its age (DeleteWindow).
func (s *Server) SetMessageDate(botID, chatID int64, messageID int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fm := s.mustBot(botID).lookup(chatID, messageID); fm != nil {
		fm.msg.Date = at.Unix()
	}
}

// ChatActions lists the chat actions sent to a chat, oldest first.
func (s *Server) ChatActions(botID, chatID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustBot(botID).actions[chatID])
}

// outgoing builds the message a send method returns, applying the common
// parameters (chat, reply_parameters, message_thread_id). It answers the
// error itself and returns false when they are wrong; s.mu must be held.
func (s *Server) outgoing(w http.ResponseWriter, b *fakeBot, p url.Values) (telego.Message, bool) {
	rawChat := p.Get("chat_id")
	if rawChat == "" {
		writeError(w, http.StatusBadRequest, "Bad Request: chat_id is empty", nil)
		return telego.Message{}, false
	}
	chat, ok := b.resolveChat(rawChat)
	if !ok {
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", nil)
		return telego.Message{}, false
	}
	from := b.user()
	msg := telego.Message{From: &from, Chat: chat, Date: time.Now().Unix()}
	if !b.businessSend(w, p, &msg) {
		return telego.Message{}, false
	}
	if raw := p.Get("reply_parameters"); raw != "" {
		var rp telego.ReplyParameters
		if err := json.Unmarshal([]byte(raw), &rp); err != nil || rp.MessageID == 0 {
			writeError(w, http.StatusBadRequest, "Bad Request: can't parse reply parameters JSON object", nil)
			return telego.Message{}, false
		}
		q := b.lookupIn(msg.BusinessConnectionID, chat.ID, rp.MessageID)
		if q == nil {
			if !rp.AllowSendingWithoutReply {
				writeError(w, http.StatusBadRequest, DescReplyNotFound, nil)
				return telego.Message{}, false
			}
		} else {
			quoted := q.msg
			quoted.ReplyToMessage = nil
			msg.ReplyToMessage = &quoted
		}
	}
	if t, _ := strconv.Atoi(p.Get("message_thread_id")); t != 0 {
		if chat.IsForum && !b.topics[topicKey{chat.ID, t}] {
			writeError(w, http.StatusBadRequest, DescThreadNotFound, nil)
			return telego.Message{}, false
		}
		msg.MessageThreadID = t
		msg.IsTopicMessage = true
	}
	if chat.Type == telego.ChatTypeChannel {
		msg.From = nil
		c := chat
		msg.SenderChat = &c
	}
	return msg, true
}

// commit gives msg the chat's next id and records it as sent; s.mu held.
func (b *fakeBot) commit(msg *telego.Message) {
	msg.MessageID = b.nextID(msg.BusinessConnectionID, msg.Chat.ID)
	b.sent = append(b.sent, *msg)
	b.remember(*msg, true)
}

// upload reads the multipart file of field; ok is false (and the error
// answered) when it is missing or over max.
func upload(w http.ResponseWriter, r *http.Request, field string, max int64, tooBig string, tooBigCode int) (name string, data []byte, ok bool) {
	if r.MultipartForm == nil || len(r.MultipartForm.File[field]) == 0 {
		writeError(w, http.StatusBadRequest, "Bad Request: there is no "+field+" in the request", nil)
		return "", nil, false
	}
	fh := r.MultipartForm.File[field][0]
	if fh.Size > max {
		writeError(w, tooBigCode, tooBig, nil)
		return "", nil, false
	}
	f, err := fh.Open()
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: can't read the file", nil)
		return "", nil, false
	}
	defer func() { _ = f.Close() }()
	data, err = io.ReadAll(f)
	if err != nil || len(data) == 0 {
		writeError(w, http.StatusBadRequest, "Bad Request: file must be non-empty", nil)
		return "", nil, false
	}
	return fh.Filename, data, true
}

func captionOK(w http.ResponseWriter, caption string) bool {
	if len(utf16.Encode([]rune(caption))) > MaxCaption {
		writeError(w, http.StatusBadRequest, DescCaptionTooLong, nil)
		return false
	}
	return true
}

func (s *Server) sendPhoto(w http.ResponseWriter, r *http.Request, b *fakeBot, p url.Values) {
	name, data, ok := upload(w, r, "photo", MaxPhotoBytes, DescPhotoTooBig, http.StatusBadRequest)
	if !ok || !captionOK(w, p.Get("caption")) {
		return
	}
	s.mu.Lock()
	msg, ok := s.outgoing(w, b, p)
	if !ok {
		s.mu.Unlock()
		return
	}
	msg.Caption = p.Get("caption")
	f := s.storeUpload(name, data, "photos")
	// Telegram keeps a thumbnail and the uploaded size; both are this file
	// here, which is enough for a client that picks the largest.
	msg.Photo = []telego.PhotoSize{
		{FileID: f.file.FileID, FileUniqueID: f.file.FileUniqueID, Width: 90, Height: 90, FileSize: len(data)},
	}
	b.commit(&msg)
	s.mu.Unlock()
	writeOK(w, msg)
}

func (s *Server) sendDocument(w http.ResponseWriter, r *http.Request, b *fakeBot, p url.Values) {
	name, data, ok := upload(w, r, "document", MaxDocumentBytes, DescTooBig, http.StatusRequestEntityTooLarge)
	if !ok || !captionOK(w, p.Get("caption")) {
		return
	}
	s.mu.Lock()
	msg, ok := s.outgoing(w, b, p)
	if !ok {
		s.mu.Unlock()
		return
	}
	msg.Caption = p.Get("caption")
	f := s.storeUpload(name, data, "documents")
	msg.Document = &telego.Document{FileID: f.file.FileID, FileUniqueID: f.file.FileUniqueID, FileName: name,
		MimeType: http.DetectContentType(data), FileSize: int64(len(data))}
	b.commit(&msg)
	s.mu.Unlock()
	writeOK(w, msg)
}

// storeUpload makes an uploaded file downloadable by getFile; s.mu held.
func (s *Server) storeUpload(name string, data []byte, dir string) *fakeFile {
	id, uid := fileIDs("BQACAgIAA")
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 && len(name)-i <= 8 {
		ext = name[i:]
	}
	f := s.addFile(telego.File{FileID: id, FileUniqueID: uid, FileSize: int64(len(data))}, dir, ext)
	f.data = slices.Clone(data)
	return f
}

// Uploads returns the bytes of a file the bot sent, by file_id.
func (s *Server) Uploads(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		return nil, false
	}
	return slices.Clone(f.data), true
}

// target reads chat_id and message_id of a message of the bot's own
// chats (a message of a business chat is not found: the methods that
// take business_connection_id look there); s.mu must be held.
func (b *fakeBot) target(w http.ResponseWriter, p url.Values, notFound string) (*fakeMessage, bool) {
	return b.targetIn(w, "", p, notFound)
}

// targetIn is target in the chats of business connection bc ("" = the
// bot's own chats).
func (b *fakeBot) targetIn(w http.ResponseWriter, bc string, p url.Values, notFound string) (*fakeMessage, bool) {
	chat, ok := b.resolveChat(p.Get("chat_id"))
	id, err := strconv.Atoi(p.Get("message_id"))
	if !ok || err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "Bad Request: message identifier is not specified", nil)
		return nil, false
	}
	fm := b.lookupIn(bc, chat.ID, id)
	if fm == nil {
		writeError(w, http.StatusBadRequest, notFound, nil)
		return nil, false
	}
	return fm, true
}

func (s *Server) editMessageText(w http.ResponseWriter, b *fakeBot, p url.Values) {
	text := p.Get("text")
	if strings.TrimSpace(text) == "" {
		writeError(w, http.StatusBadRequest, "Bad Request: message text is empty", nil)
		return
	}
	if len(utf16.Encode([]rune(text))) > 4096 {
		writeError(w, http.StatusBadRequest, "Bad Request: MESSAGE_TOO_LONG", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A message sent on behalf of a business account is edited through
	// its connection, with the right to reply; without the id Telegram
	// looks in the bot's own chats and does not find it.
	bc := p.Get("business_connection_id")
	if bc != "" {
		conn, ok := b.businessConnection(w, bc)
		if !ok {
			return
		}
		if conn.Rights == nil || !conn.Rights.CanReply {
			writeError(w, http.StatusForbidden, DescBusinessNoReply, nil)
			return
		}
	}
	fm, ok := b.targetIn(w, bc, p, DescEditNotFound)
	if !ok {
		return
	}
	switch {
	case !fm.fromBot:
		writeError(w, http.StatusBadRequest, DescCantEdit, nil)
		return
	case fm.msg.Text == "":
		writeError(w, http.StatusBadRequest, DescNoText, nil)
		return
	case fm.msg.Text == text:
		writeError(w, http.StatusBadRequest, DescNotModified, nil)
		return
	}
	fm.msg.Text = text
	fm.msg.EditDate = time.Now().Unix()
	writeOK(w, fm.msg)
}

func (s *Server) deleteMessage(w http.ResponseWriter, b *fakeBot, p url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fm, ok := b.target(w, p, DescDeleteNotFound)
	if !ok {
		return
	}
	if time.Since(time.Unix(fm.msg.Date, 0)) > DeleteWindow {
		writeError(w, http.StatusBadRequest, DescCantDelete, nil)
		return
	}
	fm.deleted = true
	writeOK(w, true)
}

// deleteBusinessMessages deletes messages on behalf of a business
// account: 1–100 ids of one chat, the bot's own with the right to delete
// sent messages, any message with the right to delete all, each within
// deleteMessage's limits.
func (s *Server) deleteBusinessMessages(w http.ResponseWriter, b *fakeBot, p url.Values) {
	var ids []int
	if err := json.Unmarshal([]byte(p.Get("message_ids")), &ids); err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: can't parse message identifiers JSON object", nil)
		return
	}
	if len(ids) == 0 || len(ids) > 100 {
		writeError(w, http.StatusBadRequest, "Bad Request: too many message identifiers specified", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, ok := b.businessConnection(w, p.Get("business_connection_id"))
	if !ok {
		return
	}
	var rights telego.BusinessBotRights
	if conn.Rights != nil {
		rights = *conn.Rights
	}
	var found []*fakeMessage
	for _, id := range ids {
		var fm *fakeMessage
		for k, m := range b.msgs {
			if k.bc == conn.ID && k.id == id && !m.deleted {
				fm = m
			}
		}
		switch {
		case fm == nil:
			writeError(w, http.StatusBadRequest, DescDeleteNotFound, nil)
			return
		case len(found) > 0 && found[0].msg.Chat.ID != fm.msg.Chat.ID:
			writeError(w, http.StatusBadRequest, "Bad Request: messages must be from the same chat", nil)
			return
		case !rights.CanDeleteAllMessages && !(fm.fromBot && rights.CanDeleteSentMessages):
			writeError(w, http.StatusForbidden, DescBusinessNoDelete, nil)
			return
		case time.Since(time.Unix(fm.msg.Date, 0)) > DeleteWindow:
			writeError(w, http.StatusBadRequest, DescCantDelete, nil)
			return
		}
		found = append(found, fm)
	}
	for _, fm := range found {
		fm.deleted = true
	}
	writeOK(w, true)
}

// reactionEmoji are the emoji Telegram accepts as a reaction.
var reactionEmoji = strings.Fields("❤ 👍 👎 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡")

func (s *Server) setMessageReaction(w http.ResponseWriter, b *fakeBot, p url.Values) {
	var rs []struct {
		Type  string `json:"type"`
		Emoji string `json:"emoji"`
	}
	if raw := p.Get("reaction"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &rs); err != nil {
			writeError(w, http.StatusBadRequest, "Bad Request: can't parse reaction types JSON object", nil)
			return
		}
	}
	var emoji []string
	for _, r := range rs {
		if r.Type != "emoji" || !slices.Contains(reactionEmoji, r.Emoji) {
			writeError(w, http.StatusBadRequest, DescReactionInvalid, nil)
			return
		}
		emoji = append(emoji, r.Emoji)
	}
	if len(emoji) > 1 {
		// Bots that are not premium may set one reaction.
		writeError(w, http.StatusBadRequest, "Bad Request: REACTIONS_TOO_MANY", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fm, ok := b.target(w, p, DescReactionNotFound)
	if !ok {
		return
	}
	fm.reactions = emoji
	writeOK(w, true)
}

// chatActions are the actions sendChatAction accepts.
var chatActions = []string{"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
	"upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}

func (s *Server) sendChatAction(w http.ResponseWriter, b *fakeBot, p url.Values) {
	action := p.Get("action")
	if !slices.Contains(chatActions, action) {
		writeError(w, http.StatusBadRequest, "Bad Request: wrong parameter action in request", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chat, ok := b.resolveChat(p.Get("chat_id"))
	if !ok {
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", nil)
		return
	}
	if b.actions == nil {
		b.actions = map[int64][]string{}
	}
	b.actions[chat.ID] = append(b.actions[chat.ID], action)
	writeOK(w, true)
}
