package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// MaxMessageText is Telegram's limit for a text message, in characters.
const MaxMessageText = 4096

// OutgoingMessage is a reply or API send waiting for the sender.
type OutgoingMessage struct {
	ChannelID      string
	ChatID         int64
	Text           string
	SentBy         *int64 // user who replied from the workbench; nil for the API
	IdempotencyKey string // optional; a repeat returns the first message
	// ReplyToMessageID quotes a message of the chat by its Telegram id.
	ReplyToMessageID *int64
	// MessageThreadID sends into a forum topic; nil takes the quoted
	// message's topic, if any.
	MessageThreadID *int64
	// File makes the message a photo or document with Text as caption.
	File *OutgoingFile
	// BusinessConnectionID sends on behalf of a connected business account.
	BusinessConnectionID string
}

// Into addresses the message to the conversation: its chat, its forum
// topic and its business connection.
func (m *OutgoingMessage) Into(conv *models.Conversation) {
	m.ChannelID, m.ChatID, m.BusinessConnectionID = conv.ChannelID, conv.ChatID, conv.BusinessConnectionID
	if conv.ThreadID != 0 {
		t := conv.ThreadID
		m.MessageThreadID = &t
	}
}

// ErrNoBot means the channel has no connected bot to send through.
var ErrNoBot = errors.New("channel has no connected bot")

// QueueOutgoing stores a message with status "pending"; the sender picks it
// up, sends it through the bot's rate limiter and records sent/failed. With
// an idempotency key already used on this channel it returns the original
// message and created=false.
func (s *Store) QueueOutgoing(ctx context.Context, m OutgoingMessage) (msg *models.Message, created bool, err error) {
	text := strings.TrimSpace(m.Text)
	typ := "text"
	if m.File != nil {
		var err error
		if typ, err = m.File.kind(); err != nil {
			return nil, false, err
		}
		if utf8.RuneCountInString(text) > MaxCaption {
			return nil, false, models.Invalid("caption", fmt.Sprintf("Telegram allows at most %d characters in a caption.", MaxCaption))
		}
	} else {
		switch {
		case text == "":
			return nil, false, models.Invalid("text", "Write a message first.")
		case utf8.RuneCountInString(text) > MaxMessageText:
			return nil, false, models.Invalid("text", fmt.Sprintf("Telegram allows at most %d characters per message.", MaxMessageText))
		}
	}
	if m.ChatID == 0 {
		return nil, false, models.Invalid("chat_id", "Give the Telegram chat id to send to.")
	}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		// Taken first: it orders message ids by commit (commit_order.go)
		// and makes the idempotency check and the insert one step, so
		// two requests with the same key never both insert.
		if err := s.lockMessageInserts(ctx); err != nil {
			return err
		}
		if m.IdempotencyKey != "" {
			var prev models.Message
			err := s.w(ctx).Where("channel_id = ? AND idempotency_key = ?", m.ChannelID, m.IdempotencyKey).Take(&prev).Error
			if err == nil {
				msg = &prev
				return nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("store: idempotency lookup: %w", err)
			}
		}
		bot, err := s.BotByChannel(ctx, m.ChannelID)
		if errors.Is(err, ErrNotFound) {
			return ErrNoBot
		}
		if err != nil {
			return err
		}
		if m.BusinessConnectionID != "" {
			if err := s.checkBusinessSend(ctx, m.ChannelID, bot.TelegramID, m.BusinessConnectionID); err != nil {
				return err
			}
		}
		out := &models.Message{ChannelID: m.ChannelID, BotTelegramID: bot.TelegramID, ChatID: m.ChatID,
			Direction: "out", Type: typ, Text: text, Status: "pending", SentBy: m.SentBy, CreatedAt: s.now(),
			ReplyToMessageID: m.ReplyToMessageID, MessageThreadID: m.MessageThreadID, BusinessConnectionID: m.BusinessConnectionID}
		if m.IdempotencyKey != "" {
			k := m.IdempotencyKey
			out.IdempotencyKey = &k
		}
		if err := s.resolveQuote(ctx, out); err != nil {
			return err
		}
		// After the quote, which may have chosen the topic.
		var conv struct {
			ID       int64
			ChatType string
		}
		where, args := conversationKeyWhere("", m.ChannelID, out.ConversationKey())
		if err := s.w(ctx).Raw("SELECT id, chat_type FROM conversations WHERE "+where, args...).Scan(&conv).Error; err != nil {
			return fmt.Errorf("store: queue outgoing: conversation: %w", err)
		}
		if conv.ID == 0 { // a topic or chat without a conversation yet: the chat's type
			if err := s.w(ctx).Raw("SELECT chat_type FROM conversations WHERE channel_id = ? AND chat_id = ? LIMIT 1", m.ChannelID, m.ChatID).Scan(&conv).Error; err != nil {
				return fmt.Errorf("store: queue outgoing: chat type: %w", err)
			}
		}
		out.ChatType = conv.ChatType
		if m.File != nil {
			out.Media = m.File.mediaJSON()
		}
		if err := s.w(ctx).Create(out).Error; err != nil {
			return fmt.Errorf("store: queue outgoing: %w", err)
		}
		if m.File != nil {
			if err := s.saveOutgoingFile(ctx, out.ID, m.File); err != nil {
				return err
			}
		}
		msg, created = out, true
		s.publish(ctx, Change{Kind: "message", ChannelID: out.ChannelID, MessageID: out.ID})
		return s.rollupOutgoing(ctx, out.ChannelID, conv.ID, out.SentBy, out.CreatedAt)
	})
	if err != nil {
		return nil, false, err
	}
	return msg, created, nil
}

// ChatAccess says what the store knows of a chat of a channel's bot:
// Known when it has a conversation or is a synced group/channel, InWorkbench
// when its conversation is shown in the workbench.
type ChatAccess struct {
	Known, InWorkbench bool
}

// ChatAccessOf looks a chat up for the send rules of docs/api.md: nobody
// sends into a chat the bot never saw, agents only into conversations the
// workbench shows them.
//
// With a business connection (bc) the chat is one of that business
// account: known only when the account's customer wrote through it.
func (s *Store) ChatAccessOf(ctx context.Context, channelID string, chatID int64, bc string) (ChatAccess, error) {
	var rows []struct{ InWorkbench bool }
	q, args := "SELECT in_workbench FROM conversations WHERE channel_id = ? AND chat_id = ?", []any{channelID, chatID}
	if bc != "" {
		q, args = q+" AND business_connection_id = ?", append(args, bc)
	}
	if err := s.r(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return ChatAccess{}, fmt.Errorf("store: chat access: %w", err)
	}
	if len(rows) > 0 {
		// A forum has a conversation per topic: the chat is shown when
		// one of them is.
		a := ChatAccess{Known: true}
		for _, r := range rows {
			a.InWorkbench = a.InWorkbench || r.InWorkbench
		}
		return a, nil
	}
	if bc != "" {
		return ChatAccess{}, nil
	}
	var n int64
	if err := s.r(ctx).Raw("SELECT COUNT(*) FROM chats WHERE channel_id = ? AND chat_id = ?", channelID, chatID).Scan(&n).Error; err != nil {
		return ChatAccess{}, fmt.Errorf("store: chat access: %w", err)
	}
	return ChatAccess{Known: n > 0}, nil
}
