package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/botdesk/botdesk/models"
)

// maxSQLVars stays under SQLite's default limit of bound variables per
// statement (32766); multi-row statements are cut into chunks below it.
const maxSQLVars = 32766

// maxRowsPerInsert bounds one multi-row statement even for narrow rows.
const maxRowsPerInsert = 500

// rowsPerChunk is how many rows of cols columns one statement may carry.
func rowsPerChunk(cols int) int {
	return min(maxRowsPerInsert, maxSQLVars/cols)
}

// valuesList returns "(?,…,?),(?,…,?)…": rows groups of cols placeholders.
func valuesList(rows, cols int) string {
	one := "(" + strings.Repeat("?,", cols-1) + "?)"
	var sb strings.Builder
	sb.Grow(rows * (len(one) + 1))
	for i := 0; i < rows; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(one)
	}
	return sb.String()
}

// typedValuesList is valuesList for a VALUES list that is not an INSERT's
// (nothing gives its parameters a type): on PostgreSQL each placeholder
// is cast to its column's type.
func (s *Store) typedValuesList(rows int, types []string) string {
	if !s.pg {
		return valuesList(rows, len(types))
	}
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = "?::" + t
	}
	one := "(" + strings.Join(parts, ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// recordUpdates inserts the batch's update ids into ingested_updates and
// returns the ids that were not there yet: only those are stored.
func recordUpdates(ctx context.Context, conn *ingestConn, b IngestBatch) (map[int64]bool, error) {
	fresh := make(map[int64]bool, len(b.Updates))
	step := rowsPerChunk(2)
	args := make([]any, 0, 2*min(step, len(b.Updates)))
	for lo := 0; lo < len(b.Updates); lo += step {
		chunk := b.Updates[lo:min(lo+step, len(b.Updates))]
		args = args[:0]
		for _, u := range chunk {
			args = append(args, b.BotTelegramID, u.UpdateID)
		}
		rows, err := conn.QueryContext(ctx, "INSERT INTO ingested_updates (bot_telegram_id, update_id) VALUES "+
			valuesList(len(chunk), 2)+" ON CONFLICT DO NOTHING RETURNING update_id", args...)
		if err == nil {
			err = eachRow(rows, func() error {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				fresh[id] = true
				return nil
			})
		}
		if err != nil {
			return nil, fmt.Errorf("store: ingest: record updates: %w", err)
		}
	}
	return fresh, nil
}

// ingestBuffer collects a run of new messages and writes them with
// multi-row statements: the messages, one conversations write and (in
// groups) one chats upsert per chat, and the mo outbox events. The result
// is what applying the rules message by message, in order, would leave.
type ingestBuffer struct {
	s    *Store
	conn *ingestConn
	t    ingestTarget
	b    IngestBatch
	now  time.Time
	res  *IngestResult
	msgs []bufferedMessage
	// opens are the conversations the flush created or reopened, for the
	// report rollup.
	opens []spanOpen
	// entered are the existing conversations the batch brought back into
	// the open workbench, for auto-assignment (store/assign.go; those it
	// created are assigned in their INSERT); kept only when the channel
	// has it on. round is the channel's round, read once per batch.
	entered []int64
	round   *roundState
}

// roundFor reads the channel's round once per batch (roundRobin: the
// channel has auto-assignment on).
func (ib *ingestBuffer) roundFor(ctx context.Context) (*roundState, error) {
	if ib.round == nil {
		r, err := ib.s.loadRound(ctx, ib.conn, ib.t.ChannelID, ib.t.AssignCapacity, ib.now)
		if err != nil {
			return nil, err
		}
		ib.round = r
	}
	return ib.round, nil
}

type bufferedMessage struct {
	updateID int64
	m        *IngestMessage
	date     time.Time
	change   int // index of its Change in res.Changes, filled by flush
	row      models.Message
}

func (ib *ingestBuffer) add(updateID int64, m *IngestMessage) {
	ib.msgs = append(ib.msgs, bufferedMessage{updateID: updateID, m: m, date: orNow(m.Date, ib.now), change: len(ib.res.Changes)})
	ib.res.Changes = append(ib.res.Changes, Change{Kind: "message", ChannelID: ib.t.ChannelID, Incoming: true})
}

// flush writes the buffered messages; the buffer is empty afterwards.
func (ib *ingestBuffer) flush(ctx context.Context) error {
	if len(ib.msgs) == 0 {
		return nil
	}
	defer func() { ib.msgs, ib.opens = ib.msgs[:0], ib.opens[:0] }()
	if err := ib.insertMessages(ctx); err != nil {
		return err
	}
	if err := ib.upsertChats(ctx); err != nil {
		return err
	}
	if err := ib.touchConversations(ctx); err != nil {
		return err
	}
	if err := ib.enqueueMO(ctx); err != nil {
		return err
	}
	return ib.rollup(ctx)
}

// rollup is the ingest's one report hook (store/report_rollup.go): the
// flushed messages in by their date, and the conversations opened.
func (ib *ingestBuffer) rollup(ctx context.Context) error {
	dates := make([]time.Time, len(ib.msgs))
	for i := range ib.msgs {
		dates[i] = ib.msgs[i].date
	}
	return rollupIngest(ctx, ib.conn, ib.t.ChannelID, dates, ib.opens)
}

// messageCols are the columns of a new incoming message, in insert order.
const messageCols = 22

func (ib *ingestBuffer) insertMessages(ctx context.Context) error {
	t, b := ib.t, ib.b
	byUpdate := make(map[int64]*bufferedMessage, len(ib.msgs))
	step := rowsPerChunk(messageCols)
	for lo := 0; lo < len(ib.msgs); lo += step {
		chunk := ib.msgs[lo:min(lo+step, len(ib.msgs))]
		args := make([]any, 0, messageCols*len(chunk))
		for i := range chunk {
			bm := &chunk[i]
			bm.row = incomingMessage(t, b.BotTelegramID, bm.updateID, bm.m, bm.date, ib.now)
			r := &bm.row
			var reply, thread any
			if r.ReplyToMessageID != nil {
				reply = *r.ReplyToMessageID
			}
			if r.MessageThreadID != nil {
				thread = *r.MessageThreadID
			}
			args = append(args, r.ChannelID, r.BotTelegramID, bm.updateID, r.ChatID, r.ChatType, *r.TelegramMessageID, r.Direction, r.FromID,
				r.FromUsername, r.FromName, r.Type, r.Text, r.Entities, r.Media, reply, r.Status, bm.date, r.CreatedAt, r.EditedAt, thread, r.FromLanguage, r.BusinessConnectionID)
			byUpdate[bm.updateID] = bm
		}
		q := `INSERT INTO messages (channel_id, bot_telegram_id, update_id, chat_id, chat_type, telegram_message_id, direction,
			from_id, from_username, from_name, type, text, entities, media, reply_to_message_id, status, telegram_date, created_at, edited_at,
			message_thread_id, from_language, business_connection_id)
			VALUES ` + valuesList(len(chunk), messageCols) + ` RETURNING id, update_id`
		n := 0
		rows, err := ib.conn.QueryContext(ctx, q, args...)
		if err == nil {
			err = eachRow(rows, func() error {
				var id, uid int64
				if err := rows.Scan(&id, &uid); err != nil {
					return err
				}
				bm := byUpdate[uid]
				if bm == nil {
					return fmt.Errorf("unexpected update id %d returned", uid)
				}
				bm.row.ID = id
				ib.res.Changes[bm.change].MessageID = id
				n++
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("store: ingest: insert messages: %w", err)
		}
		if n != len(chunk) {
			return fmt.Errorf("store: ingest: insert messages: %d rows stored of %d", n, len(chunk))
		}
	}
	return nil
}

// upsertChats keeps the chats row of each group chat in the buffer: one
// upsert per chat with the message count and the values the last message
// would have left (its type, username and date, the last non-empty title).
func (ib *ingestBuffer) upsertChats(ctx context.Context) error {
	type agg struct {
		typ, title, username string
		count                int
		last                 time.Time
	}
	var order []int64
	chats := map[int64]*agg{}
	for i := range ib.msgs {
		m := ib.msgs[i].m
		if !isGroupChat(m.ChatType) {
			continue
		}
		a := chats[m.ChatID]
		if a == nil {
			a = &agg{}
			chats[m.ChatID] = a
			order = append(order, m.ChatID)
		}
		a.typ, a.username, a.last = m.ChatType, m.ChatUsername, ib.msgs[i].date
		if m.ChatTitle != "" {
			a.title = m.ChatTitle
		}
		a.count++
	}
	for _, id := range order {
		a := chats[id]
		_, err := ib.conn.ExecContext(ctx, `INSERT INTO chats (channel_id, chat_id, type, title, username, member_status, added_at, message_count, last_message_at)
			VALUES (?, ?, ?, ?, ?, 'member', ?, ?, ?)
			ON CONFLICT (channel_id, chat_id) DO UPDATE SET type = excluded.type, username = excluded.username,
				title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE chats.title END,
				message_count = chats.message_count + ?, last_message_at = excluded.last_message_at`,
			ib.t.ChannelID, id, a.typ, a.title, a.username, ib.now, a.count, a.last, a.count)
		if err != nil {
			return fmt.Errorf("store: ingest: upsert chat: %w", err)
		}
	}
	return nil
}

// convState is a conversation as the buffered messages leave it.
type convState struct {
	id       int64
	exists   bool
	chatType string
	title    string // new row: its title; existing row: last non-empty title, "" keeps it
	enter    bool
	unread   int64 // messages added
	last     time.Time
	lastText string
	moved    bool // existing row: last_message_at/text changed
	resolved bool // existing row: status resolved as loaded
	wasIn    bool // existing row: in the workbench as loaded
	// openAt is when the buffer opened the conversation (created it, or
	// reopened a resolved one): the date of that message; zero if it did not.
	openAt time.Time
	// assignee is who the round gave a new conversation (0: nobody).
	assignee int64
}

// touchConversations creates or updates each buffered message's
// conversation, reading each chat's conversation once and writing it once,
// and applies the workbench rule of the channel's mode: "all" puts every
// chat in (and reopens a resolved one), "keyword" puts a chat in when a
// text matches (reopening it too), "off" changes nothing. A chat that is in
// stays in, whatever later messages say, until an agent resolves it.
func (ib *ingestBuffer) touchConversations(ctx context.Context) error {
	t := ib.t
	var order []models.ConversationKey
	var chats []int64
	convs := map[models.ConversationKey]*convState{}
	seenChat := map[int64]bool{}
	for i := range ib.msgs {
		m := ib.msgs[i].m
		if k := m.ConversationKey(); !hasKey(convs, k) {
			convs[k] = nil
			order = append(order, k)
		}
		if !seenChat[m.ChatID] {
			seenChat[m.ChatID] = true
			chats = append(chats, m.ChatID)
		}
	}
	if err := ib.loadConversations(ctx, chats, convs); err != nil {
		return err
	}
	for i := range ib.msgs {
		m, date := ib.msgs[i].m, ib.msgs[i].date
		enter := t.entersWorkbench(m)
		preview := messagePreview(m)
		k := m.ConversationKey()
		c := convs[k]
		if c == nil {
			convs[k] = &convState{chatType: m.ChatType, title: m.newConversationTitle(), enter: enter, unread: 1, last: date, lastText: preview, openAt: date}
			continue
		}
		if enter && c.resolved && c.openAt.IsZero() {
			c.openAt = date
		}
		c.unread++
		c.chatType = m.ChatType
		if title := m.conversationTitle(); title != "" {
			c.title = title
		}
		// A replayed or late update must not move the list position backwards.
		if !date.Before(c.last) {
			c.last, c.lastText, c.moved = date, preview, true
		}
		c.enter = c.enter || enter
	}
	var created, updated []models.ConversationKey
	for _, k := range order {
		if convs[k].exists {
			updated = append(updated, k)
		} else {
			created = append(created, k)
		}
	}
	// With round robin on, a conversation the batch creates in the open
	// workbench gets its assignee in its INSERT, in arrival order.
	roundRobin := t.AutoAssign == models.AutoAssignRoundRobin
	if roundRobin {
		for _, k := range created {
			if c := convs[k]; c.enter {
				r, err := ib.roundFor(ctx)
				if err != nil {
					return err
				}
				if c.assignee = r.next(); c.assignee == 0 {
					break // everyone is full
				}
			}
		}
	}
	if err := ib.createConversations(ctx, created, convs); err != nil {
		return err
	}
	for _, k := range created {
		if c := convs[k]; c.assignee != 0 {
			ib.res.Changes = append(ib.res.Changes, assignedChange(t.ChannelID, c.id, c.assignee))
		}
	}
	if err := ib.updateConversations(ctx, updated, convs); err != nil {
		return err
	}
	for i := range ib.msgs {
		ib.res.Changes[ib.msgs[i].change].ConversationID = convs[ib.msgs[i].m.ConversationKey()].id
	}
	for _, k := range order {
		if c := convs[k]; !c.openAt.IsZero() {
			ib.opens = append(ib.opens, spanOpen{convID: c.id, at: c.openAt})
		}
	}
	if roundRobin {
		for _, chat := range order {
			if c := convs[chat]; c.enter && c.exists && (c.resolved || !c.wasIn) {
				ib.entered = append(ib.entered, c.id)
			}
		}
	}
	return nil
}

func hasKey(convs map[models.ConversationKey]*convState, k models.ConversationKey) bool {
	_, ok := convs[k]
	return ok
}

// loadConversations reads id, last_message_at and status of the existing
// conversations of the keys in convs (all those of their chats are read,
// only the keys asked for are kept); keys without one stay nil.
func (ib *ingestBuffer) loadConversations(ctx context.Context, chats []int64, convs map[models.ConversationKey]*convState) error {
	step := rowsPerChunk(1) - 1
	for lo := 0; lo < len(chats); lo += step {
		chunk := chats[lo:min(lo+step, len(chats))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, ib.t.ChannelID)
		for _, c := range chunk {
			args = append(args, c)
		}
		rows, err := ib.conn.QueryContext(ctx, "SELECT id, chat_id, thread_id, business_connection_id, last_message_at, status, in_workbench FROM conversations WHERE channel_id = ? AND chat_id IN ("+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+")", args...)
		if err == nil {
			err = eachRow(rows, func() error {
				c := &convState{exists: true}
				var k models.ConversationKey
				var status string
				if err := rows.Scan(&c.id, &k.ChatID, &k.ThreadID, &k.BusinessConnectionID, &c.last, &status, &c.wasIn); err != nil {
					return err
				}
				if !hasKey(convs, k) {
					return nil // another topic or business chat of the chat
				}
				c.resolved = status == ConversationResolved
				convs[k] = c
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("store: ingest: load conversations: %w", err)
		}
	}
	return nil
}

const newConvCols = 11

func (ib *ingestBuffer) createConversations(ctx context.Context, keys []models.ConversationKey, convs map[models.ConversationKey]*convState) error {
	step := rowsPerChunk(newConvCols)
	for lo := 0; lo < len(keys); lo += step {
		chunk := keys[lo:min(lo+step, len(keys))]
		args := make([]any, 0, newConvCols*len(chunk))
		for _, k := range chunk {
			c := convs[k]
			assignee := sql.NullInt64{Int64: c.assignee, Valid: c.assignee != 0}
			args = append(args, ib.t.ChannelID, k.ChatID, k.ThreadID, k.BusinessConnectionID, c.chatType, c.title, c.enter, c.unread, c.last, c.lastText, assignee)
		}
		rows, err := ib.conn.QueryContext(ctx, `INSERT INTO conversations (channel_id, chat_id, thread_id, business_connection_id, chat_type, title,
			in_workbench, unread, last_message_at, last_message_text, assigned_to) VALUES `+valuesList(len(chunk), newConvCols)+`
			RETURNING id, chat_id, thread_id, business_connection_id`, args...)
		if err == nil {
			err = eachRow(rows, func() error {
				var id int64
				var k models.ConversationKey
				if err := rows.Scan(&id, &k.ChatID, &k.ThreadID, &k.BusinessConnectionID); err != nil {
					return err
				}
				if c := convs[k]; c != nil {
					c.id = id
				}
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("store: ingest: create conversations: %w", err)
		}
	}
	return nil
}

const convUpdateCols = 7

// convUpdateTypes are the column types of updateConversations' VALUES,
// which PostgreSQL cannot infer from bare parameters.
var convUpdateTypes = []string{"bigint", "bigint", "text", "text", "timestamptz", "text", "boolean"}

// updateConversations writes every existing conversation of the buffer in
// one UPDATE … FROM (VALUES …) per chunk. Columns whose value did not
// change are kept by the CASEs, never rewritten from what was read.
func (ib *ingestBuffer) updateConversations(ctx context.Context, keys []models.ConversationKey, convs map[models.ConversationKey]*convState) error {
	step := rowsPerChunk(convUpdateCols)
	for lo := 0; lo < len(keys); lo += step {
		chunk := keys[lo:min(lo+step, len(keys))]
		args := make([]any, 0, convUpdateCols*len(chunk))
		for _, k := range chunk {
			c := convs[k]
			var last, text any
			if c.moved {
				last, text = c.last, c.lastText
			}
			args = append(args, c.id, c.unread, c.chatType, c.title, last, text, c.enter)
		}
		_, err := ib.conn.ExecContext(ctx, `UPDATE conversations SET unread = conversations.unread + v.column2, chat_type = v.column3,
			title = CASE WHEN v.column4 <> '' THEN v.column4 ELSE conversations.title END,
			last_message_at = CASE WHEN v.column5 IS NULL THEN conversations.last_message_at ELSE v.column5 END,
			last_message_text = CASE WHEN v.column5 IS NULL THEN conversations.last_message_text ELSE v.column6 END,
			in_workbench = CASE WHEN v.column7 THEN TRUE ELSE conversations.in_workbench END,
			status = CASE WHEN v.column7 THEN 'open' ELSE conversations.status END
			FROM (VALUES `+ib.s.typedValuesList(len(chunk), convUpdateTypes)+`) AS v WHERE conversations.id = v.column1`, args...)
		if err != nil {
			return fmt.Errorf("store: ingest: update conversations: %w", err)
		}
	}
	return nil
}

// enqueueMO builds each buffered message's mo payload and enqueues them all.
func (ib *ingestBuffer) enqueueMO(ctx context.Context) error {
	if ib.b.MOPayload == nil {
		return nil
	}
	evs := make([]outboxRow, len(ib.msgs))
	for i := range ib.msgs {
		payload, err := ib.b.MOPayload(&ib.msgs[i].row)
		if err != nil {
			return fmt.Errorf("store: ingest: mo payload: %w", err)
		}
		evs[i] = outboxRow{kind: OutboxMO, orderingKey: strconv.FormatInt(ib.msgs[i].m.ChatID, 10), payload: payload}
	}
	return ib.s.enqueueEvents(ctx, ib.conn, ib.t.ChannelID, ib.t.QueueEnabled, evs, ib.now)
}
