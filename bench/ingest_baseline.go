package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/botdesk/botdesk/callbacks"
)

// sameRowsBaseline returns updates/s for raw prepared statements writing
// every row the ingest writes for a private text update, and nothing else:
// the update id (replay guard), the message, its conversation (insert or
// bump), its "mo" outbox event (payload of the real shape and size), and
// once per batch of 100 the bot's offset; one transaction per batch, the
// store's DSN. No HTTP, no decoding, no decisions: what is left between
// this and the poller is botdesk's own cost per update.
func sameRowsBaseline(ctx context.Context, d benchDB, sz IngestSizes) (float64, error) {
	db, err := openBaseline(ctx, d)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	now := time.Now().UTC()
	ch := channelID(0)
	if _, err := db.ExecContext(ctx, d.q(`INSERT INTO bots (channel_id, telegram_id, username, token_enc, token_hint, state, connected_at, updated_at)
		VALUES (?, ?, 'baseline_bot', ?, '••', 'polling', ?, ?)`), ch, benchBotID(0), []byte{0}, now, now); err != nil {
		return 0, fmt.Errorf("bench: baseline bot: %w", err)
	}
	// Payloads and event ids are made before the clock starts: the
	// baseline is the database work only.
	payloads := make([]string, sz.Updates)
	eventIDs := make([]string, sz.Updates)
	for i := range payloads {
		c := i % sz.Chats
		ev := callbacks.MOEvent{MessageID: strconv.Itoa(i + 1), ChannelID: ch, ChatID: chatID(c), ChatType: "private", MessageType: "text",
			Text: ingestText(i), From: &callbacks.Sender{ID: chatID(c), Username: fmt.Sprintf("user%d", c), DisplayName: fmt.Sprintf("Customer %d", c)},
			Timestamp: callbacks.Millis(now), UpdateID: int64(i + 1)}
		b, err := json.Marshal(ev)
		if err != nil {
			return 0, err
		}
		payloads[i] = string(b)
		eventIDs[i] = fmt.Sprintf("evt_%013x%013x", now.UnixMilli(), i)
	}
	stmts := []string{
		`INSERT INTO ingested_updates (bot_telegram_id, update_id) VALUES (?, ?)`,
		baselineMessageSQL,
		`INSERT INTO conversations (channel_id, chat_id, chat_type, title, in_workbench, unread, last_message_at, last_message_text)
			VALUES (?, ?, 'private', ?, TRUE, 1, ?, ?)
			ON CONFLICT (channel_id, chat_id, thread_id, business_connection_id) DO UPDATE SET unread = conversations.unread + 1, last_message_at = excluded.last_message_at,
			last_message_text = excluded.last_message_text`,
		`INSERT INTO outbox (event_id, channel_id, kind, ordering_key, payload, next_attempt_at, created_at) VALUES (?, ?, 'mo', ?, ?, ?, ?)`,
		`UPDATE bots SET update_offset = ?, last_update_at = ?, updated_at = ? WHERE telegram_id = ?`,
	}
	for i := range stmts {
		stmts[i] = d.q(stmts[i])
	}
	start := time.Now()
	for lo := 0; lo < sz.Updates; lo += 100 {
		hi := min(lo+100, sz.Updates)
		batch := func() error { return sameRowsBatch(ctx, db, stmts, lo, hi, sz, payloads, eventIDs) }
		if d.pg() {
			batch = func() error { return sameRowsBatchMulti(ctx, d, db, lo, hi, sz, payloads, eventIDs) }
		}
		if err := batch(); err != nil {
			return 0, fmt.Errorf("bench: same-rows baseline: %w", err)
		}
	}
	return float64(sz.Updates) / time.Since(start).Seconds(), nil
}

// openBaseline opens the freshly migrated d with the store's writer
// settings, one connection, holding the baseline's channel (in
// workbench mode "all", as the poller's).
func openBaseline(ctx context.Context, d benchDB) (*sql.DB, error) {
	db, err := d.openWriter()
	if err != nil {
		return nil, err
	}
	// Raw means raw: the baselines write the rows without the full-text
	// index and the contact-panel index of migration 0006, which the
	// poller maintains; the ratio is the cost of both.
	drops := []string{"DROP TRIGGER messages_fts_ai", "DROP TRIGGER messages_fts_bu", "DROP TRIGGER messages_fts_au",
		"DROP TRIGGER messages_fts_bd", "DROP INDEX messages_from"}
	if d.url != "" {
		drops = []string{"DROP INDEX messages_fts", "DROP INDEX messages_from"}
	}
	for _, q := range drops {
		if _, err := db.ExecContext(ctx, q); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("bench: baseline without the workspace indexes: %w", err)
		}
	}
	now := time.Now().UTC()
	if _, err := db.ExecContext(ctx, d.q(`INSERT INTO channels (id, name, created_at, updated_at, workbench_mode) VALUES (?, 'Baseline', ?, ?, 'all')`),
		channelID(0), now, now); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bench: baseline channel: %w", err)
	}
	return db, nil
}

// baselineMessageSQL inserts the message row of a private text update;
// both ingest baselines write it through execBaselineMessage, and the
// multi-row baseline repeats baselineMessageValues once per row.
const (
	baselineMessageHead = `INSERT INTO messages (channel_id, bot_telegram_id, update_id, chat_id, chat_type, telegram_message_id,
	direction, from_id, from_username, from_name, type, text, entities, media, status, telegram_date, created_at) VALUES `
	baselineMessageValues = `(?, ?, ?, ?, 'private', ?, 'in', ?, ?, ?, 'text', ?, '', '', 'received', ?, ?)`
	baselineMessageSQL    = baselineMessageHead + baselineMessageValues
)

// execBaselineMessage writes update i's message row (text, received at
// at) with stmt, prepared from baselineMessageSQL.
func execBaselineMessage(ctx context.Context, stmt *sql.Stmt, i int, sz IngestSizes, text string, at time.Time) error {
	chat := chatID(i % sz.Chats)
	_, err := stmt.ExecContext(ctx, channelID(0), benchBotID(0), i+1, chat, i+1, chat,
		fmt.Sprintf("user%d", i%sz.Chats), fmt.Sprintf("Customer %d", i%sz.Chats), text, at.Truncate(time.Second), at)
	return err
}

// sameRowsBatch writes updates [lo, hi) in one transaction.
func sameRowsBatch(ctx context.Context, db *sql.DB, q []string, lo, hi int, sz IngestSizes, payloads, eventIDs []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmts := make([]*sql.Stmt, len(q))
	for i, text := range q {
		if stmts[i], err = tx.PrepareContext(ctx, text); err != nil {
			return err
		}
		defer stmts[i].Close()
	}
	bot, ch := benchBotID(0), channelID(0)
	for i := lo; i < hi; i++ {
		chat := chatID(i % sz.Chats)
		at := time.Now().UTC()
		text := ingestText(i)
		if _, err := stmts[0].ExecContext(ctx, bot, i+1); err != nil {
			return err
		}
		if err := execBaselineMessage(ctx, stmts[1], i, sz, text, at); err != nil {
			return err
		}
		if _, err := stmts[2].ExecContext(ctx, ch, chat, fmt.Sprintf("Customer %d", i%sz.Chats), at, text); err != nil {
			return err
		}
		if _, err := stmts[3].ExecContext(ctx, eventIDs[i], ch, strconv.FormatInt(chat, 10), payloads[i], at, at); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	if _, err := stmts[4].ExecContext(ctx, hi+1, now, now, bot); err != nil {
		return err
	}
	return tx.Commit()
}

// sameRowsBatchMulti writes updates [lo, hi) in one transaction as the
// fastest plain SQL does on PostgreSQL, where every statement is a round
// trip: one multi-row INSERT per table (the conversations folded per chat
// first, as one upsert may not touch a row twice), then the offset. The
// store's own ingest batches the same way (store/ingest_bulk.go), so a
// one-statement-per-row baseline would flatter it.
func sameRowsBatchMulti(ctx context.Context, d benchDB, db *sql.DB, lo, hi int, sz IngestSizes, payloads, eventIDs []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	bot, ch := benchBotID(0), channelID(0)
	at := time.Now().UTC()
	var upd, msg, out multiInsert
	type conv struct {
		chat  int64
		title string
		n     int
		text  string
	}
	var convs []*conv
	byChat := map[int64]*conv{}
	for i := lo; i < hi; i++ {
		chat := chatID(i % sz.Chats)
		text := ingestText(i)
		upd.row(bot, i+1)
		msg.row(ch, bot, i+1, chat, i+1, chat, fmt.Sprintf("user%d", i%sz.Chats), fmt.Sprintf("Customer %d", i%sz.Chats), text, at.Truncate(time.Second), at)
		out.row(eventIDs[i], ch, strconv.FormatInt(chat, 10), payloads[i], at, at)
		c := byChat[chat]
		if c == nil {
			c = &conv{chat: chat, title: fmt.Sprintf("Customer %d", i%sz.Chats)}
			byChat[chat] = c
			convs = append(convs, c)
		}
		c.n++
		c.text = text
	}
	var cv multiInsert
	for _, c := range convs {
		cv.row(ch, c.chat, c.title, c.n, at, c.text)
	}
	stmts := []struct {
		head, values, tail string
		m                  *multiInsert
	}{
		{`INSERT INTO ingested_updates (bot_telegram_id, update_id) VALUES `, "", "", &upd},
		{baselineMessageHead, baselineMessageValues, "", &msg},
		{`INSERT INTO conversations (channel_id, chat_id, chat_type, title, in_workbench, unread, last_message_at, last_message_text) VALUES `,
			"(?, ?, 'private', ?, TRUE, ?, ?, ?)",
			` ON CONFLICT (channel_id, chat_id, thread_id, business_connection_id) DO UPDATE SET unread = conversations.unread + excluded.unread,
			last_message_at = excluded.last_message_at, last_message_text = excluded.last_message_text`, &cv},
		{`INSERT INTO outbox (event_id, channel_id, kind, ordering_key, payload, next_attempt_at, created_at) VALUES `,
			"(?, ?, 'mo', ?, ?, ?, ?)", "", &out},
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, d.q(s.m.sql(s.head, s.values, s.tail)), s.m.args...); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, d.q(`UPDATE bots SET update_offset = ?, last_update_at = ?, updated_at = ? WHERE telegram_id = ?`), hi+1, now, now, bot); err != nil {
		return err
	}
	return tx.Commit()
}

// multiInsert collects the rows of one multi-row INSERT.
type multiInsert struct {
	args []any
	rows int
	per  int
}

func (m *multiInsert) row(args ...any) {
	m.per = len(args)
	m.args = append(m.args, args...)
	m.rows++
}

// sql is head followed by one values group per row (an empty values is
// one placeholder per argument), then tail; ? placeholders, for benchDB.q.
func (m *multiInsert) sql(head, values, tail string) string {
	if values == "" {
		values = "(" + strings.TrimSuffix(strings.Repeat("?, ", m.per), ", ") + ")"
	}
	return head + strings.TrimSuffix(strings.Repeat(values+", ", m.rows), ", ") + tail
}
