package store

// The reads behind live list updates (package live): which of the changed
// conversations a list shows (ListConversations with IDs) and where each
// one goes in it (ConversationAbove). Both select through
// filteredConversations, the rule the list pages use.

import (
	"context"
	"errors"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// ConversationAbove returns the id of the conversation listed right above
// row under filter f (newest activity first), or 0 when row is the top
// one. f.Before, f.IDs and f.Limit are ignored. A live update inserts row
// below that neighbour, or drops it when the neighbour is not on the
// agent's screen (row then belongs to a page not loaded yet).
func (s *Store) ConversationAbove(ctx context.Context, f ConversationFilter, row models.ConversationRow) (int64, error) {
	f.Before, f.IDs, f.Limit = "", nil, 0
	q, err := s.filteredConversations(ctx, f)
	if err != nil {
		return 0, err
	}
	// The mirror of the keyset cursor of ListConversations: the smallest
	// (last_message_at, id) above row's, against the stored text.
	at := row.SortKey
	rows, err := scanConversationRows(q.Where("(c.last_message_at > ? OR (c.last_message_at = ? AND c.id > ?))", at, at, row.ID).
		Order("c.last_message_at, c.id").Limit(1))
	if err != nil {
		return 0, fmt.Errorf("store: conversation above %d: %w", row.ID, err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].ID, nil
}

// errTooManyIDs guards the IN list of a live update.
var errTooManyIDs = errors.New("store: too many conversation ids")

// ListedAmong returns the conversations of ids that the list of filter f
// shows, newest activity first (f.Before and f.Limit are ignored).
func (s *Store) ListedAmong(ctx context.Context, f ConversationFilter, ids []int64) ([]models.ConversationRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxConversationPage {
		return nil, errTooManyIDs
	}
	f.Before, f.IDs, f.Limit = "", ids, len(ids)
	page, err := s.ListConversations(ctx, f)
	if err != nil {
		return nil, err
	}
	return page.Rows, nil
}
