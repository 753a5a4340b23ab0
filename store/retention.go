package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/botdesk/botdesk/models"
)

// MaxRetentionDays bounds retention_days (a hundred years is "forever" too).
const MaxRetentionDays = 36500

// SetRetention stores a channel's retention_days (0 = keep forever),
// audited in the same transaction.
func (s *Store) SetRetention(ctx context.Context, a Actor, channelID string, days int) (*models.Channel, error) {
	if days < 0 || days > MaxRetentionDays {
		return nil, models.Invalid("retention_days", fmt.Sprintf("Retention is a number of days from 0 (keep forever) to %d.", MaxRetentionDays))
	}
	ch, err := s.Channel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Model(&models.Channel{}).Where("id = ?", channelID).
			Updates(map[string]any{"retention_days": days, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("store: set retention: %w", err)
		}
		s.publish(ctx, Change{Kind: "channel", ChannelID: channelID})
		return s.Audit(ctx, a, "channel.retention", "channel", channelID, fmt.Sprintf("%d → %d days", ch.RetentionDays, days))
	})
	if err != nil {
		return nil, err
	}
	ch.RetentionDays = days
	return ch, nil
}

// RetentionPolicy is one channel whose messages expire.
type RetentionPolicy struct {
	ChannelID string
	Days      int
}

// RetentionPolicies lists the channels with a retention limit.
func (s *Store) RetentionPolicies(ctx context.Context) ([]RetentionPolicy, error) {
	var out []RetentionPolicy
	err := s.r(ctx).Raw("SELECT id AS channel_id, retention_days AS days FROM channels WHERE retention_days > 0 ORDER BY id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: retention policies: %w", err)
	}
	return out, nil
}

// finishedOutboxStates are the outbox states nothing will touch again.
var finishedOutboxStates = []string{OutboxStateDelivered, OutboxStateFailed, OutboxStateSkipped}

// PruneBatch deletes at most limit of the channel's messages created before
// cutoff (their edits, reactions and pending files go by cascade), then at
// most limit finished callback events created before it, in one short
// transaction, and returns how many rows it deleted. Callers repeat it
// until it returns less than limit; between calls the writer is free, so
// ingest never waits behind more than one batch. Pending events are kept:
// nothing is dropped before it was delivered.
func (s *Store) PruneBatch(ctx context.Context, channelID string, cutoff time.Time, limit int) (int64, error) {
	var n int64
	err := s.WithTx(ctx, func(ctx context.Context) error {
		db := s.w(ctx)
		var ids []int64
		if err := db.Raw("SELECT id FROM messages WHERE channel_id = ? AND created_at < ? ORDER BY created_at LIMIT ?",
			channelID, cutoff.UTC(), limit).Scan(&ids).Error; err != nil {
			return fmt.Errorf("store: prune messages: %w", err)
		}
		if len(ids) > 0 {
			res := db.Exec("DELETE FROM messages WHERE id IN ?", ids)
			if res.Error != nil {
				return fmt.Errorf("store: prune messages: %w", res.Error)
			}
			n += res.RowsAffected
		}
		var evs []int64
		if err := db.Raw("SELECT id FROM outbox WHERE channel_id = ? AND state IN ? AND created_at < ? ORDER BY id LIMIT ?",
			channelID, finishedOutboxStates, cutoff.UTC(), limit).Scan(&evs).Error; err != nil {
			return fmt.Errorf("store: prune events: %w", err)
		}
		if len(evs) > 0 {
			res := db.Exec("DELETE FROM outbox WHERE id IN ?", evs)
			if res.Error != nil {
				return fmt.Errorf("store: prune events: %w", res.Error)
			}
			n += res.RowsAffected
		}
		// The workbench list shows each conversation's last message text:
		// once that message is past retention, so is its preview.
		if err := db.Exec("UPDATE conversations SET last_message_text = '' WHERE channel_id = ? AND last_message_at < ? AND last_message_text <> ''",
			channelID, cutoff.UTC()).Error; err != nil {
			return fmt.Errorf("store: prune previews: %w", err)
		}
		if n > 0 {
			s.publish(ctx, Change{Kind: "channel", ChannelID: channelID})
		}
		return nil
	})
	return n, err
}

// Erasure counts what EraseContact removed.
type Erasure struct {
	TelegramUserID int64 `json:"telegram_user_id"`
	Messages       int64 `json:"messages"`
	MediaFiles     int64 `json:"media_files"`
	Conversations  int64 `json:"conversations"`
	QueuedEvents   int64 `json:"queued_events"`
}

// EraseContact removes one Telegram user's data from a channel in one
// transaction with its audit row: every message they sent (in any chat),
// their private chat with the bot (messages both ways, the conversation
// with its notes and labels), the media of those messages, and every
// callback event and queue message about them, delivered or not.
func (s *Store) EraseContact(ctx context.Context, a Actor, channelID string, userID int64) (Erasure, error) {
	out := Erasure{TelegramUserID: userID}
	if userID <= 0 {
		return out, models.Invalid("telegram_user_id", "Enter the Telegram user id (a positive number, the from.id of their messages).")
	}
	if _, err := s.Channel(ctx, channelID); err != nil {
		return out, err
	}
	err := s.WithTx(ctx, func(ctx context.Context) error {
		db := s.w(ctx)
		type msgRow struct {
			ID     int64
			ChatID int64
			Media  string
		}
		var msgs []msgRow
		if err := db.Raw("SELECT id, chat_id, media FROM messages WHERE channel_id = ? AND (from_id = ? OR chat_id = ?)",
			channelID, userID, userID).Scan(&msgs).Error; err != nil {
			return fmt.Errorf("store: erase contact: %w", err)
		}
		ids := make([]int64, 0, len(msgs))
		gone := map[string]bool{}
		chats := map[string]bool{strconv.FormatInt(userID, 10): true}
		for _, m := range msgs {
			ids = append(ids, m.ID)
			gone[strconv.FormatInt(m.ID, 10)] = true
			chats[strconv.FormatInt(m.ChatID, 10)] = true
			if m.Media != "" && m.Media != "null" {
				out.MediaFiles++
			}
		}
		events, err := s.eventsAbout(ctx, channelID, userID, gone, chats)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			var eventIDs []string
			if err := db.Raw("SELECT event_id FROM outbox WHERE id IN ?", events).Scan(&eventIDs).Error; err != nil {
				return fmt.Errorf("store: erase contact: %w", err)
			}
			res := db.Exec("DELETE FROM outbox WHERE id IN ?", events)
			if res.Error != nil {
				return fmt.Errorf("store: erase contact: events: %w", res.Error)
			}
			out.QueuedEvents = res.RowsAffected
			queues := []string{QueueName(channelID, OutboxStatus), QueueName(channelID, OutboxMO), QueueName(channelID, OutboxNotify)}
			if err := db.Exec("DELETE FROM queue_messages WHERE queue IN ? AND event_id IN ?", queues, eventIDs).Error; err != nil {
				return fmt.Errorf("store: erase contact: queue: %w", err)
			}
		}
		for start := 0; start < len(ids); start += 500 { // bound the IN list
			end := min(start+500, len(ids))
			res := db.Exec("DELETE FROM messages WHERE id IN ?", ids[start:end])
			if res.Error != nil {
				return fmt.Errorf("store: erase contact: messages: %w", res.Error)
			}
			out.Messages += res.RowsAffected
		}
		res := db.Exec("DELETE FROM conversations WHERE channel_id = ? AND chat_id = ?", channelID, userID)
		if res.Error != nil {
			return fmt.Errorf("store: erase contact: conversation: %w", res.Error)
		}
		out.Conversations = res.RowsAffected
		return s.Audit(ctx, a, "contact.erase", "channel", channelID, fmt.Sprintf("telegram user %d: %d messages, %d media, %d conversations, %d events",
			userID, out.Messages, out.MediaFiles, out.Conversations, out.QueuedEvents))
	})
	if err != nil {
		return Erasure{TelegramUserID: userID}, err
	}
	s.publish(ctx, Change{Kind: "channel", ChannelID: channelID})
	return out, nil
}

// eventsAbout returns the outbox row ids of the channel's message events
// (mo, status) that concern the user: about one of the gone messages or
// sent by them. Events are keyed by chat, so only the chats the user wrote
// in are read; the payload decides.
func (s *Store) eventsAbout(ctx context.Context, channelID string, userID int64, gone, chats map[string]bool) ([]int64, error) {
	keys := make([]string, 0, len(chats))
	for k := range chats {
		keys = append(keys, k)
	}
	rows, err := s.w(ctx).Raw("SELECT id, payload FROM outbox WHERE channel_id = ? AND kind IN ? AND ordering_key IN ?",
		channelID, []string{OutboxMO, OutboxStatus}, keys).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: erase contact: events: %w", err)
	}
	var out []int64
	var id int64
	var payload string
	err = eachRow(rows, func() error {
		if err := rows.Scan(&id, &payload); err != nil {
			return err
		}
		var ev struct {
			MessageID json.RawMessage `json:"message_id"`
			ChatID    int64           `json:"chat_id"`
			From      *struct {
				ID int64 `json:"id"`
			} `json:"from"`
		}
		if json.Unmarshal([]byte(payload), &ev) != nil {
			return nil
		}
		mid, _ := strconv.Unquote(string(ev.MessageID))
		if mid == "" {
			mid = string(ev.MessageID)
		}
		if gone[mid] || ev.ChatID == userID || (ev.From != nil && ev.From.ID == userID) {
			out = append(out, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: erase contact: events: %w", err)
	}
	return out, nil
}
