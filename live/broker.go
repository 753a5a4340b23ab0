// Package live keeps the workbench conversation list of every open stream
// current, one conversation at a time.
//
// One Broker per server reads the store's hub: every batch of committed
// changes (all that is queued when it wakes, no timer) becomes, for each
// list filter some stream shows, one "rows" event of out-of-band row
// swaps — the changed rows placed where they now belong, or taken out —
// rendered once and shared by every stream with that filter. Each batch
// has a position (Pos); a stream that resumes from an older position, or
// whose updates could not be computed row by row, sends a fresh first page
// instead. Streams read from bounded buffers: one that falls behind is
// dropped (Sub.Lagged) and told to reload, never waited for.
//
// docs/live.md describes the whole live path.
package live

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// DefaultBuffer is how many updates a stream may have queued before it is
// dropped as too slow.
const DefaultBuffer = 128

// hubBuffer is the broker's own hub queue. Past it changes are missed and
// every stream gets a fresh page (see run).
const hubBuffer = 4096

// historySize is how many recent updates the broker remembers, so that a
// stream resuming from a recent position (a page just loaded, a quick
// reconnect) gets only the rows changed since instead of a fresh page that
// would drop the rows its agent loaded with "Load more".
const historySize = 512

// MaxReplay bounds the rows a resuming stream is sent one by one; past it
// a fresh page is cheaper (it is rendered once and shared).
const MaxReplay = 50

// step is one remembered update: the conversations it touched (for any
// viewer), or a gap (changes the broker did not follow).
type step struct {
	seq uint64
	ids []int64
	gap bool
}

// Pos is a position in the broker's sequence of list updates. The epoch
// changes with every broker (process), so a position from another one
// never matches.
type Pos struct {
	Epoch string
	Seq   uint64
}

// String encodes p for an SSE event id ("<epoch>.<seq>"); the zero Pos
// (no position known) is "".
func (p Pos) String() string {
	if p.Epoch == "" {
		return ""
	}
	return p.Epoch + "." + strconv.FormatUint(p.Seq, 10)
}

// ParsePos decodes a Pos.String; ok is false for anything else.
func ParsePos(s string) (Pos, bool) {
	epoch, seq, ok := strings.Cut(s, ".")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || epoch == "" {
		return Pos{}, false
	}
	return Pos{Epoch: epoch, Seq: n}, true
}

// Update is one step of a stream's list.
type Update struct {
	Pos Pos
	// Event is the SSE "rows" event (without an id line, which is per
	// stream); nil when Fresh.
	Event []byte
	// Fresh: this step could not be expressed row by row (the stream's
	// filter was new, or changes were missed); send a fresh first page.
	Fresh bool
}

// Viewer is who a stream shows the list to and how it is filtered:
// streams with equal viewers share their updates. The rows carry the
// user's unread counts, so updates are shared by one user's streams (all
// of an agent's tabs with one filter), rendered once per user and filter.
type Viewer struct {
	Role   models.Role
	Filter views.WorkbenchFilter
	// Lang is the language rows are rendered in (i18n.Catalog.Negotiate).
	Lang i18n.Lang
	// UserID is whose unread counts the rows show (0: the team's).
	UserID int64
	// Notify: the user wants a browser notification for new messages
	// in conversations assigned to them or to nobody (models.User
	// NotifyMessages); their updates then carry them (views.MessageNotify).
	Notify bool
}

// mayList is the role rule of the list: agents and above see every
// conversation the workbench holds (the filter's in_workbench), nobody
// else sees any.
func (v Viewer) mayList() bool { return v.Role.AtLeast(models.RoleAgent) }

// Sub is one stream's subscription.
type Sub struct {
	b       *Broker
	viewer  Viewer
	direct  Direct // nil: every update goes through updates
	updates chan *Update
	lagged  chan struct{}
	dropped bool // guarded by b.mu
}

// Direct is a stream the broker may write an update to itself, without
// waking the stream's goroutine (handlers/sse_direct.go). One goroutine
// writing every stream's update keeps the run queue short while hundreds
// of streams are written, so the poller and the ingest of the next
// message are not scheduled behind them.
type Direct interface {
	// TryWrite writes u to the stream at once, without blocking, when
	// nothing else of the stream is queued or being written; false means
	// u must go through the stream's queue.
	TryWrite(u *Update) bool
	// Queued tells the stream one more update is in its queue (before it
	// is sent there), so that TryWrite never overtakes it.
	Queued()
}

// Updates delivers the stream's updates in order.
func (s *Sub) Updates() <-chan *Update { return s.updates }

// Lagged is closed when the stream fell so far behind that its buffer
// filled: it no longer gets updates and should tell the browser to reload.
func (s *Sub) Lagged() <-chan struct{} { return s.lagged }

// Close ends the subscription; it is safe to call more than once.
func (s *Sub) Close() { s.b.remove(s) }

// Broker fans list updates out to the streams.
type Broker struct {
	store  *store.Store
	log    *slog.Logger
	i18n   *i18n.Catalog
	buffer int
	epoch  string

	shutdown <-chan struct{}

	mu      sync.Mutex
	subs    map[*Sub]struct{}
	seq     uint64
	history []step // the last historySize steps, oldest first
	running bool

	dropped atomic.Uint64
	direct  atomic.Uint64 // updates written by the broker (Direct)
}

// New makes a broker over st's hub. buffer bounds each stream's queue
// (<= 0: DefaultBuffer). It starts reading the hub when first asked for a
// position and stops when shutdown is closed (nil: never).
func New(st *store.Store, log *slog.Logger, cat *i18n.Catalog, buffer int, shutdown <-chan struct{}) *Broker {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Broker{store: st, log: log, i18n: cat, buffer: buffer, shutdown: shutdown, subs: map[*Sub]struct{}{},
		epoch: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// startLocked starts the pump once. Changes committed before it ran were
// not followed: the gap step makes every position before it stale.
func (b *Broker) startLocked() {
	if b.running {
		return
	}
	b.running = true
	b.recordLocked(step{gap: true})
	changes, missed, unsub := b.store.Hub().SubscribeCounted(hubBuffer)
	go b.run(changes, missed, unsub)
}

// recordLocked takes the next position for st.
func (b *Broker) recordLocked(st step) Pos {
	b.seq++
	st.seq = b.seq
	if len(b.history) == historySize {
		copy(b.history, b.history[1:])
		b.history = b.history[:historySize-1]
	}
	b.history = append(b.history, st)
	return Pos{Epoch: b.epoch, Seq: b.seq}
}

// Pos is the current position. A page reads it before reading its list:
// every update after it is then either in the list or still to come.
func (b *Broker) Pos() Pos {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.startLocked()
	return Pos{Epoch: b.epoch, Seq: b.seq}
}

// ChangedBetween returns the conversations touched by the updates after
// from up to to, when the broker remembers them all and they are at most
// MaxReplay; ok is false otherwise (another broker's position, too old,
// a gap), and the stream must send a fresh page.
func (b *Broker) ChangedBetween(from, to Pos) (ids []int64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if from.Epoch != b.epoch || to.Epoch != b.epoch || from.Seq > to.Seq || to.Seq > b.seq {
		return nil, false
	}
	if from.Seq == to.Seq {
		return nil, true
	}
	if len(b.history) == 0 || b.history[0].seq > from.Seq+1 {
		return nil, false // forgotten
	}
	seen := map[int64]bool{}
	for _, st := range b.history {
		if st.seq <= from.Seq || st.seq > to.Seq {
			continue
		}
		if st.gap {
			return nil, false
		}
		for _, id := range st.ids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) > MaxReplay {
			return nil, false
		}
	}
	return ids, true
}

// RowsEvent renders the "rows" event that brings v's list up to date for
// the conversations ids (a resuming stream's catch-up).
func (b *Broker) RowsEvent(ctx context.Context, v Viewer, ids []int64) ([]byte, error) {
	html, err := b.rowsHTML(ctx, v, ids)
	if err != nil {
		return nil, err
	}
	return AppendEvent(nil, "rows", "", html), nil
}

// Streams counts the subscribed streams (for tests and metrics).
func (b *Broker) Streams() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Dropped counts the streams dropped for falling behind (for metrics and
// tests).
func (b *Broker) Dropped() uint64 { return b.dropped.Load() }

// DirectWrites counts the updates the broker wrote to streams itself
// (Direct), for tests.
func (b *Broker) DirectWrites() uint64 { return b.direct.Load() }

// Subscribe registers a stream showing v's list and returns the position
// its updates start after.
func (b *Broker) Subscribe(v Viewer) (*Sub, Pos) { return b.SubscribeDirect(v, nil) }

// SubscribeDirect is Subscribe for a stream the broker may write to
// itself (d; nil: never).
func (b *Broker) SubscribeDirect(v Viewer, d Direct) (*Sub, Pos) {
	s := &Sub{b: b, viewer: v, direct: d, updates: make(chan *Update, b.buffer), lagged: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.startLocked()
	b.subs[s] = struct{}{}
	return s, Pos{Epoch: b.epoch, Seq: b.seq}
}

func (b *Broker) remove(s *Sub) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// run is the pump: it turns each batch of queued changes into updates,
// until shutdown.
func (b *Broker) run(changes <-chan store.Change, missed func() uint64, unsub func()) {
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()
	seen := missed()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-changes:
			batch := store.Drain(c, changes)
			// A missed change means a row we do not know changed.
			m := missed()
			b.publish(ctx, batch, m != seen)
			seen = m
		}
	}
}

// touched is what one batch of changes touched: the conversations every
// list may show differently, and those only one user's lists do (their
// reads).
type touched struct {
	all    []int64
	byUser map[int64][]int64
	ids    []int64 // all and byUser together, for the history
	// assigned: the conversations auto-assigned to each user (their
	// "assigned to you" notice); incoming: those with new incoming
	// messages (notifications).
	assigned map[int64][]int64
	incoming []int64
}

func touchedBy(batch []store.Change) touched {
	var t touched
	seen, seenAny := map[int64]bool{}, map[int64]bool{}
	for _, c := range batch {
		id := c.ConversationID
		if id <= 0 {
			continue
		}
		if !seenAny[id] {
			seenAny[id] = true
			t.ids = append(t.ids, id)
		}
		if c.Kind == "assigned" && c.UserID > 0 {
			if t.assigned == nil {
				t.assigned = map[int64][]int64{}
			}
			t.assigned[c.UserID] = append(t.assigned[c.UserID], id)
		}
		if c.Incoming && !slices.Contains(t.incoming, id) {
			t.incoming = append(t.incoming, id)
		}
		if c.Kind == "read" {
			if t.byUser == nil {
				t.byUser = map[int64][]int64{}
			}
			t.byUser[c.UserID] = append(t.byUser[c.UserID], id)
			continue
		}
		if !seen[id] {
			seen[id] = true
			t.all = append(t.all, id)
		}
	}
	return t
}

// forViewer is the conversations whose rows v's list re-renders.
func (t touched) forViewer(v Viewer) []int64 {
	own := t.byUser[v.UserID]
	if len(own) == 0 {
		return t.all
	}
	ids := append([]int64(nil), t.all...)
	for _, id := range own {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// publish computes and delivers one update.
func (b *Broker) publish(ctx context.Context, batch []store.Change, fresh bool) {
	t := touchedBy(batch)
	ids := t.ids
	if len(ids) == 0 && !fresh {
		return // nothing a list shows changed (bots, message statuses)
	}
	if len(ids) > store.MaxConversationPage {
		fresh = true // a fresh page is cheaper than this many rows
	}
	b.mu.Lock()
	viewers := map[Viewer]bool{}
	for s := range b.subs {
		viewers[s.viewer] = true
	}
	b.mu.Unlock()
	events := map[Viewer][]byte{}
	// Viewers this update does not concern (another user's read) get
	// nothing; a stream that resumes across it re-renders a row in vain.
	skip := map[Viewer]bool{}
	for v := range viewers {
		if fresh {
			break
		}
		vids := t.forViewer(v)
		if len(vids) == 0 {
			skip[v] = true
			continue
		}
		html, err := b.rowsHTML(ctx, v, vids)
		if err == nil {
			var own string
			if own, err = b.personalHTML(ctx, v, t); err == nil {
				events[v] = AppendEvent(nil, "rows", "", html+own)
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("live list update", "err", err)
			}
			fresh = true
			break
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	pos := b.recordLocked(step{ids: ids, gap: fresh})
	shared := map[Viewer]*Update{}
	var direct []delivery
	for s := range b.subs {
		if skip[s.viewer] && !fresh {
			continue
		}
		u := shared[s.viewer]
		if u == nil {
			u = &Update{Pos: pos, Event: events[s.viewer]}
			// A viewer first seen after the rows were read has no event.
			u.Fresh = fresh || u.Event == nil
			shared[s.viewer] = u
		}
		if s.direct != nil && !u.Fresh {
			direct = append(direct, delivery{s: s, u: u})
			continue
		}
		b.queueLocked(s, u)
	}
	// Still under mu: a stream whose Sub is closed is never written to.
	for _, d := range b.writeDirect(direct) {
		d.s.direct.Queued()
		b.queueLocked(d.s, d.u)
	}
}

// delivery is one update for one stream.
type delivery struct {
	s *Sub
	u *Update
}

// writeDirect tries the direct writes of ds, spread over as many
// goroutines as Go runs at once (the writes are syscalls: one goroutine
// would use one CPU), and returns those that must be queued instead.
func (b *Broker) writeDirect(ds []delivery) []delivery {
	workers := min(runtime.GOMAXPROCS(0), len(ds)/64+1)
	per := (len(ds) + workers - 1) / workers
	failed := make([][]delivery, workers)
	var wg sync.WaitGroup
	for w := range workers {
		part := ds[min(w*per, len(ds)):min((w+1)*per, len(ds))]
		run := func() {
			for _, d := range part {
				if !d.s.direct.TryWrite(d.u) {
					failed[w] = append(failed[w], d)
				}
			}
		}
		if w == workers-1 {
			run()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
	var out []delivery
	for _, f := range failed {
		out = append(out, f...)
	}
	b.direct.Add(uint64(len(ds) - len(out)))
	return out
}

// queueLocked puts u in s's queue, or drops s when it is full.
func (b *Broker) queueLocked(s *Sub, u *Update) {
	select {
	case s.updates <- u:
	default:
		b.dropLocked(s)
	}
}

// dropLocked stops feeding a stream whose buffer is full.
func (b *Broker) dropLocked(s *Sub) {
	if s.dropped {
		return
	}
	s.dropped = true
	delete(b.subs, s)
	close(s.lagged)
	b.dropped.Add(1)
}

// rowsHTML renders the update of v's list for the changed conversations
// ids: the ones the list no longer shows are taken out, the others placed
// below their new upper neighbour, newest first, so each neighbour is
// already in place when the next row is placed below it.
func (b *Broker) rowsHTML(ctx context.Context, v Viewer, ids []int64) (string, error) {
	ctx = i18n.WithLocalizer(ctx, b.i18n.Localizer(v.Lang))
	f := v.Filter
	sf := f.Store("", 0)
	sf.Reader = v.UserID
	var rows []models.ConversationRow
	if v.mayList() {
		var err error
		if rows, err = b.store.ListedAmong(ctx, sf, ids); err != nil {
			return "", err
		}
	}
	var html bytes.Buffer
	listed := map[int64]bool{}
	for _, r := range rows {
		listed[r.ID] = true
	}
	for _, id := range ids {
		if !listed[id] {
			if err := views.RowRemoved(id).Render(ctx, &html); err != nil {
				return "", fmt.Errorf("live: render removed row: %w", err)
			}
		}
	}
	for _, r := range rows {
		above, err := b.store.ConversationAbove(ctx, sf, r)
		if err != nil {
			return "", err
		}
		if err := views.ConversationRow(views.RowView{Row: r, Filter: f, Live: true, After: above}).Render(ctx, &html); err != nil {
			return "", fmt.Errorf("live: render row: %w", err)
		}
	}
	if v.mayList() && v.UserID > 0 {
		// The total of the title and the navigation moves with the rows.
		total, err := b.store.UnreadTotal(ctx, v.UserID)
		if err != nil {
			return "", err
		}
		if err := views.UnreadTotal(total, true).Render(ctx, &html); err != nil {
			return "", fmt.Errorf("live: render unread total: %w", err)
		}
	}
	return html.String(), nil
}

// personalHTML is what v's rows event carries for v's user alone: the
// "assigned to you" notice and, when they asked for them, the new
// messages to notify (in conversations assigned to them or to nobody).
// Both are rare next to the rows, so they are read only when present.
func (b *Broker) personalHTML(ctx context.Context, v Viewer, t touched) (string, error) {
	if v.UserID == 0 || !v.mayList() {
		return "", nil
	}
	ctx = i18n.WithLocalizer(ctx, b.i18n.Localizer(v.Lang))
	var html bytes.Buffer
	if ids := t.assigned[v.UserID]; len(ids) > 0 {
		rows, err := b.store.ListedAmong(ctx, store.ConversationFilter{Reader: v.UserID}, ids)
		if err != nil {
			return "", err
		}
		if len(rows) > 0 {
			if err := views.AssignedNotice(rows, v.Filter).Render(ctx, &html); err != nil {
				return "", fmt.Errorf("live: render assigned notice: %w", err)
			}
		}
	}
	if v.Notify && len(t.incoming) > 0 {
		rows, err := b.store.ListedAmong(ctx, store.ConversationFilter{Status: store.ConversationOpen, Reader: v.UserID}, t.incoming)
		if err != nil {
			return "", err
		}
		mine := rows[:0]
		for _, r := range rows {
			if r.AssignedTo == nil || *r.AssignedTo == v.UserID {
				mine = append(mine, r)
			}
		}
		if len(mine) > 0 {
			if err := views.MessageNotify(mine, v.Filter).Render(ctx, &html); err != nil {
				return "", fmt.Errorf("live: render notification: %w", err)
			}
		}
	}
	return html.String(), nil
}

// AppendEvent appends one SSE event to buf. Every line of the payload
// becomes a data: line; CR and CRLF are folded to LF first, because a bare
// CR in hostile text would otherwise end the line and let the rest pose as
// an id: or event: field. An empty id writes no id line.
func AppendEvent(buf []byte, name, id, data string) []byte {
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, '\n')
	if id != "" {
		buf = append(buf, "id: "...)
		buf = append(buf, id...)
		buf = append(buf, '\n')
	}
	data = strings.ReplaceAll(data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	for {
		line, rest, more := strings.Cut(data, "\n")
		buf = append(buf, "data: "...)
		buf = append(buf, line...)
		buf = append(buf, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(buf, '\n')
}
