package store

// What each agent has read. conversations.unread counts a conversation's
// incoming messages (the ingest adds to it, nothing resets it); a row of
// conversation_reads keeps, per user, that count and the newest message id
// when they last read the conversation. A user's unread is the difference:
// the ingest never writes per agent, reading writes one row, and the list
// reads it with one primary-key seek per row (conversationQuery).

import (
	"context"
	"fmt"
)

// readerUnread is the SQL of a row's unread count for reader: the user's
// (through the rs join of conversationQuery), or for 0 the messages no
// one has read yet (an API key is not a reader; what the team has not
// read is what it asks about).
func readerUnread(reader int64) string {
	if reader > 0 {
		return "c.unread - COALESCE(rs.read_count, 0)"
	}
	return "c.unread - COALESCE((SELECT MAX(r.read_count) FROM conversation_reads r WHERE r.conversation_id = c.id), 0)"
}

// MarkConversationRead records that user has read the conversation up to
// its newest message. It writes only when something is unread for them,
// so watching a conversation does not contend with the ingest for the
// writer, and announces the read (Change.UserID) so the user's other
// views drop the count.
func (s *Store) MarkConversationRead(ctx context.Context, userID, convID int64) error {
	var st []struct {
		Unread    int64
		ReadCount *int64
	}
	err := s.r(shortRead(ctx)).Raw(`SELECT c.unread, rs.read_count FROM conversations c
		LEFT JOIN conversation_reads rs ON rs.user_id = ? AND rs.conversation_id = c.id WHERE c.id = ?`, userID, convID).Scan(&st).Error
	if err != nil {
		return fmt.Errorf("store: read state: %w", err)
	}
	if len(st) == 0 {
		return fmt.Errorf("store: mark read %d: %w", convID, ErrNotFound)
	}
	if st[0].ReadCount != nil && *st[0].ReadCount >= st[0].Unread {
		return nil
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		// One statement reads the count and the newest message id of
		// the conversation together (messages_conversation: one seek),
		// so they agree.
		err := s.w(ctx).Exec(`INSERT INTO conversation_reads (user_id, conversation_id, last_read_message_id, read_count, read_at)
			SELECT ?, c.id, COALESCE((SELECT MAX(m.id) FROM messages m WHERE `+sameConversationSQL+`), 0), c.unread, ?
			FROM conversations c WHERE c.id = ?
			ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_message_id = excluded.last_read_message_id,
				read_count = excluded.read_count, read_at = excluded.read_at`, userID, s.now(), convID).Error
		if err != nil {
			return fmt.Errorf("store: mark read: %w", err)
		}
		s.publish(ctx, Change{Kind: "read", ConversationID: convID, UserID: userID})
		return nil
	})
}

// UnreadTotal is the user's unread count over the open conversations of
// the workbench: the number in the page title and the navigation.
func (s *Store) UnreadTotal(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.r(shortRead(ctx)).Raw(`SELECT COALESCE(SUM(c.unread - COALESCE(rs.read_count, 0)), 0) FROM conversations c
		LEFT JOIN conversation_reads rs ON rs.user_id = ? AND rs.conversation_id = c.id
		WHERE c.in_workbench = TRUE AND c.status = ?`, userID, ConversationOpen).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: unread total: %w", err)
	}
	return n, nil
}
