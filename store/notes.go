package store

// Private notes on a conversation. They live in their own table that no
// sender, outbox or queue query reads, so a note cannot reach Telegram,
// callbacks or queues by construction.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/botdesk/botdesk/models"
)

// MaxNotesShown bounds the notes listed with a conversation.
const MaxNotesShown = 200

// ListNotes returns a conversation's notes, oldest first (the newest
// MaxNotesShown).
func (s *Store) ListNotes(ctx context.Context, conversationID int64) ([]models.ConversationNote, error) {
	var out []models.ConversationNote
	err := s.r(ctx).Where("conversation_id = ?", conversationID).Order("id DESC").Limit(MaxNotesShown).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: list notes: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// NotesAfter returns the conversation's notes with id > after, oldest
// first: what a live view has not shown yet.
func (s *Store) NotesAfter(ctx context.Context, conversationID, after int64) ([]models.ConversationNote, error) {
	var out []models.ConversationNote
	err := s.r(ctx).Where("conversation_id = ? AND id > ?", conversationID, after).Order("id").Limit(MaxNotesShown).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: notes after %d: %w", after, err)
	}
	return out, nil
}

// AddNote stores a note by the actor, audited in the same transaction, and
// announces it to the conversation's live views.
func (s *Store) AddNote(ctx context.Context, a Actor, conversationID int64, text string) (*models.ConversationNote, error) {
	text, err := models.CleanNoteText(text)
	if err != nil {
		return nil, err
	}
	n := &models.ConversationNote{ConversationID: conversationID, AuthorID: a.UserID, Author: a.Name, Text: text, CreatedAt: s.now()}
	var conv models.Conversation
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&conv, "id = ?", conversationID).Error; err != nil {
			return notFound("conversation of note", err)
		}
		if err := s.w(ctx).Create(n).Error; err != nil {
			return fmt.Errorf("store: add note: %w", err)
		}
		s.publish(ctx, Change{Kind: "note", ChannelID: conv.ChannelID, ConversationID: conversationID})
		return s.Audit(ctx, a, "note.create", "conversation", strconv.FormatInt(conversationID, 10), "")
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Sender is who wrote a message, as Telegram named them.
type Sender struct {
	FromID       int64
	FromUsername string
	FromName     string
}

// LatestSender returns the sender of the conversation's latest incoming
// message (zero when it has none), walking messages_conversation
// backwards.
func (s *Store) LatestSender(ctx context.Context, conv *models.Conversation) (Sender, error) {
	var out []Sender
	where, args := messageKeyWhere("", conv.ChannelID, conv.Key())
	err := s.r(ctx).Table("messages").Select("from_id, from_username, from_name").
		Where(where+" AND direction = 'in'", args...).
		Order("id DESC").Limit(1).Scan(&out).Error
	if err != nil {
		return Sender{}, fmt.Errorf("store: latest sender: %w", err)
	}
	if len(out) == 0 {
		return Sender{}, nil
	}
	return out[0], nil
}
