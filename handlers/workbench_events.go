package handlers

// The workbench live stream (Server-Sent Events, consumed by the htmx SSE
// extension). One connection per workbench page carries:
//
//	event: msg     new bubbles of the open conversation, in id order
//	event: status  (no id) a changed bubble (sent/failed, edited) or
//	               header, as htmx out-of-band swaps
//	event: rows    the list rows a change touched, as out-of-band swaps
//	               (views.ConversationRow, placed by the wb-rows swap)
//	event: list    a fresh first page of the list, when the stream cannot
//	               know what the page shows (first connect after changes,
//	               resume from an old position, missed changes)
//	event: reload  the stream fell behind and is closed; EventSource
//	               reconnects with its Last-Event-ID and gets a fresh list
//
// Event ids are "<message id>-<list position>" (views.StreamCursor): the
// open conversation's cursor — everything up to that message id has been
// shown — and the position of the list in live.Broker's sequence. Hub
// changes only wake the conversation part; it then re-reads the database
// from its cursor, so a dropped change costs latency, never a message. The
// single SQLite writer commits ids in order, which makes "id > cursor"
// exact, and a reconnect's Last-Event-ID resumes with no duplicates and no
// gaps. The list part is fed by live.Broker (package live).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/live"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

const (
	// sseHeartbeat keeps proxies and the browser from timing the stream out.
	sseHeartbeat = 15 * time.Second
	// sseResendOutgoing is how many recent outgoing bubbles a (re)connecting
	// stream refreshes, so sent/failed changes made while it was away show.
	sseResendOutgoing = 20
	sseBatch          = 100
	// sseWriteTimeout drops a client that stopped reading.
	sseWriteTimeout = 30 * time.Second
	// sseDeadlineRefresh is how stale the write deadline may get (write).
	sseDeadlineRefresh = 5 * time.Second
	// sseReloadRetry is the reconnect delay given with "reload": soon, but
	// not in a tight loop if the client stays slow.
	sseReloadRetry = "1000"
)

// wbStream is one live connection's state.
type wbStream struct {
	s      *Server
	c      echo.Context
	filter views.WorkbenchFilter
	conv   *models.ConversationRow // nil on the list-only page
	kw     models.Keywords
	me     int64
	// out holds the stream's position (out.cursor, out.pos: the list
	// position the browser's list reflects) and serializes its writes
	// with the broker's direct ones (handlers/sse_direct.go).
	out *streamOut
	// noteCursor is the newest private note sent (handlers/workspace_events.go).
	noteCursor int64
	rc         *http.ResponseController
	// deadlineSet is when the write deadline was last moved (write).
	deadlineSet time.Time
	buf         []byte
}

// parseStreamCursor reads "<message id>[-<list position>]"; a missing or
// unreadable part is zero.
func parseStreamCursor(v string) (msg int64, pos live.Pos, ok bool) {
	m, p, _ := strings.Cut(strings.TrimSpace(v), "-")
	msg, err := strconv.ParseInt(m, 10, 64)
	if err != nil || msg < 0 {
		return 0, live.Pos{}, false
	}
	pos, _ = live.ParsePos(p)
	return msg, pos, true
}

func (s *Server) workbenchEvents(c echo.Context) error {
	// Every event reads the state after its change, not the one the
	// stream started with.
	ctx := store.WithoutPageScope(c.Request().Context())
	c.SetRequest(c.Request().WithContext(ctx))
	st := &wbStream{s: s, c: c, filter: workbenchFilter(c), out: newStreamOut(c, &s.directPartials)}
	viewer := live.Viewer{Filter: st.filter, Lang: i18n.From(ctx).Lang()}
	if u := currentUser(c); u != nil {
		st.me, viewer.Role, viewer.UserID, viewer.Notify = u.ID, u.Role, u.ID, u.NotifyMessages
	}
	st.out.cursor, st.out.pos, _ = parseStreamCursor(c.QueryParam("after"))
	// EventSource sends Last-Event-ID when it reconnects: it wins over the
	// cursor baked into the page's URL.
	if msg, pos, ok := parseStreamCursor(c.Request().Header.Get("Last-Event-ID")); ok {
		st.out.cursor, st.out.pos = msg, pos
	}
	st.noteCursor, _ = strconv.ParseInt(c.QueryParam("note"), 10, 64)
	cid := c.Param("cid")
	if cid == "" {
		cid = c.QueryParam("cid")
	}
	var changes <-chan store.Change
	if cid != "" {
		conv, err := s.loadConversation(c, cid)
		if err != nil {
			return err
		}
		if st.kw, err = s.highlightFor(ctx, conv.ChannelID); err != nil {
			return err
		}
		st.conv = conv
		// Subscribe before the first read: a change committed in between
		// then still wakes us.
		var cancel func()
		changes, cancel = s.Store.Hub().Subscribe()
		defer cancel()
	}
	sessions, cancelSessions := s.Store.SessionHub().SubscribeSignal()
	defer cancelSessions()
	// Likewise for the list: every update after start reaches sub. The
	// stream works holding out.mu (st.locked), so the broker's direct
	// writes fall between its writes, and none before the rows of resume.
	st.out.mu.Lock()
	sub, start := s.live.SubscribeDirect(viewer, st.out.direct())
	defer st.finish(sub)
	err := func() error {
		defer st.out.mu.Unlock()
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache, no-store")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		st.rc = http.NewResponseController(c.Response())
		c.Response().WriteHeader(http.StatusOK)
		if err := st.write([]byte("retry: 3000\n: connected\n\n")); err != nil {
			return errStreamGone
		}
		st.out.ready = true // the head is out: direct chunks may follow
		if err := st.catchUp(ctx, nil, true); err != nil {
			return err
		}
		// The page (or the last event seen) shows the list at st.out.pos;
		// the updates start after start. In between: the rows changed
		// since, when the broker still knows them, else a fresh page.
		return st.resume(ctx, viewer, start)
	}()
	if errors.Is(err, errStreamGone) {
		return nil
	}
	if err != nil {
		return st.end(err)
	}
	heartbeat := s.Options.SSEHeartbeat
	if heartbeat <= 0 {
		heartbeat = sseHeartbeat
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	// The open stream is the agent's presence (store/presence.go).
	touched := time.Now()
	st.touchPresence(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.Options.Shutdown:
			return nil
		case <-sessions:
			// A sign-out, deactivation, role or password change somewhere:
			// end this stream at once if it was ours.
			drainSignals(sessions)
			if !s.streamSessionValid(c) {
				return nil
			}
		case <-beat.C:
			// The session was checked once, at connect; signing out or being
			// deactivated must also end a stream that is already open.
			if !s.streamSessionValid(c) {
				return nil
			}
			if err := st.locked(func() error { return st.write([]byte(": ping\n\n")) }); err != nil {
				return nil
			}
			if time.Since(touched) >= store.PresenceBeat {
				touched = time.Now()
				st.touchPresence(ctx)
			}
		case <-sub.Lagged():
			// Whatever was queued is dropped: the reconnect's Last-Event-ID
			// is older than the broker's position, so it gets a fresh list.
			_ = st.locked(func() error { st.tellReload(); return nil })
			return nil
		case u := <-sub.Updates():
			err := st.locked(func() error {
				batch, n := drainUpdates(u, sub.Updates())
				defer st.out.written(n)
				return st.sendUpdates(ctx, batch)
			})
			if err != nil {
				return st.end(err)
			}
		case <-st.out.kick:
			// A direct write left the rest of its chunk.
			if err := st.locked(st.out.flushPending); err != nil {
				return nil
			}
		case ch, ok := <-changes:
			if !ok {
				return nil
			}
			if err := st.locked(func() error { return st.catchUp(ctx, store.Drain(ch, changes), false) }); err != nil {
				return st.end(err)
			}
		}
	}
}

// errStreamGone: the client went away before the stream began.
var errStreamGone = errors.New("stream: client gone")

// locked runs fn holding the stream's output (see streamOut).
func (st *wbStream) locked(fn func() error) error {
	st.out.mu.Lock()
	defer st.out.mu.Unlock()
	return fn()
}

// finish ends the stream's output: no direct write can start once sub is
// closed; the rest of one is written (with a short deadline: the client
// may be gone) so the chunked body stays whole; and the per-write deadline
// (see write) must not outlive the stream on a kept-alive connection.
func (st *wbStream) finish(sub *live.Sub) {
	sub.Close()
	if st.rc == nil {
		return
	}
	st.out.mu.Lock()
	if len(st.out.pending) > 0 {
		_ = st.rc.SetWriteDeadline(time.Now().Add(time.Second))
		_ = st.out.flushPending()
	}
	st.out.mu.Unlock()
	_ = st.rc.SetWriteDeadline(time.Time{})
}

// drainUpdates collects the list updates already queued: they are written
// in one go, and everything before the last fresh page is skipped. n is
// how many were taken from ch, first included.
func drainUpdates(first *live.Update, ch <-chan *live.Update) (batch []*live.Update, n int) {
	batch = []*live.Update{first}
	for n = 1; ; n++ {
		select {
		case u := <-ch:
			if u.Fresh {
				batch = batch[:0]
			}
			batch = append(batch, u)
		default:
			return batch, n
		}
	}
}

// sendUpdates writes queued list updates: shared "rows" events, each with
// this stream's id, or a fresh page.
func (st *wbStream) sendUpdates(ctx context.Context, batch []*live.Update) error {
	st.buf = st.buf[:0]
	for _, u := range batch {
		if u.Fresh {
			if err := st.sendList(ctx, u.Pos); err != nil {
				return err
			}
			continue
		}
		st.buf = st.out.appendUpdate(st.buf, u)
	}
	if len(st.buf) == 0 {
		return nil
	}
	return st.write(st.buf)
}

// resume brings the browser's list from st.out.pos to start.
func (st *wbStream) resume(ctx context.Context, v live.Viewer, start live.Pos) error {
	if st.out.pos == start {
		return nil
	}
	ids, ok := st.s.live.ChangedBetween(st.out.pos, start)
	if !ok {
		return st.sendList(ctx, start)
	}
	st.out.pos = start
	if len(ids) == 0 {
		return nil
	}
	ev, err := st.s.live.RowsEvent(ctx, v, ids)
	if err != nil {
		return err
	}
	return st.sendUpdates(ctx, []*live.Update{{Pos: start, Event: ev}})
}

// tellReload is the last word to a stream that fell behind. A short
// deadline: the client is slow by definition.
func (st *wbStream) tellReload() {
	_ = st.rc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = st.out.writeThrough(st.c.Response(), []byte("retry: "+sseReloadRetry+"\nevent: reload\ndata: \n\n"))
}

// end logs a failure inside an open stream; the response is committed, so
// the error page cannot be shown: the browser reconnects instead.
func (st *wbStream) end(err error) error {
	if st.c.Request().Context().Err() == nil {
		st.s.Log.WarnContext(st.c.Request().Context(), "workbench stream", "err", err)
	}
	return nil
}

// catchUp sends the open conversation's messages after the cursor, then the
// bubbles and header that changed in place. initial also refreshes recent
// outgoing bubbles (their status may have changed since the page rendered).
func (st *wbStream) catchUp(ctx context.Context, batch []store.Change, initial bool) error {
	if st.conv == nil {
		return nil // the list-only page: sendList moves its cursor
	}
	upto, err := st.s.Store.LatestMessageID(ctx)
	if err != nil {
		return err
	}
	old := st.out.cursor
	conv := &st.conv.Conversation
	sawIncoming := false
	for {
		rows, err := st.s.Store.ConversationMessagesAfter(ctx, conv, st.out.cursor, upto, sseBatch)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		mvs, err := st.s.messageViews(ctx, conv, rows, st.kw)
		if err != nil {
			return err
		}
		for _, mv := range mvs {
			if err := st.event("msg", views.StreamCursor(mv.Msg.ID, st.out.pos.String()), views.Message(mv)); err != nil {
				return err
			}
			st.out.cursor = mv.Msg.ID
			sawIncoming = sawIncoming || mv.Msg.Direction == "in"
		}
		if len(rows) < sseBatch {
			break
		}
	}
	// Every message of this chat up to upto has now been sent.
	st.out.cursor = max(st.out.cursor, upto)
	if err := st.sendNotes(ctx, batch); err != nil {
		return err
	}

	// Bubbles already on screen that changed: status updates and edits.
	var changed []int64
	seen := map[int64]bool{}
	// A resync (changes from other instances were lost) re-reads what a
	// (re)connect reads: the recent outgoing bubbles and the header.
	resync := false
	headChanged := false
	for _, ch := range batch {
		resync = resync || ch.Kind == store.ResyncChange
		if ch.ConversationID == conv.ID && ch.Kind == "conversation" || ch.Kind == store.ResyncChange {
			headChanged = true
		}
		if ch.MessageID > 0 && ch.MessageID <= old && !seen[ch.MessageID] {
			seen[ch.MessageID] = true
			changed = append(changed, ch.MessageID)
		}
	}
	var rows []models.MessageRow
	if (initial || resync) && old > 0 {
		if rows, err = st.s.Store.RecentOutgoing(ctx, conv, old, sseResendOutgoing); err != nil {
			return err
		}
	}
	for _, id := range changed {
		r, err := st.s.Store.MessageRowByID(ctx, id)
		if err != nil {
			continue // deleted meanwhile
		}
		if r.ChannelID == conv.ChannelID && r.ConversationKey() == conv.Key() {
			rows = append(rows, *r)
		}
	}
	if len(rows) > 0 {
		mvs, err := st.s.messageViews(ctx, conv, rows, st.kw)
		if err != nil {
			return err
		}
		for _, mv := range mvs {
			mv.OOB = true
			if err := st.event("status", "", views.Message(mv)); err != nil {
				return err
			}
		}
	}
	if sawIncoming {
		// The agent is looking at it: nothing here is unread.
		if err := st.s.Store.MarkConversationRead(ctx, st.me, conv.ID); err != nil {
			return err
		}
	}
	if headChanged {
		fresh, err := st.s.Store.Conversation(ctx, conv.ID)
		if err != nil {
			return err
		}
		prev := st.conv
		st.conv = fresh
		// Unread resets also announce a change; re-render (and steal the
		// agent's focus from) the header only when what it shows changed.
		if fresh.Status != prev.Status || fresh.Title != prev.Title || !sameUser(fresh.AssignedTo, prev.AssignedTo) {
			cv := views.ConversationView{Conv: *fresh, Filter: st.filter, CSRF: csrfToken(st.c), Me: st.me, HeadOOB: true}
			if err := st.event("status", "", views.ConversationHead(cv)); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendList sends a fresh first page of the list as of pos.
func (st *wbStream) sendList(ctx context.Context, pos live.Pos) error {
	var current int64
	if st.conv != nil {
		current = st.conv.ID
	}
	list, err := st.s.listItems(ctx, st.filter, st.me, "", current)
	if err != nil {
		return err
	}
	st.out.pos = pos
	return st.event("list", views.StreamCursor(st.out.cursor, pos.String()), templ.Raw(list.HTML))
}

// event writes one SSE event (see live.AppendEvent); an empty id writes
// no id line.
func (st *wbStream) event(name, id string, comp templ.Component) error {
	html, err := renderString(st.c.Request().Context(), name+" event", comp)
	if err != nil {
		return err
	}
	return st.write(live.AppendEvent(nil, name, id, html))
}

func (st *wbStream) write(b []byte) error {
	// A deadline moved along with the writes instead of the server's
	// WriteTimeout: the stream lives for hours, but a client that stops
	// reading must not pin this goroutine (and delay shutdown) forever.
	// Moved at most once per sseDeadlineRefresh, since at hundreds of
	// streams and messages a second the call was 5 % of the server's
	// CPU: a stalled client is dropped after 25 to 30 s.
	if now := time.Now(); now.Sub(st.deadlineSet) >= sseDeadlineRefresh {
		st.deadlineSet = now
		_ = st.rc.SetWriteDeadline(now.Add(sseWriteTimeout))
	}
	if err := st.out.writeThrough(st.c.Response(), b); err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	return nil
}

// touchPresence records the stream's heartbeat; a failure only delays
// the agent's availability, so the stream goes on.
func (st *wbStream) touchPresence(ctx context.Context) {
	if st.me == 0 {
		return
	}
	if err := st.s.Store.TouchPresence(ctx, st.me); err != nil && ctx.Err() == nil {
		st.s.Log.WarnContext(ctx, "workbench stream: presence", "err", err)
	}
}

func sameUser(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// streamSessionValid re-checks the session of a live stream: it ends when
// the session ended (logout, sign out everywhere, password change), the
// user was deactivated or their role changed (the page reloads with what
// the new role may see). A database error keeps the stream (a hiccup
// should not drop every agent's view); the next check tries again.
func (s *Server) streamSessionValid(c echo.Context) bool {
	v := readCookie(c, sessionCookie)
	if v == "" {
		return false
	}
	role, ok, err := s.Store.SessionCheck(c.Request().Context(), v)
	if err != nil {
		s.Log.WarnContext(c.Request().Context(), "workbench stream: session check", "err", err)
		return true
	}
	return ok && role == currentRole(c)
}

// drainSignals empties a channel of queued announcements: one re-check
// covers them all.
func drainSignals(ch <-chan store.Change) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}
