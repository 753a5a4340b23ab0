package store

// Agent availability. An agent is online while one of their workbench
// streams has beaten within PresenceWindow and they have not switched
// themselves to away; the streams refresh users.seen_at every
// PresenceBeat (handlers/workbench_events.go). The state is in the
// database, so every instance agrees on it.

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/botdesk/botdesk/models"
)

const (
	// PresenceWindow is how long after the last heartbeat an agent still
	// counts as online: a few minutes without an open workbench tab make
	// them away.
	PresenceWindow = 3 * time.Minute
	// PresenceBeat is how often an open stream refreshes seen_at.
	PresenceBeat = time.Minute
)

// TouchPresence records a heartbeat of one of the user's streams. The
// streams of one user on this instance share their heartbeat: seen_at is
// written at most once per half PresenceBeat per user, however many tabs
// they keep open (a support centre's wall of tabs would otherwise write
// once per tab).
func (s *Store) TouchPresence(ctx context.Context, userID int64) error {
	now := s.now()
	s.presenceMu.Lock()
	last, ok := s.presenceAt[userID]
	fresh := ok && now.Sub(last) >= 0 && now.Sub(last) < PresenceBeat/2
	if !fresh {
		if s.presenceAt == nil {
			s.presenceAt = map[int64]time.Time{}
		}
		s.presenceAt[userID] = now
	}
	s.presenceMu.Unlock()
	if fresh {
		return nil
	}
	if err := s.w(ctx).Exec("UPDATE users SET seen_at = ? WHERE id = ?", now, userID).Error; err != nil {
		s.presenceMu.Lock()
		delete(s.presenceAt, userID) // the next stream's beat writes it
		s.presenceMu.Unlock()
		return fmt.Errorf("store: touch presence: %w", err)
	}
	return nil
}

// Online is the availability rule: not away, and a stream beat recently.
func Online(u *models.User, now time.Time) bool {
	return !u.Away && u.SeenAt != nil && !u.SeenAt.Before(now.Add(-PresenceWindow))
}

// SetAway switches the user's own availability, audited in the same
// transaction.
func (s *Store) SetAway(ctx context.Context, a Actor, userID int64, away bool) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Model(&models.User{}).Where("id = ?", userID).Update("away", away).Error; err != nil {
			return fmt.Errorf("store: set away: %w", err)
		}
		state := "online"
		if away {
			state = "away"
		}
		return s.Audit(ctx, a, "user.availability", "user", strconv.FormatInt(userID, 10), state)
	})
}

// SetNotifyMessages turns the user's message notifications on or off,
// audited in the same transaction.
func (s *Store) SetNotifyMessages(ctx context.Context, a Actor, userID int64, on bool) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Model(&models.User{}).Where("id = ?", userID).Update("notify_messages", on).Error; err != nil {
			return fmt.Errorf("store: set notifications: %w", err)
		}
		return s.Audit(ctx, a, "user.notifications", "user", strconv.FormatInt(userID, 10), strconv.FormatBool(on))
	})
}

// AgentLoad is one user who may take conversations, as the channel's
// auto-assignment sees them.
type AgentLoad struct {
	User   models.User
	Online bool
	// Open counts the open workbench conversations assigned to them (in
	// every channel): what the capacity limits.
	Open int64
	// InRound: the channel lists them (or lists nobody and they are an
	// agent).
	InRound bool
}
