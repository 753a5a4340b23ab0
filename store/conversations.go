package store

// The read side of the message workbench: the conversation list with keyset
// pagination, a conversation's history, the agent actions (read, resolve,
// reopen, assign) and the message queries of the live stream and the API.
// The ingest writes conversations and messages; this file only reads them,
// apart from the few columns agents own (status, assigned_to); what each
// agent has read is in store/reads.go.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// Conversation statuses.
const (
	ConversationOpen     = "open"
	ConversationResolved = "resolved"
)

// MaxConversationPage bounds one page of the workbench list.
const MaxConversationPage = 200

// ConversationFilter selects workbench conversations. Only conversations
// the ingest put in the workbench (in_workbench=1) are ever listed.
type ConversationFilter struct {
	ChannelID string // "" = every channel
	Status    string // "", "open" or "resolved"
	Query     string // substring of the title or of any message text
	Label     string // a label's name (any case); "" = any
	// Unassigned keeps only conversations nobody is assigned to;
	// AssigneeEmail only those assigned to that user.
	Unassigned    bool
	AssigneeEmail string
	Before        string // cursor from ConversationPage.Next; "" = newest
	Limit         int
	// IDs, when set, narrows the list to these conversations: which of
	// the rows a change touched belong in a list (live updates).
	IDs []int64
	// Reader is the user whose unread counts the rows carry; 0 counts
	// the messages nobody has read (an API key's view, store/reads.go).
	Reader int64
}

// ConversationPage is one page of the list, newest activity first.
type ConversationPage struct {
	Rows []models.ConversationRow
	Next string // cursor of the next (older) page; "" when this is the last
}

// conversationCols is the SELECT list of ConversationRow.
// The columns are listed (not c.*) because scanConversationRows reads them
// by position: the workbench list is the hottest page, and scanning by hand
// skips GORM's per-row reflection.
// The %s is the unread count of the reader (readerUnread).
const conversationCols = `c.id, c.channel_id, c.chat_id, c.chat_type, c.title, c.status, c.in_workbench, c.assigned_to,
	%s, c.last_message_at, c.last_message_text, ch.name AS channel_name, u.email AS assigned_email,
	CAST(c.last_message_at AS TEXT) AS sort_key, c.thread_id, c.business_connection_id, COALESCE(bc.user_name, '') AS business_name`

// scanConversationRows runs q and reads every row of conversationCols.
func scanConversationRows(q *gorm.DB) ([]models.ConversationRow, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	var out []models.ConversationRow
	err = eachRow(rows, func() error {
		var (
			r        models.ConversationRow
			assigned sql.NullInt64
			email    sql.NullString
		)
		c := &r.Conversation
		if err := rows.Scan(&c.ID, &c.ChannelID, &c.ChatID, &c.ChatType, &c.Title, &c.Status, &c.InWorkbench, &assigned,
			&c.Unread, &c.LastMessageAt, &c.LastMessageText, &r.ChannelName, &email, &r.SortKey,
			&c.ThreadID, &c.BusinessConnectionID, &r.BusinessName); err != nil {
			return err
		}
		if assigned.Valid {
			v := assigned.Int64
			c.AssignedTo = &v
		}
		if email.Valid {
			v := email.String
			r.AssignedEmail = &v
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// shortRead is the context for the small reads of every page load, each
// bounded by an index and a LIMIT. A context that can never be cancelled
// makes the SQLite driver step rows on the calling goroutine; with a
// cancellable one it starts a goroutine and a channel per row to watch for
// cancellation, which was ~15 % of the page benchmark's CPU. Queries that
// may run long (text search) keep the request's context.
func shortRead(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// conversationQuery selects ConversationRows with reader's unread counts
// (0: the team's, see readerUnread).
func (s *Store) conversationQuery(ctx context.Context, reader int64) *gorm.DB {
	q := s.r(ctx).Table("conversations AS c").
		Joins("JOIN channels ch ON ch.id = c.channel_id").
		Joins("LEFT JOIN users u ON u.id = c.assigned_to").
		Joins("LEFT JOIN business_connections bc ON bc.id = c.business_connection_id")
	if reader > 0 {
		q = q.Joins("LEFT JOIN conversation_reads rs ON rs.user_id = ? AND rs.conversation_id = c.id", reader)
	}
	return q.Select(fmt.Sprintf(conversationCols, readerUnread(reader)))
}

// ListConversations returns one page of workbench conversations ordered by
// (last_message_at, id) descending. The keyset cursor keeps every page an
// index range scan however deep the agent pages.
// Its callers cache what they render from it (handlers.listItems).
func (s *Store) ListConversations(ctx context.Context, f ConversationFilter) (ConversationPage, error) {
	if f.Limit <= 0 || f.Limit > MaxConversationPage {
		f.Limit = 50
	}
	var out ConversationPage
	q, err := s.filteredConversations(ctx, f)
	if err != nil {
		return out, err
	}
	if f.Before != "" {
		at, id, err := decodeConversationCursor(f.Before)
		if err != nil {
			return out, err
		}
		q = q.Where("(c.last_message_at < ? OR (c.last_message_at = ? AND c.id < ?))", at, at, id)
	}
	rows, err := scanConversationRows(q.Order("c.last_message_at DESC, c.id DESC").Limit(f.Limit + 1))
	if err != nil {
		return out, fmt.Errorf("store: list conversations: %w", err)
	}
	out.Rows = rows
	if err := s.attachLabels(ctx, out.Rows); err != nil {
		return out, err
	}
	if len(out.Rows) > f.Limit {
		out.Rows = out.Rows[:f.Limit]
		last := out.Rows[len(out.Rows)-1]
		out.Next = encodeConversationCursor(last.SortKey, last.ID)
	}
	return out, nil
}

// filteredConversations is the one place the list filter becomes SQL: the
// list pages and the live list updates (conversations_live.go) both select
// through it, so a row is live-updated into exactly the lists that would
// show it on a reload.
func (s *Store) filteredConversations(ctx context.Context, f ConversationFilter) (*gorm.DB, error) {
	qctx := ctx
	if strings.TrimSpace(f.Query) == "" {
		qctx = shortRead(ctx) // an index range scan with a LIMIT
	}
	q := s.conversationQuery(qctx, f.Reader).Where("c.in_workbench = TRUE")
	if len(f.IDs) > 0 {
		q = q.Where("c.id IN ?", f.IDs)
	}
	if f.ChannelID != "" {
		q = q.Where("c.channel_id = ?", f.ChannelID)
	}
	switch f.Status {
	case "":
	case ConversationOpen, ConversationResolved:
		q = q.Where("c.status = ?", f.Status)
	default:
		return nil, models.Invalid("status", "Choose open or resolved.")
	}
	if f.Unassigned {
		q = q.Where("c.assigned_to IS NULL")
	}
	if f.AssigneeEmail != "" {
		q = q.Where("u.email = ?", f.AssigneeEmail)
	}
	if l := strings.ToLower(strings.Join(strings.Fields(f.Label), " ")); l != "" {
		// conversation_labels' primary key (conversation_id, label_id) makes it one seek per row.
		q = q.Where(`EXISTS (SELECT 1 FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
			WHERE cl.conversation_id = c.id AND l.name_key = ?)`, l)
	}
	if text := strings.TrimSpace(f.Query); text != "" {
		like := "%" + escapeLike(text) + "%"
		// messages_conversation narrows the EXISTS to one conversation.
		l := s.like()
		q = q.Where(`c.title `+l+` ? ESCAPE '\' OR EXISTS (SELECT 1 FROM messages m
			WHERE `+sameConversationSQL+` AND m.text `+l+` ? ESCAPE '\')`, like, like)
	}
	return q, nil
}

func encodeConversationCursor(at string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at + "|" + strconv.FormatInt(id, 10)))
}

func decodeConversationCursor(cur string) (string, int64, error) {
	bad := models.Invalid("before", "This list position is no longer valid; start from the newest conversations.")
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return "", 0, bad
	}
	at, idText, ok := strings.Cut(string(raw), "|")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || at == "" {
		return "", 0, bad
	}
	return at, id, nil
}

// Conversation returns one conversation with its list details (and the
// team's unread count).
func (s *Store) Conversation(ctx context.Context, id int64) (*models.ConversationRow, error) {
	rows, err := scanConversationRows(s.conversationQuery(shortRead(ctx), 0).Where("c.id = ?", id).Limit(1))
	if err != nil {
		return nil, fmt.Errorf("store: conversation %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("store: conversation %d: %w", id, ErrNotFound)
	}
	if err := s.attachLabels(ctx, rows); err != nil {
		return nil, err
	}
	return &rows[0], nil
}

// ChatInWorkbench reports whether the chat's conversation is in the
// workbench: what agents may see of a channel, whatever is stored.
func (s *Store) ChatInWorkbench(ctx context.Context, channelID string, chatID int64) (bool, error) {
	var n int64
	err := s.r(ctx).Raw("SELECT COUNT(*) FROM conversations WHERE channel_id = ? AND chat_id = ? AND in_workbench = TRUE", channelID, chatID).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: chat in workbench: %w", err)
	}
	return n > 0, nil
}

// OpenConversationsByChannel lists a channel's open workbench conversations,
// newest first, for the channel's Workbench tab.
func (s *Store) OpenConversationsByChannel(ctx context.Context, channelID string, limit int) (ConversationPage, error) {
	return s.ListConversations(ctx, ConversationFilter{ChannelID: channelID, Status: ConversationOpen, Limit: limit})
}

// updateConversation changes agent-owned columns and announces it after
// the commit so every open list re-renders.
// after, when set, runs in the same transaction with the row as it was.
func (s *Store) updateConversation(ctx context.Context, id int64, what string, cols map[string]any, after func(ctx context.Context, before *models.Conversation) error) error {
	var conv models.Conversation
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&conv, "id = ?", id).Error; err != nil {
			return notFound("conversation", err)
		}
		if err := s.w(ctx).Model(&models.Conversation{}).Where("id = ?", id).Updates(cols).Error; err != nil {
			return fmt.Errorf("store: %s conversation: %w", what, err)
		}
		if after != nil {
			if err := after(ctx, &conv); err != nil {
				return err
			}
		}
		s.publish(ctx, Change{Kind: "conversation", ChannelID: conv.ChannelID, ConversationID: id})
		return nil
	})
}

// SetConversationStatus resolves or reopens a conversation. A resolved
// conversation stays in the workbench list under "resolved"; whether the
// chat's next message reopens it is the ingest's decision (mode rules).
func (s *Store) SetConversationStatus(ctx context.Context, id int64, status string) error {
	if status != ConversationOpen && status != ConversationResolved {
		return models.Invalid("status", "Choose open or resolved.")
	}
	return s.updateConversation(ctx, id, "set status of", map[string]any{"status": status}, func(ctx context.Context, before *models.Conversation) error {
		if before.Status == status {
			return nil
		}
		return s.rollupStatus(ctx, before.ChannelID, before.ID, status, s.now())
	})
}

// AssignConversation sets (or with nil clears) the agent handling it.
func (s *Store) AssignConversation(ctx context.Context, id int64, userID *int64) error {
	return s.updateConversation(ctx, id, "assign", map[string]any{"assigned_to": userID}, nil)
}

// NoteOutgoing moves the message's conversation (if any) to the top of the
// list with the reply as its last message. Call it after QueueOutgoing has
// committed; it is best-effort bookkeeping, the message is already stored.
func (s *Store) NoteOutgoing(ctx context.Context, m *models.Message) error {
	var conv models.Conversation
	err := s.WithTx(ctx, func(ctx context.Context) error {
		where, args := conversationKeyWhere("", m.ChannelID, m.ConversationKey())
		err := s.w(ctx).Where(where, args...).Take(&conv).Error
		if err != nil {
			return notFound("conversation of reply", err)
		}
		at := m.CreatedAt
		if at.IsZero() {
			at = s.now()
		}
		err = s.w(ctx).Model(&models.Conversation{}).Where("id = ? AND last_message_at <= ?", conv.ID, at).
			Updates(map[string]any{"last_message_at": at, "last_message_text": previewText(m.Text)}).Error
		if err != nil {
			return fmt.Errorf("store: note outgoing: %w", err)
		}
		s.publish(ctx, Change{Kind: "conversation", ChannelID: conv.ChannelID, ConversationID: conv.ID})
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// previewText is the list preview of a message: one line, bounded.
func previewText(t string) string {
	return clipPreview(strings.Join(strings.Fields(t), " "))
}

// Latest is the "no upper bound" message id for the history queries.
const Latest int64 = math.MaxInt64

// MaxMessagePage bounds a page of history or of the messages API.
const MaxMessagePage = 500

func (s *Store) messageQuery(ctx context.Context) *gorm.DB {
	return s.r(ctx).Table("messages AS m").
		Joins("LEFT JOIN users u ON u.id = m.sent_by").
		Select(`m.*, u.email AS sent_by_email,
			(SELECT COUNT(*) FROM message_edits e WHERE e.message_id = m.id) AS edit_count`)
}

// ConversationMessages returns the newest messages of the conversation's
// chat with id < beforeID (0 = no bound) and id <= uptoID (Latest = no bound),
// oldest first, and whether earlier ones exist. uptoID lets a page render
// exactly up to the cursor its live stream resumes from. It walks
// messages_conversation (the conversation's key, then id).
func (s *Store) ConversationMessages(ctx context.Context, conv *models.Conversation, beforeID, uptoID int64, limit int) ([]models.MessageRow, bool, error) {
	if limit <= 0 || limit > MaxMessagePage {
		limit = 50
	}
	where, args := messageKeyWhere("m.", conv.ChannelID, conv.Key())
	q := s.messageQuery(shortRead(ctx)).Where(where, args...)
	if beforeID > 0 {
		q = q.Where("m.id < ?", beforeID)
	}
	q = q.Where("m.id <= ?", uptoID)
	var rows []models.MessageRow
	if err := q.Order("m.id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("store: conversation messages: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows, more, nil
}

// ConversationMessagesAfter returns the chat's messages with
// afterID < id <= uptoID (Latest = no bound), oldest first: what a live
// view has not shown yet.
func (s *Store) ConversationMessagesAfter(ctx context.Context, conv *models.Conversation, afterID, uptoID int64, limit int) ([]models.MessageRow, error) {
	if limit <= 0 || limit > MaxMessagePage {
		limit = 100
	}
	where, args := messageKeyWhere("m.", conv.ChannelID, conv.Key())
	q := s.messageQuery(ctx).Where(where, args...).Where("m.id > ?", afterID)
	q = q.Where("m.id <= ?", uptoID)
	var rows []models.MessageRow
	if err := q.Order("m.id").Limit(limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: messages after %d: %w", afterID, err)
	}
	return rows, nil
}

// RecentOutgoing returns the chat's last n outgoing messages with
// id <= uptoID, oldest first. A reconnecting live view re-sends their
// bubbles, so sent/failed changes made while it was away are not lost.
func (s *Store) RecentOutgoing(ctx context.Context, conv *models.Conversation, uptoID int64, n int) ([]models.MessageRow, error) {
	var rows []models.MessageRow
	where, args := messageKeyWhere("m.", conv.ChannelID, conv.Key())
	err := s.messageQuery(ctx).Where(where, args...).Where("m.id <= ? AND m.direction = 'out'", uptoID).
		Order("m.id DESC").Limit(n).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: recent outgoing: %w", err)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows, nil
}

// MessageRowByID returns one message with its bubble details.
func (s *Store) MessageRowByID(ctx context.Context, id int64) (*models.MessageRow, error) {
	var rows []models.MessageRow
	if err := s.messageQuery(ctx).Where("m.id = ?", id).Limit(1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: message %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("store: message %d: %w", id, ErrNotFound)
	}
	return &rows[0], nil
}

// LatestMessageID is the highest message id committed so far. The single
// writer hands out ids in commit order, so "everything <= this id" is a
// consistent cursor for live views.
func (s *Store) LatestMessageID(ctx context.Context) (int64, error) {
	return Cached(ctx, s, "latest-message-id", func() (int64, error) { return s.latestMessageID(ctx) })
}

func (s *Store) latestMessageID(ctx context.Context) (int64, error) {
	var id *int64
	if err := s.r(shortRead(ctx)).Raw("SELECT MAX(id) FROM messages").Scan(&id).Error; err != nil {
		return 0, fmt.Errorf("store: latest message id: %w", err)
	}
	if id == nil {
		return 0, nil
	}
	return *id, nil
}

// ChannelMessagesAfter returns a channel's messages with id > after, oldest
// first, for GET /api/v1/channels/{id}/messages (index messages_channel).
func (s *Store) ChannelMessagesAfter(ctx context.Context, channelID string, after int64, limit int) ([]models.Message, error) {
	if limit <= 0 || limit > MaxMessagePage {
		limit = 100
	}
	var out []models.Message
	err := s.r(ctx).Where("channel_id = ? AND id > ?", channelID, after).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: channel messages: %w", err)
	}
	return out, nil
}

// MessageEdits returns the earlier versions of the given messages, oldest
// first, keyed by message id.
func (s *Store) MessageEdits(ctx context.Context, ids []int64) (map[int64][]models.MessageEdit, error) {
	out := map[int64][]models.MessageEdit{}
	if len(ids) == 0 {
		return out, nil
	}
	var edits []models.MessageEdit
	if err := s.r(ctx).Where("message_id IN ?", ids).Order("message_id, edited_at, id").Find(&edits).Error; err != nil {
		return nil, fmt.Errorf("store: message edits: %w", err)
	}
	for _, e := range edits {
		out[e.MessageID] = append(out[e.MessageID], e)
	}
	return out, nil
}

// QuotedMessages finds the messages that replies point at, by their
// Telegram message id within the chat (index messages_tg), keyed by that id.
func (s *Store) QuotedMessages(ctx context.Context, channelID string, chatID int64, telegramIDs []int64) (map[int64]models.Message, error) {
	out := map[int64]models.Message{}
	if len(telegramIDs) == 0 {
		return out, nil
	}
	var msgs []models.Message
	err := s.r(ctx).Where("channel_id = ? AND chat_id = ? AND telegram_message_id IN ?", channelID, chatID, telegramIDs).
		Order("id").Find(&msgs).Error
	if err != nil {
		return nil, fmt.Errorf("store: quoted messages: %w", err)
	}
	for _, m := range msgs {
		if m.TelegramMessageID != nil {
			out[*m.TelegramMessageID] = m
		}
	}
	return out, nil
}
