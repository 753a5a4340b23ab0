package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/botdesk/botdesk/models"
)

// Outgoing-message changes after the send: edits and deletions, recorded
// once Telegram has accepted them (the Bot API call is the caller's).

// ChannelMessage returns one message of the channel by botdesk id.
func (s *Store) ChannelMessage(ctx context.Context, channelID string, id int64) (*models.Message, error) {
	var m models.Message
	if err := s.r(ctx).Take(&m, "id = ? AND channel_id = ?", id, channelID).Error; err != nil {
		return nil, notFound("message", err)
	}
	return &m, nil
}

// CheckChangeable says why an edit or delete may not target m, if it may
// not: only messages the bot sent, once sent, and not deleted.
func CheckChangeable(m *models.Message) error {
	switch {
	case m.Direction != "out":
		return models.Invalid("message_id", "Only messages sent through the bot can be edited or deleted.")
	case m.DeletedAt != nil:
		return models.Invalid("message_id", "This message was already deleted.")
	case m.Status != "sent" || m.TelegramMessageID == nil:
		return models.Invalid("message_id", "This message has not been sent yet, so Telegram cannot change it.")
	}
	return nil
}

// CheckEditText validates new text for an edit of m before Telegram is
// asked: only text messages, within the length limit, and changed.
func CheckEditText(m *models.Message, text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case m.Type != "text":
		return "", models.Invalid("text", "Only text messages can be edited; this one is a photo or file.")
	case text == "":
		return "", models.Invalid("text", "Write the new text first.")
	case utf8.RuneCountInString(text) > MaxMessageText:
		return "", models.Invalid("text", fmt.Sprintf("Telegram allows at most %d characters per message.", MaxMessageText))
	case text == m.Text:
		return "", models.Invalid("text", "The new text is the same as the current one.")
	}
	return text, nil
}

// ChangeRecord is what an accepted edit or delete writes besides the
// message: its "status" callback payload (built from the updated message)
// and the audit entry.
type ChangeRecord struct {
	Actor   Actor
	Payload func(m *models.Message) ([]byte, error)
}

// RecordOutgoingEdit stores the new text Telegram accepted, keeps the old
// one in message_edits, and enqueues the "edited" status event and the
// audit row, all in one transaction; then announces the change.
func (s *Store) RecordOutgoingEdit(ctx context.Context, id int64, text string, rec ChangeRecord) (*models.Message, error) {
	var msg models.Message
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&msg, "id = ? AND direction = 'out'", id).Error; err != nil {
			return notFound("edit outgoing", err)
		}
		at := s.now()
		if err := s.w(ctx).Create(&models.MessageEdit{MessageID: id, Text: msg.Text, EditedAt: at}).Error; err != nil {
			return fmt.Errorf("store: keep edited text: %w", err)
		}
		if err := s.w(ctx).Model(&models.Message{}).Where("id = ?", id).Updates(map[string]any{"text": text, "edited_at": at}).Error; err != nil {
			return fmt.Errorf("store: edit outgoing: %w", err)
		}
		msg.Text, msg.EditedAt = text, &at
		s.publish(ctx, Change{Kind: "status", ChannelID: msg.ChannelID, MessageID: msg.ID})
		return s.recordChange(ctx, &msg, "message.edit", rec)
	})
	if err != nil {
		return nil, err
	}
	return &msg, nil
}

// RecordOutgoingDelete marks a message Telegram deleted, with its
// "deleted" status event and audit row in the same transaction.
func (s *Store) RecordOutgoingDelete(ctx context.Context, id int64, rec ChangeRecord) (*models.Message, error) {
	var msg models.Message
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&msg, "id = ? AND direction = 'out'", id).Error; err != nil {
			return notFound("delete outgoing", err)
		}
		at := s.now()
		if err := s.w(ctx).Model(&models.Message{}).Where("id = ?", id).Update("deleted_at", at).Error; err != nil {
			return fmt.Errorf("store: delete outgoing: %w", err)
		}
		msg.DeletedAt = &at
		s.publish(ctx, Change{Kind: "status", ChannelID: msg.ChannelID, MessageID: msg.ID})
		return s.recordChange(ctx, &msg, "message.delete", rec)
	})
	if err != nil {
		return nil, err
	}
	return &msg, nil
}

func (s *Store) recordChange(ctx context.Context, m *models.Message, action string, rec ChangeRecord) error {
	if rec.Payload != nil {
		payload, err := rec.Payload(m)
		if err != nil {
			return fmt.Errorf("store: %s payload: %w", action, err)
		}
		if err := s.EnqueueEvent(ctx, m.ChannelID, OutboxStatus, strconv.FormatInt(m.ChatID, 10), payload); err != nil {
			return err
		}
	}
	return s.Audit(ctx, rec.Actor, action, "message", strconv.FormatInt(m.ID, 10), fmt.Sprintf("chat %d", m.ChatID))
}
