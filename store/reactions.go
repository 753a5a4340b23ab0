package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/botdesk/botdesk/models"
)

// ReactionCount is one emoji on a message and how many reacted with it;
// Mine is set when the bot (an agent) is among them.
type ReactionCount struct {
	Emoji string
	Count int
	Mine  bool
}

// BotActor is the reactions actor of the bot itself (reactions agents set).
const BotActor = "bot"

// IngestReaction is a message_reaction update: one user's reactions on a
// message changed to Emoji (empty: all removed).
type IngestReaction struct {
	ChatID            int64
	TelegramMessageID int64
	UserID            int64 // 0 for an anonymous (chat) reaction
	ActorChatID       int64 // the chat that reacted anonymously
	Emoji             []string
}

func (r *IngestReaction) actor() string {
	if r.UserID != 0 {
		return fmt.Sprintf("tg:%d", r.UserID)
	}
	return fmt.Sprintf("chat:%d", r.ActorChatID)
}

// ingestReaction replaces one actor's reactions on a stored message. A
// reaction to a message botdesk never stored is dropped (nothing to show
// it on). It returns the change to announce, if any.
func (s *Store) ingestReaction(ctx context.Context, channelID string, r *IngestReaction) (Change, bool, error) {
	var id int64
	err := s.w(ctx).Raw(`SELECT id FROM messages WHERE channel_id = ? AND chat_id = ? AND telegram_message_id = ? ORDER BY id DESC LIMIT 1`,
		channelID, r.ChatID, r.TelegramMessageID).Scan(&id).Error
	if err != nil {
		return Change{}, false, fmt.Errorf("store: ingest: reaction target: %w", err)
	}
	if id == 0 {
		return Change{}, false, nil
	}
	if err := s.setReactions(ctx, id, r.actor(), r.Emoji); err != nil {
		return Change{}, false, err
	}
	return Change{Kind: "status", ChannelID: channelID, MessageID: id}, true, nil
}

// setReactions makes emoji the actor's whole set of reactions on message.
func (s *Store) setReactions(ctx context.Context, messageID int64, actor string, emoji []string) error {
	db := s.w(ctx)
	if err := db.Exec("DELETE FROM message_reactions WHERE message_id = ? AND actor = ?", messageID, actor).Error; err != nil {
		return fmt.Errorf("store: reactions: %w", err)
	}
	now := s.now()
	for _, e := range emoji {
		if err := db.Exec(`INSERT INTO message_reactions (message_id, actor, emoji, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, messageID, actor, e, now).Error; err != nil {
			return fmt.Errorf("store: reactions: %w", err)
		}
	}
	return nil
}

// SetBotReaction records the reaction an agent set through the bot (empty
// emoji removes it), with its audit row, in one transaction, and
// announces the change.
func (s *Store) SetBotReaction(ctx context.Context, m *models.Message, emoji string, a Actor) error {
	var set []string
	if emoji != "" {
		set = []string{emoji}
	}
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.setReactions(ctx, m.ID, BotActor, set); err != nil {
			return err
		}
		s.publish(ctx, Change{Kind: "status", ChannelID: m.ChannelID, MessageID: m.ID})
		return s.Audit(ctx, a, "message.react", "message", fmt.Sprint(m.ID), emoji)
	})
	if err != nil {
		return err
	}
	return nil
}

// Reactions returns the current reactions of the given messages, most
// used first, keyed by message id.
func (s *Store) Reactions(ctx context.Context, ids []int64) (map[int64][]ReactionCount, error) {
	out := map[int64][]ReactionCount{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		MessageID int64
		Emoji     string
		N         int
		Mine      int
	}
	err := s.r(ctx).Raw(`SELECT message_id, emoji, COUNT(*) AS n, SUM(CASE WHEN actor = ? THEN 1 ELSE 0 END) AS mine
		FROM message_reactions WHERE message_id IN ? GROUP BY message_id, emoji`, BotActor, ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: reactions: %w", err)
	}
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], ReactionCount{Emoji: r.Emoji, Count: r.N, Mine: r.Mine > 0})
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Count != rs[j].Count {
				return rs[i].Count > rs[j].Count
			}
			return rs[i].Emoji < rs[j].Emoji
		})
	}
	return out, nil
}
