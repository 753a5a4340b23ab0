package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// SessionChange is the kind announced on SessionHub when sessions ended or
// a user's role, active flag or password changed: live streams re-check
// their session on it, so signing out ends them at once instead of at the
// next heartbeat.
const SessionChange = "session"

// SessionHub announces session changes, apart from the data changes of Hub
// so that streams which need no data wake-ups are not woken by every
// message.
func (s *Store) SessionHub() *Hub { return s.sessionHub }

// announceSessions tells live streams to re-check their session, once the
// change is committed.
func (s *Store) announceSessions(ctx context.Context) {
	s.announce(ctx, s.sessionHub, Change{Kind: SessionChange})
}

// SessionID is the stored id (hash) of a session cookie value, so a page can
// mark "this browser" in a list of sessions.
func SessionID(cookie string) string { return HashToken(cookie) }

// ListSessions returns a user's live sessions, most recently seen first.
func (s *Store) ListSessions(ctx context.Context, userID int64) ([]models.Session, error) {
	var out []models.Session
	now := s.now()
	err := s.r(ctx).Where("user_id = ? AND expires_at > ? AND created_at > ?", userID, now, now.Add(-s.maxAge)).
		Order("last_seen_at DESC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// EndSession ends one of the user's sessions by its id; ErrNotFound when
// the user has no such session (someone else's id included).
func (s *Store) EndSession(ctx context.Context, userID int64, sessionID string) error {
	res := s.w(ctx).Where("id = ? AND user_id = ?", sessionID, userID).Delete(&models.Session{})
	if res.Error != nil {
		return fmt.Errorf("store: end session: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: end session: %w", ErrNotFound)
	}
	s.announceSessions(ctx)
	return nil
}

// EndUserSessions ends every session of a user ("sign out everywhere") and
// returns how many there were.
func (s *Store) EndUserSessions(ctx context.Context, userID int64) (int64, error) {
	res := s.w(ctx).Where("user_id = ?", userID).Delete(&models.Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: end sessions: %w", res.Error)
	}
	s.announceSessions(ctx)
	return res.RowsAffected, nil
}
