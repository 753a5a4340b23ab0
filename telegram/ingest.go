package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Update kinds as Telegram names them (the key of the update object).
const (
	kindMessage           = "message"
	kindEditedMessage     = "edited_message"
	kindChannelPost       = "channel_post"
	kindEditedChannelPost = "edited_channel_post"
	kindMyChatMember      = "my_chat_member"
)

// errNoUpdateID means an update without a readable update_id: it cannot be
// recorded, only skipped past (see decodeBatch).
var errNoUpdateID = errors.New("update has no readable update_id")

// decodeBatch maps a getUpdates answer to store rows and computes the next
// offset. It never fails as a whole: an update whose body cannot be read is
// recorded by id with no content (and counted in unreadable) so the offset
// moves past it instead of fetching it forever. ok is false only when not
// a single update_id could be read, which leaves the offset unknown.
func decodeBatch(raws []json.RawMessage) (ups []store.IngestUpdate, next int64, unreadable int, ok bool) {
	next = -1
	for _, raw := range raws {
		u, err := decodeUpdate(raw)
		if errors.Is(err, errNoUpdateID) {
			unreadable++
			continue
		}
		if err != nil {
			unreadable++
		}
		ups = append(ups, u)
		next = max(next, u.UpdateID+1)
	}
	return ups, next, unreadable, next >= 0
}

// updateEnvelope is the common shape of an update: its id and the kinds
// botdesk handles, read in one pass (decodeUpdate's fast path).
type updateEnvelope struct {
	UpdateID          *int64          `json:"update_id"`
	Message           json.RawMessage `json:"message"`
	EditedMessage     json.RawMessage `json:"edited_message"`
	ChannelPost       json.RawMessage `json:"channel_post"`
	EditedChannelPost json.RawMessage `json:"edited_channel_post"`
	MyChatMember      json.RawMessage `json:"my_chat_member"`
	MessageReaction   json.RawMessage `json:"message_reaction"`
	// Telegram Business (ingest_business.go).
	BusinessConnection      json.RawMessage `json:"business_connection"`
	BusinessMessage         json.RawMessage `json:"business_message"`
	EditedBusinessMessage   json.RawMessage `json:"edited_business_message"`
	DeletedBusinessMessages json.RawMessage `json:"deleted_business_messages"`
}

// decodeUpdate reads one update. A non-nil error other than errNoUpdateID
// comes with a usable IngestUpdate that records the id (and whatever could
// be read).
//
// The usual update (a well-formed id and one non-null body of a kind
// botdesk handles) is read through updateEnvelope, which costs one pass
// over the JSON instead of a map of every key plus a second pass per
// body; anything else (unknown kinds, null bodies, bad ids, invalid JSON)
// takes decodeUpdateSlow, the reference behaviour. Both give the same
// result for the updates the fast path accepts.
func decodeUpdate(raw json.RawMessage) (store.IngestUpdate, error) {
	var env updateEnvelope
	if err := json.Unmarshal(raw, &env); err != nil || env.UpdateID == nil {
		return decodeUpdateSlow(raw)
	}
	for _, k := range []struct {
		name string
		body json.RawMessage
	}{
		{kindMessage, env.Message}, {kindEditedMessage, env.EditedMessage}, {kindChannelPost, env.ChannelPost},
		{kindEditedChannelPost, env.EditedChannelPost}, {kindMyChatMember, env.MyChatMember},
		{kindMessageReaction, env.MessageReaction},
		{kindBusinessConnection, env.BusinessConnection}, {kindBusinessMessage, env.BusinessMessage},
		{kindEditedBusinessMessage, env.EditedBusinessMessage}, {kindDeletedBusinessMessages, env.DeletedBusinessMessages},
	} {
		if k.body == nil {
			continue
		}
		// encoding/json matches keys case-insensitively and keeps "null"
		// bodies: leave those rare shapes to the slow path, which keys on
		// the exact name.
		if string(k.body) == "null" || !bytes.Contains(raw, []byte(`"`+k.name+`"`)) {
			return decodeUpdateSlow(raw)
		}
		return decodeBody(store.IngestUpdate{UpdateID: *env.UpdateID, Kind: k.name}, k.body)
	}
	return decodeUpdateSlow(raw)
}

// decodeUpdateSlow is decodeUpdate for any shape of update.
func decodeUpdateSlow(raw json.RawMessage) (store.IngestUpdate, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return store.IngestUpdate{}, errNoUpdateID
	}
	var id int64
	if err := json.Unmarshal(fields["update_id"], &id); err != nil {
		return store.IngestUpdate{}, errNoUpdateID
	}
	u := store.IngestUpdate{UpdateID: id, Kind: "unknown"}
	for _, k := range []string{kindMessage, kindEditedMessage, kindChannelPost, kindEditedChannelPost, kindMyChatMember, kindMessageReaction,
		kindBusinessConnection, kindBusinessMessage, kindEditedBusinessMessage, kindDeletedBusinessMessages} {
		body, present := fields[k]
		if !present {
			continue
		}
		u.Kind = k
		return decodeBody(u, body)
	}
	for k := range fields {
		if k != "update_id" {
			u.Kind = k
			break
		}
	}
	return u, nil
}

// decodeBody reads the body of an update of a kind botdesk handles (u.Kind)
// into u; on an error u still records the id and kind.
func decodeBody(u store.IngestUpdate, body json.RawMessage) (store.IngestUpdate, error) {
	var err error
	switch u.Kind {
	case kindMyChatMember:
		u.Member, err = decodeMember(body)
	case kindMessageReaction:
		u.Reaction, err = decodeReaction(body)
	case kindBusinessConnection:
		u.Business, err = decodeBusinessConnection(body)
	case kindDeletedBusinessMessages:
		u.Deleted, err = decodeDeletedBusinessMessages(body)
	default:
		u.Message, err = decodeMessage(body, u.Kind == kindEditedMessage || u.Kind == kindEditedChannelPost ||
			u.Kind == kindEditedBusinessMessage)
	}
	if err != nil {
		return u, fmt.Errorf("update %d (%s): %w", u.UpdateID, u.Kind, err)
	}
	return u, nil
}

// decodeMessage maps a message with telego's types, and falls back to the
// few fields botdesk cannot do without when telego rejects the JSON (a type
// Telegram changed in some field botdesk does not even read). Only when
// even those cannot be read is the message dropped, with an error.
func decodeMessage(body json.RawMessage, edited bool) (*store.IngestMessage, error) {
	// body is one already-delimited JSON value (from the update's own
	// decoding), so telego's decoder is called directly rather than
	// through json.Unmarshal, which would validate it once more first.
	var m telego.Message
	if err := m.UnmarshalJSON(body); err == nil {
		return mapMessage(&m, edited), nil
	}
	var lm looseMessage
	if err := json.Unmarshal(body, &lm); err != nil || lm.Chat.ID == 0 {
		return nil, fmt.Errorf("unreadable message: %w", cmpErr(err, errors.New("no chat")))
	}
	return lm.ingest(edited), nil
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// mapMessage turns a telego message into the row the store keeps.
func mapMessage(m *telego.Message, edited bool) *store.IngestMessage {
	im := &store.IngestMessage{
		TelegramMessageID: int64(m.MessageID),
		ChatID:            m.Chat.ID, ChatType: m.Chat.Type, ChatTitle: chatTitle(m.Chat), ChatUsername: m.Chat.Username,
		Text: m.Text, Date: unixTime(m.Date), Edited: edited,
	}
	if edited {
		im.EditDate = unixTime(m.EditDate)
	}
	switch {
	case m.From != nil:
		im.FromID, im.FromUsername, im.FromLanguage = m.From.ID, m.From.Username, m.From.LanguageCode
		im.FromName = displayName(m.From.FirstName, m.From.LastName)
	case m.SenderChat != nil:
		// Channel posts have no user; show the channel (or the signature
		// of the admin who posted) as the sender's name.
		im.FromName = m.SenderChat.Title
		if m.AuthorSignature != "" {
			im.FromName = m.AuthorSignature
		}
	}
	if m.ReplyToMessage != nil {
		id := int64(m.ReplyToMessage.MessageID)
		im.ReplyToMessageID = &id
	}
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		t := int64(m.MessageThreadID)
		im.MessageThreadID = &t
		im.TopicName = topicName(m)
	}
	im.BusinessConnectionID = m.BusinessConnectionID
	ents := m.Entities
	if im.Text == "" {
		im.Text = m.Caption
		ents = m.CaptionEntities
	}
	if len(ents) > 0 {
		if b, err := json.Marshal(ents); err == nil {
			im.Entities = string(b)
		}
	}
	var media *models.Media
	im.Type, media = messageKind(m)
	if im.Type == models.MessageOther {
		if text, ok := serviceText(m); ok {
			im.Type, im.Text = models.MessageService, text
		}
	}
	if media != nil {
		if b, err := json.Marshal(media); err == nil && string(b) != "{}" {
			im.Media = string(b)
		}
	}
	if im.Text == "" {
		im.Text = fallbackText(m)
	}
	return im
}

// messageKind names the message type (models.Message*) and extracts its
// media. Animations also carry a Document, and venues a Location, so the
// more specific kinds are checked first.
func messageKind(m *telego.Message) (string, *models.Media) {
	switch {
	case m.Animation != nil:
		a := m.Animation
		return models.MessageAnimation, &models.Media{FileID: a.FileID, FileUniqueID: a.FileUniqueID, FileSize: a.FileSize,
			MimeType: a.MimeType, FileName: a.FileName, Width: a.Width, Height: a.Height, Duration: a.Duration}
	case len(m.Photo) > 0:
		p := m.Photo[0]
		for _, sz := range m.Photo[1:] {
			if sz.Width*sz.Height > p.Width*p.Height {
				p = sz
			}
		}
		return models.MessagePhoto, &models.Media{FileID: p.FileID, FileUniqueID: p.FileUniqueID, FileSize: int64(p.FileSize),
			Width: p.Width, Height: p.Height}
	case m.Document != nil:
		d := m.Document
		return models.MessageDocument, &models.Media{FileID: d.FileID, FileUniqueID: d.FileUniqueID, FileSize: d.FileSize,
			MimeType: d.MimeType, FileName: d.FileName}
	case m.Sticker != nil:
		st := m.Sticker
		return models.MessageSticker, &models.Media{FileID: st.FileID, FileUniqueID: st.FileUniqueID, FileSize: int64(st.FileSize),
			Width: st.Width, Height: st.Height, Emoji: st.Emoji}
	case m.Voice != nil:
		v := m.Voice
		return models.MessageVoice, &models.Media{FileID: v.FileID, FileUniqueID: v.FileUniqueID, FileSize: v.FileSize,
			MimeType: v.MimeType, Duration: v.Duration}
	case m.Audio != nil:
		a := m.Audio
		return models.MessageAudio, &models.Media{FileID: a.FileID, FileUniqueID: a.FileUniqueID, FileSize: a.FileSize,
			MimeType: a.MimeType, FileName: a.FileName, Duration: a.Duration}
	case m.Video != nil:
		v := m.Video
		return models.MessageVideo, &models.Media{FileID: v.FileID, FileUniqueID: v.FileUniqueID, FileSize: v.FileSize,
			MimeType: v.MimeType, FileName: v.FileName, Width: v.Width, Height: v.Height, Duration: v.Duration}
	case m.VideoNote != nil:
		v := m.VideoNote
		return models.MessageVideoNote, &models.Media{FileID: v.FileID, FileUniqueID: v.FileUniqueID, FileSize: int64(v.FileSize),
			Width: v.Length, Height: v.Length, Duration: v.Duration}
	case m.Venue != nil:
		return models.MessageVenue, &models.Media{Latitude: m.Venue.Location.Latitude, Longitude: m.Venue.Location.Longitude}
	case m.Location != nil:
		return models.MessageLocation, &models.Media{Latitude: m.Location.Latitude, Longitude: m.Location.Longitude}
	case m.Contact != nil:
		return models.MessageContact, nil
	case m.Poll != nil:
		return models.MessagePoll, nil
	case m.Dice != nil:
		return models.MessageDice, &models.Media{Emoji: m.Dice.Emoji}
	case m.Text != "":
		return models.MessageText, nil
	}
	return models.MessageOther, nil
}

// fallbackText gives text-less messages something readable for agents.
func fallbackText(m *telego.Message) string {
	switch {
	case m.Venue != nil:
		return strings.TrimSpace(m.Venue.Title + "\n" + m.Venue.Address)
	case m.Contact != nil:
		return strings.TrimSpace(displayName(m.Contact.FirstName, m.Contact.LastName) + " " + m.Contact.PhoneNumber)
	case m.Poll != nil:
		return m.Poll.Question
	case m.Dice != nil:
		return m.Dice.Emoji + " " + strconv.Itoa(m.Dice.Value)
	}
	return ""
}

func chatTitle(c telego.Chat) string {
	if c.Title != "" {
		return c.Title
	}
	return displayName(c.FirstName, c.LastName)
}

func displayName(first, last string) string {
	return strings.TrimSpace(first + " " + last)
}

func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// looseMessage is the part of a message botdesk needs, with nothing that
// could fail to decode except the essentials.
type looseMessage struct {
	MessageID  int64      `json:"message_id"`
	Date       int64      `json:"date"`
	EditDate   int64      `json:"edit_date"`
	Chat       looseChat  `json:"chat"`
	From       *looseChat `json:"from"`
	SenderChat *looseChat `json:"sender_chat"`
	Text       string     `json:"text"`
	Caption    string     `json:"caption"`
	ReplyTo    *struct {
		MessageID int64 `json:"message_id"`
	} `json:"reply_to_message"`
	// The conversation key's other parts, so even a message read this way
	// lands in its topic or business chat.
	MessageThreadID      int64  `json:"message_thread_id"`
	IsTopicMessage       bool   `json:"is_topic_message"`
	BusinessConnectionID string `json:"business_connection_id"`
}

type looseChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// LanguageCode is set on users (from), not chats.
	LanguageCode string `json:"language_code"`
}

func (c looseChat) title() string {
	if c.Title != "" {
		return c.Title
	}
	return displayName(c.FirstName, c.LastName)
}

func (lm *looseMessage) ingest(edited bool) *store.IngestMessage {
	im := &store.IngestMessage{
		TelegramMessageID: lm.MessageID, ChatID: lm.Chat.ID, ChatType: lm.Chat.Type, ChatTitle: lm.Chat.title(),
		ChatUsername: lm.Chat.Username, Text: lm.Text, Date: unixTime(lm.Date), Edited: edited,
		Type: models.MessageOther,
	}
	if edited {
		im.EditDate = unixTime(lm.EditDate)
	}
	if im.Text == "" {
		im.Text = lm.Caption
	} else {
		im.Type = models.MessageText
	}
	switch {
	case lm.From != nil:
		im.FromID, im.FromUsername, im.FromName = lm.From.ID, lm.From.Username, displayName(lm.From.FirstName, lm.From.LastName)
		im.FromLanguage = lm.From.LanguageCode
	case lm.SenderChat != nil:
		im.FromName = lm.SenderChat.title()
	}
	if lm.ReplyTo != nil {
		id := lm.ReplyTo.MessageID
		im.ReplyToMessageID = &id
	}
	if lm.IsTopicMessage && lm.MessageThreadID != 0 {
		t := lm.MessageThreadID
		im.MessageThreadID = &t
	}
	im.BusinessConnectionID = lm.BusinessConnectionID
	return im
}

// looseMember reads my_chat_member without telego's polymorphic
// ChatMember decoding: only the chat and the bot's new status matter.
type looseMember struct {
	Chat          looseChat `json:"chat"`
	Date          int64     `json:"date"`
	NewChatMember struct {
		Status string `json:"status"`
	} `json:"new_chat_member"`
}

func decodeMember(body json.RawMessage) (*store.IngestMember, error) {
	var lm looseMember
	if err := json.Unmarshal(body, &lm); err != nil {
		return nil, fmt.Errorf("unreadable my_chat_member: %w", err)
	}
	if lm.Chat.ID == 0 || lm.NewChatMember.Status == "" {
		return nil, errors.New("my_chat_member without chat or status")
	}
	return &store.IngestMember{ChatID: lm.Chat.ID, ChatType: lm.Chat.Type, Title: lm.Chat.title(), Username: lm.Chat.Username,
		Status: lm.NewChatMember.Status, Date: unixTime(lm.Date)}, nil
}
