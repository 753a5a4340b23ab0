package telegram

import (
	"context"
	"encoding/json"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// send makes the Bot API call that fits the message: sendPhoto or
// sendDocument for a file kept by store.QueueOutgoing, sendMessage for text.
func (s *Sender) send(ctx context.Context, c *Client, m *models.Message, f *store.OutgoingFile) (telego.Message, error) {
	o := SendOptions{BusinessConnectionID: m.BusinessConnectionID}
	if m.ReplyToMessageID != nil {
		o.ReplyTo = *m.ReplyToMessageID
	}
	if m.MessageThreadID != nil {
		o.ThreadID = *m.MessageThreadID
	}
	switch {
	case f != nil && m.Type == "photo":
		return c.SendPhoto(ctx, m.ChatID, f.Name, f.Data, m.Text, o)
	case f != nil:
		return c.SendDocument(ctx, m.ChatID, f.Name, f.Data, m.Text, o)
	}
	return c.SendText(ctx, m.ChatID, m.Text, o)
}

// fileOf loads the upload of a pending photo or document (nil for text).
func (s *Sender) fileOf(ctx context.Context, m *models.Message) (*store.OutgoingFile, error) {
	if m.Type != "photo" && m.Type != "document" {
		return nil, nil
	}
	return s.cfg.Store.OutgoingFileOf(ctx, m.ID)
}

// sentMedia is the media JSON of a sent photo or document as Telegram
// stores it (file ids, so the relay can show it later), keeping the
// uploaded name; "" for text.
func sentMedia(tm *telego.Message, m *models.Message) string {
	if m.Type != "photo" && m.Type != "document" {
		return ""
	}
	before, _ := models.ParseMedia(m.Media) // unreadable: keep Telegram's names only
	_, media := messageKind(tm)
	if media == nil {
		return ""
	}
	if media.FileName == "" {
		media.FileName = before.FileName
	}
	if media.MimeType == "" {
		media.MimeType = before.MimeType
	}
	b, err := json.Marshal(media)
	if err != nil {
		return ""
	}
	return string(b)
}
