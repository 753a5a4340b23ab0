package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// The change feed across instances (PostgreSQL only). Every Change the
// store publishes is also sent with pg_notify in the transaction that made
// it, so PostgreSQL delivers it to the other instances at commit, in
// commit order, and never for a rolled-back change. Each instance keeps
// one connection LISTENing and publishes what other instances sent on its
// own hubs; its own notifications it skips (they were published locally
// already). When that connection is lost, changes of the gap are lost
// too: after reconnecting, the hubs' subscribers are told to resync
// (Hub.Resync) and re-read the database. SQLite has one instance and no
// feed.

// feedChannel is the NOTIFY channel.
const feedChannel = "botdesk_changes"

// feedPayloadMax keeps each NOTIFY payload well below PostgreSQL's limit
// of 8000 bytes; a transaction with more changes sends several.
const feedPayloadMax = 7000

// feedMaxPayloads bounds the notifications one transaction sends: past
// it (a retention run touching thousands of rows) one "resync" message
// replaces the changes, which is cheaper for everybody.
const feedMaxPayloads = 8

// Reconnect backoff of the listening connection.
const (
	feedBackoffMin = 100 * time.Millisecond
	feedBackoffMax = 5 * time.Second
)

// feedPingEvery is how long the listener waits for a notification before
// it checks the connection with a query: a connection lost without a word
// (a network cut, a failed-over server) would otherwise wait in silence,
// missing every change, until TCP gave up minutes later.
const (
	feedPingEvery   = 15 * time.Second
	feedPingTimeout = 5 * time.Second
)

// feedMsg is one NOTIFY payload: the sending instance and its changes, or
// a request to resync.
type feedMsg struct {
	From    string       `json:"f"`
	Resync  bool         `json:"r,omitempty"`
	Changes []feedChange `json:"c,omitempty"`
}

// feedChange is a Change with short field names: payloads stay small.
// It converts to and from Change, so a field added there and not here
// does not compile.
type feedChange struct {
	Kind           string `json:"k"`
	ChannelID      string `json:"ch,omitempty"`
	ConversationID int64  `json:"cv,omitempty"`
	MessageID      int64  `json:"m,omitempty"`
	UserID         int64  `json:"u,omitempty"`
	Incoming       bool   `json:"in,omitempty"`
	// More never travels: deliver's PublishAll marks the changes again.
	More bool `json:"-"`
}

// feedPayloads encodes changes (duplicates dropped) as NOTIFY payloads
// from instance.
func feedPayloads(instance string, changes []Change) []string {
	seen := make(map[Change]bool, len(changes))
	var out []string
	var buf strings.Builder
	head := `{"f":` + mustJSON(instance) + `,"c":[`
	n := 0
	for _, c := range changes {
		if seen[c] {
			continue
		}
		seen[c] = true
		item := mustJSON(feedChange(c))
		if n > 0 && buf.Len()+len(item)+3 > feedPayloadMax {
			buf.WriteString("]}")
			out = append(out, buf.String())
			buf.Reset()
			n = 0
		}
		if n == 0 {
			buf.WriteString(head)
		} else {
			buf.WriteByte(',')
		}
		buf.WriteString(item)
		n++
	}
	if n > 0 {
		buf.WriteString("]}")
		out = append(out, buf.String())
	}
	if len(out) > feedMaxPayloads {
		return []string{mustJSON(feedMsg{From: instance, Resync: true})}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: feed: encode: %v", err)) // strings and ints only
	}
	return string(b)
}

// notifyFeed sends changes to the other instances through db (the
// writing transaction, or the pool after a commit). A no-op on SQLite.
func (s *Store) notifyFeed(db *gorm.DB, changes []Change) error {
	if s.feed == nil || len(changes) == 0 {
		return nil
	}
	payloads := feedPayloads(s.instance, changes)
	calls := make([]string, len(payloads))
	args := make([]any, len(payloads))
	for i, p := range payloads {
		calls[i], args[i] = "pg_notify('"+feedChannel+"', ?)", p
	}
	if err := db.Exec("SELECT "+strings.Join(calls, ", "), args...).Error; err != nil {
		return fmt.Errorf("store: notify other instances: %w", err)
	}
	return nil
}

// feed is an instance's listening side of the change feed.
type feed struct {
	cfg           *pgx.ConnConfig
	self          string
	hub, sessions *Hub
	cancel        context.CancelFunc
	done          chan struct{}
	// pingEvery is feedPingEvery in nanoseconds (shorter in tests).
	pingEvery atomic.Int64

	mu   sync.Mutex
	conn *pgx.Conn // the listening connection, nil while reconnecting

	// Counters for /metrics and tests.
	received, reconnects, notifyErrors, pings atomic.Uint64
}

// FeedStats is the change feed's state, for /readyz and /metrics.
type FeedStats struct {
	// Enabled is false on SQLite (one instance, no feed).
	Enabled bool
	// Listening is true while the listening connection is up.
	Listening bool
	// Received counts changes from other instances; Reconnects the times
	// the listening connection was re-established; NotifyErrors the
	// changes that could not be sent after their commit.
	Received, Reconnects, NotifyErrors uint64
}

// FeedStats reports the change feed's state.
func (s *Store) FeedStats() FeedStats {
	f := s.feed
	if f == nil {
		return FeedStats{}
	}
	f.mu.Lock()
	listening := f.conn != nil
	f.mu.Unlock()
	return FeedStats{Enabled: true, Listening: listening, Received: f.received.Load(),
		Reconnects: f.reconnects.Load(), NotifyErrors: f.notifyErrors.Load()}
}

// startFeed opens the listening connection and starts the listener; the
// store is only handed out once it listens, so no change committed after
// Open returns is missed.
func (s *Store) startFeed(ctx context.Context, databaseURL string) error {
	cfg, err := parsePostgresURL(databaseURL)
	if err != nil {
		return err
	}
	// Operators see the listener apart from the pool in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = cfg.RuntimeParams["application_name"] + " feed"
	f := &feed{cfg: cfg, self: s.instance, hub: s.hub, sessions: s.sessionHub, done: make(chan struct{})}
	f.pingEvery.Store(int64(feedPingEvery))
	conn, err := f.connect(ctx)
	if err != nil {
		return err
	}
	f.conn = conn
	lctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	s.feed = f
	go f.run(lctx)
	return nil
}

// stop ends the listener and closes its connection (before Close drops
// the pool: a template database must have no connection left).
func (f *feed) stop() {
	if f == nil {
		return
	}
	f.cancel()
	<-f.done
}

// connect opens a connection and LISTENs on it.
func (f *feed) connect(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, f.cfg.ConnectTimeout+time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, f.cfg)
	if err != nil {
		return nil, fmt.Errorf("store: change feed: connect to %s: %s", postgresWhere(f.cfg), describePostgresError(err, f.cfg))
	}
	if _, err := conn.Exec(cctx, "LISTEN "+feedChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("store: change feed: listen: %w", err)
	}
	return conn, nil
}

// run receives notifications until ctx ends, reconnecting with backoff
// whenever the connection is lost.
func (f *feed) run(ctx context.Context) {
	defer close(f.done)
	for {
		f.mu.Lock()
		conn := f.conn
		f.mu.Unlock()
		f.listen(ctx, conn)
		f.mu.Lock()
		f.conn = nil
		f.mu.Unlock()
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		if conn = f.reconnect(ctx); conn == nil {
			return
		}
		f.mu.Lock()
		f.conn = conn
		f.mu.Unlock()
		f.reconnects.Add(1)
		// Whatever was committed while nobody listened is unknown: every
		// subscriber re-reads (the LISTEN is already up, so nothing
		// committed from now on is missed either).
		f.hub.Resync()
		f.sessions.Resync()
	}
}

// listen delivers notifications until the connection fails or ctx ends.
// After pingEvery without one it checks the connection answers.
func (f *feed) listen(ctx context.Context, conn *pgx.Conn) {
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(f.pingEvery.Load()))
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			f.deliver(n.Payload)
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, feedPingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
			f.pings.Add(1)
		default:
			return
		}
	}
}

// reconnect retries connect with backoff; nil once ctx ended.
func (f *feed) reconnect(ctx context.Context) *pgx.Conn {
	wait := feedBackoffMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		conn, err := f.connect(ctx)
		if err == nil {
			return conn
		}
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		wait = min(wait*2, feedBackoffMax)
	}
}

// deliver publishes another instance's changes on the local hubs.
func (f *feed) deliver(payload string) {
	var m feedMsg
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.From == f.self {
		return // not ours to read, or published here already
	}
	if m.Resync {
		f.hub.Resync()
		f.sessions.Resync()
		return
	}
	// One payload is (part of) one commit: its changes go out together.
	var sessions, changes []Change
	for _, c := range m.Changes {
		f.received.Add(1)
		ch := Change(c)
		if ch.Kind == SessionChange {
			sessions = append(sessions, ch)
		} else {
			changes = append(changes, ch)
		}
	}
	f.sessions.PublishAll(sessions)
	f.hub.PublishAll(changes)
}

// feedBackendPID is the listening connection's server process, for tests
// that cut it (0 while reconnecting).
func (s *Store) feedBackendPID() uint32 {
	if s.feed == nil {
		return 0
	}
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if s.feed.conn == nil {
		return 0
	}
	return s.feed.conn.PgConn().PID()
}
