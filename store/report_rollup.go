package store

// Report rollups (migration 0008, docs/reports.md): counters per channel and
// UTC hour, one span per opened conversation, the bot's state changes. They
// are written ONLY through the hook functions below, each called inside the
// transaction that makes the change it counts, so a report is exact as soon
// as the change is committed and never counts one that was rolled back:
//
//   - rollupIngest     — IngestBatch: messages in, conversations opened
//   - rollupOutgoing   — QueueOutgoing: messages out, agent replies, first responses
//   - rollupStatus     — SetConversationStatus: resolved, reopened
//   - rollupEnqueued   — the outbox inserts and ResendOutbox: callbacks enqueued
//   - rollupAttempts   — FinishAttempts and SkipOutbox: delivered, retrying, failed
//   - recordBotState   — SetBotState and IngestBatch: the poller's state changes

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// execer is what the hooks write through: the ingest's statement cache or
// the transaction's GORM handle (gormExec).
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// gormExec adapts the transaction's GORM handle to execer.
type gormExec struct{ db *gorm.DB }

func (g gormExec) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	res := g.db.Exec(q, args...)
	if res.Error != nil {
		return nil, res.Error
	}
	return rowsAffected(res.RowsAffected), nil
}

func (g gormExec) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	return g.db.Raw(q, args...).Rows()
}

type rowsAffected int64

func (r rowsAffected) LastInsertId() (int64, error) { return 0, fmt.Errorf("not supported") }
func (r rowsAffected) RowsAffected() (int64, error) { return int64(r), nil }

// hourOf is the start of t's UTC hour in unix seconds: report_hourly.hour.
func hourOf(t time.Time) int64 {
	u := t.Unix()
	if u < 0 && u%3600 != 0 {
		u -= 3600
	}
	return u - u%3600
}

// hourCounts is one report_hourly row's increments.
type hourCounts struct {
	MessagesIn, MessagesOut               int64
	Opened, Resolved                      int64
	Enqueued, Delivered, Retrying, Failed int64
	Done, Attempts, LatencyMS             int64
}

// hourlyCols are report_hourly's counters, in hourCounts' order.
var hourlyCols = []string{"messages_in", "messages_out", "conversations_opened", "conversations_resolved",
	"callbacks_enqueued", "callbacks_delivered", "callbacks_retrying", "callbacks_failed",
	"callbacks_done", "callback_attempts", "callback_latency_ms"}

func (h *hourCounts) values() []any {
	return []any{h.MessagesIn, h.MessagesOut, h.Opened, h.Resolved, h.Enqueued, h.Delivered, h.Retrying, h.Failed,
		h.Done, h.Attempts, h.LatencyMS}
}

type rollupKey struct {
	channel string
	hour    int64
}

// rollup collects increments during a transaction; write adds them to
// report_hourly with one upsert (rows of the same key already summed, as
// PostgreSQL refuses to update a row twice in one statement).
type rollup map[rollupKey]*hourCounts

func (r rollup) at(channelID string, t time.Time) *hourCounts {
	k := rollupKey{channelID, hourOf(t)}
	h := r[k]
	if h == nil {
		h = &hourCounts{}
		r[k] = h
	}
	return h
}

var hourlyUpsertTail = func() string {
	set := make([]string, len(hourlyCols))
	for i, c := range hourlyCols {
		set[i] = c + " = report_hourly." + c + " + excluded." + c
	}
	return " ON CONFLICT (channel_id, hour) DO UPDATE SET " + strings.Join(set, ", ")
}()

func (r rollup) write(ctx context.Context, ex execer) error {
	if len(r) == 0 {
		return nil
	}
	keys := make([]rollupKey, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	// A fixed order keeps the statement text (and its cached preparation)
	// the same for the same shape, and the row locks in one order.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].channel != keys[j].channel {
			return keys[i].channel < keys[j].channel
		}
		return keys[i].hour < keys[j].hour
	})
	cols := 2 + len(hourlyCols)
	step := rowsPerChunk(cols)
	for lo := 0; lo < len(keys); lo += step {
		chunk := keys[lo:min(lo+step, len(keys))]
		args := make([]any, 0, cols*len(chunk))
		for _, k := range chunk {
			args = append(args, k.channel, k.hour)
			args = append(args, r[k].values()...)
		}
		q := "INSERT INTO report_hourly (channel_id, hour, " + strings.Join(hourlyCols, ", ") + ") VALUES " +
			valuesList(len(chunk), cols) + hourlyUpsertTail
		if _, err := ex.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: report rollup: %w", err)
		}
	}
	return nil
}

// spanOpen is a conversation opened (created, or reopened) at at.
type spanOpen struct {
	convID int64
	at     time.Time
}

// openSpans starts a report_conversations span for each conversation and
// counts it as opened in r. A conversation that already has an open span
// keeps it and is not counted again.
func openSpans(ctx context.Context, ex execer, channelID string, opens []spanOpen, r rollup) error {
	step := rowsPerChunk(3)
	for lo := 0; lo < len(opens); lo += step {
		chunk := opens[lo:min(lo+step, len(opens))]
		args := make([]any, 0, 3*len(chunk))
		for _, o := range chunk {
			args = append(args, channelID, o.convID, o.at.UnixMilli())
		}
		rows, err := ex.QueryContext(ctx, "INSERT INTO report_conversations (channel_id, conversation_id, opened_at) VALUES "+
			valuesList(len(chunk), 3)+" ON CONFLICT (conversation_id) WHERE resolved_at IS NULL DO NOTHING RETURNING opened_at", args...)
		if err == nil {
			err = eachRow(rows, func() error {
				var at int64
				if err := rows.Scan(&at); err != nil {
					return err
				}
				r.at(channelID, time.UnixMilli(at)).Opened++
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("store: report: open conversation spans: %w", err)
		}
	}
	return nil
}

// rollupIngest is the ingest's hook: the new incoming messages (by their
// Telegram date) and the conversations the batch opened or reopened.
func rollupIngest(ctx context.Context, ex execer, channelID string, dates []time.Time, opens []spanOpen) error {
	r := rollup{}
	for _, d := range dates {
		r.at(channelID, d).MessagesIn++
	}
	if err := openSpans(ctx, ex, channelID, opens, r); err != nil {
		return err
	}
	return r.write(ctx, ex)
}

// rollupOutgoing is QueueOutgoing's hook for a new outgoing message: one
// more message out (and reply of its agent), and the first response of
// the chat's open conversation span if it has none yet.
func (s *Store) rollupOutgoing(ctx context.Context, channelID string, convID int64, sentBy *int64, at time.Time) error {
	ex := gormExec{s.w(ctx)}
	r := rollup{}
	r.at(channelID, at).MessagesOut++
	if err := r.write(ctx, ex); err != nil {
		return err
	}
	if sentBy != nil {
		_, err := ex.ExecContext(ctx, `INSERT INTO report_agent_hourly (channel_id, user_id, hour, replies) VALUES (?, ?, ?, 1)
			ON CONFLICT (channel_id, user_id, hour) DO UPDATE SET replies = report_agent_hourly.replies + 1`, channelID, *sentBy, hourOf(at))
		if err != nil {
			return fmt.Errorf("store: report: agent reply: %w", err)
		}
	}
	if convID == 0 {
		return nil
	}
	var span struct {
		ID       int64
		OpenedAt int64
	}
	err := s.w(ctx).Raw(`SELECT id, opened_at FROM report_conversations
		WHERE conversation_id = ? AND resolved_at IS NULL AND first_response_at IS NULL`, convID).Scan(&span).Error
	if err != nil || span.ID == 0 {
		return wrapReport("first response", err)
	}
	ms := max(at.UnixMilli()-span.OpenedAt, 0)
	err = s.w(ctx).Exec(`UPDATE report_conversations SET first_response_at = ?, first_response_ms = ?, responder_id = ? WHERE id = ?`,
		at.UnixMilli(), ms, sentBy, span.ID).Error
	return wrapReport("first response", err)
}

// rollupStatus is SetConversationStatus's hook for a status that changed:
// resolving closes the open span (and counts it resolved), reopening
// starts a new one.
func (s *Store) rollupStatus(ctx context.Context, channelID string, convID int64, status string, at time.Time) error {
	ex := gormExec{s.w(ctx)}
	r := rollup{}
	if status == ConversationOpen {
		if err := openSpans(ctx, ex, channelID, []spanOpen{{convID, at}}, r); err != nil {
			return err
		}
		return r.write(ctx, ex)
	}
	var span struct {
		ID       int64
		OpenedAt int64
	}
	err := s.w(ctx).Raw(`SELECT id, opened_at FROM report_conversations WHERE conversation_id = ? AND resolved_at IS NULL`, convID).Scan(&span).Error
	if err != nil || span.ID == 0 {
		return wrapReport("resolution", err)
	}
	err = s.w(ctx).Exec(`UPDATE report_conversations SET resolved_at = ?, resolution_ms = ? WHERE id = ?`,
		at.UnixMilli(), max(at.UnixMilli()-span.OpenedAt, 0), span.ID).Error
	if err != nil {
		return wrapReport("resolution", err)
	}
	r.at(channelID, at).Resolved++
	return r.write(ctx, ex)
}

// rollupEnqueued counts n events entering a channel's outbox at at.
func rollupEnqueued(ctx context.Context, ex execer, channelID string, n int, at time.Time) error {
	if n == 0 {
		return nil
	}
	r := rollup{}
	r.at(channelID, at).Enqueued += int64(n)
	return r.write(ctx, ex)
}

// attemptOutcome is one finished delivery attempt (or skip) for rollupAttempts.
type attemptOutcome struct {
	channelID string
	at        time.Time
	state     string // the row's new state
	attempted bool   // false for a skip: no HTTP request was made
	latencyMS int64
}

// rollupAttempts is the dispatcher's hook: each attempt's latency, and
// what became of its event (delivered, retrying, failed, skipped).
func rollupAttempts(ctx context.Context, ex execer, outs []attemptOutcome) error {
	r := rollup{}
	for _, o := range outs {
		h := r.at(o.channelID, o.at)
		if o.attempted {
			h.Attempts++
			h.LatencyMS += o.latencyMS
		}
		switch o.state {
		case OutboxStateDelivered:
			h.Delivered++
			h.Done++
		case OutboxStateFailed:
			h.Failed++
			h.Done++
		case OutboxStateSkipped:
			h.Done++
		case OutboxStatePending:
			h.Retrying++
		}
	}
	return r.write(ctx, ex)
}

// recordBotState is the hook for a change of bots.state.
func recordBotState(ctx context.Context, ex execer, channelID, state, detail string, at time.Time) error {
	_, err := ex.ExecContext(ctx, "INSERT INTO bot_state_changes (channel_id, at, state, detail) VALUES (?, ?, ?, ?)",
		channelID, at.UnixMilli(), state, detail)
	return wrapReport("bot state change", err)
}

func wrapReport(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: report: %s: %w", what, err)
}
