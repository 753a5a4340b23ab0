package handlers

// The workbench live stream (Server-Sent Events, consumed by the htmx SSE
// extension). One connection per workbench page carries:
//
//	event: msg     id: <message id>  new bubbles of the open conversation, in id order
//	event: status  (no id)           a changed bubble (sent/failed, edited) or
//	                                 header, as htmx out-of-band swaps
//	event: list    id: <cursor>      the first page of the conversation list
//
// The cursor is a message id: everything up to it has been shown. Hub
// changes only wake the stream; it then re-reads the database from its
// cursor, so a dropped change costs latency, never a message. The single
// SQLite writer commits ids in order, which makes "id > cursor" exact, and
// a reconnect's Last-Event-ID resumes with no duplicates and no gaps.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

const (
	// sseHeartbeat keeps proxies and the browser from timing the stream out.
	sseHeartbeat = 15 * time.Second
	// sseListGap coalesces list re-renders during an ingest burst.
	sseListGap = 250 * time.Millisecond
	// sseResendOutgoing is how many recent outgoing bubbles a (re)connecting
	// stream refreshes, so sent/failed changes made while it was away show.
	sseResendOutgoing = 20
	sseBatch          = 100
	// sseWriteTimeout drops a client that stopped reading.
	sseWriteTimeout = 30 * time.Second
)

// wbStream is one live connection's state.
type wbStream struct {
	s      *Server
	c      echo.Context
	filter views.WorkbenchFilter
	conv   *store.ConversationRow // nil on the list-only page
	kw     models.Keywords
	me     int64
	cursor int64
	rc     *http.ResponseController
}

func (s *Server) workbenchEvents(c echo.Context) error {
	ctx := c.Request().Context()
	st := &wbStream{s: s, c: c, filter: workbenchFilter(c)}
	if u := currentUser(c); u != nil {
		st.me = u.ID
	}
	st.cursor, _ = strconv.ParseInt(c.QueryParam("after"), 10, 64)
	// EventSource sends Last-Event-ID when it reconnects: it wins over the
	// cursor baked into the page's URL.
	if last, err := strconv.ParseInt(strings.TrimSpace(c.Request().Header.Get("Last-Event-ID")), 10, 64); err == nil && last >= 0 {
		st.cursor = last
	}
	st.cursor = max(st.cursor, 0)
	cid := c.Param("cid")
	if cid == "" {
		cid = c.QueryParam("cid")
	}
	if cid != "" {
		conv, err := s.loadConversation(c, cid)
		if err != nil {
			return err
		}
		if st.kw, err = s.highlightFor(ctx, conv.ChannelID); err != nil {
			return err
		}
		st.conv = conv
	}

	// Subscribe before the first read: a change committed in between then
	// still wakes us.
	changes, cancel := s.Store.Hub().Subscribe()
	defer cancel()

	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	st.rc = http.NewResponseController(c.Response())
	// Per-write deadlines (see write) must not outlive the stream on a
	// kept-alive connection.
	defer func() { _ = st.rc.SetWriteDeadline(time.Time{}) }()
	c.Response().WriteHeader(http.StatusOK)
	if err := st.write("retry: 3000\n: connected\n\n"); err != nil {
		return nil
	}

	if err := st.catchUp(ctx, nil, true); err != nil {
		return st.end(err)
	}
	if err := st.sendList(ctx); err != nil {
		return st.end(err)
	}
	heartbeat := s.Options.SSEHeartbeat
	if heartbeat <= 0 {
		heartbeat = sseHeartbeat
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	var (
		listTimer   <-chan time.Time
		listPending bool
		lastList    = time.Now()
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.Options.Shutdown:
			return nil
		case <-beat.C:
			// The session was checked once, at connect; signing out or being
			// deactivated must also end a stream that is already open.
			if !s.streamSessionValid(c) {
				return nil
			}
			if err := st.write(": ping\n\n"); err != nil {
				return nil
			}
		case <-listTimer:
			listTimer = nil
			if listPending {
				listPending = false
				lastList = time.Now()
				if err := st.sendList(ctx); err != nil {
					return st.end(err)
				}
			}
		case ch, ok := <-changes:
			if !ok {
				return nil
			}
			batch := drain(ch, changes)
			if err := st.catchUp(ctx, batch, false); err != nil {
				return st.end(err)
			}
			listPending = true
			if listTimer == nil {
				wait := sseListGap - time.Since(lastList)
				if wait < 0 {
					wait = 0
				}
				listTimer = time.After(wait)
			}
		}
	}
}

// drain collects every change already queued, so a burst is one re-read.
func drain(first store.Change, ch <-chan store.Change) []store.Change {
	batch := []store.Change{first}
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, c)
		default:
			return batch
		}
	}
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
	old := st.cursor
	conv := &st.conv.Conversation
	sawIncoming := false
	for {
		rows, err := st.s.Store.ConversationMessagesAfter(ctx, conv, st.cursor, upto, sseBatch)
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
			if err := st.event("msg", mv.Msg.ID, views.Message(mv)); err != nil {
				return err
			}
			st.cursor = mv.Msg.ID
			sawIncoming = sawIncoming || mv.Msg.Direction == "in"
		}
		if len(rows) < sseBatch {
			break
		}
	}
	// Every message of this chat up to upto has now been sent.
	st.cursor = max(st.cursor, upto)

	// Bubbles already on screen that changed: status updates and edits.
	var changed []int64
	seen := map[int64]bool{}
	headChanged := false
	for _, ch := range batch {
		if ch.ConversationID == conv.ID && ch.Kind == "conversation" {
			headChanged = true
		}
		if ch.MessageID > 0 && ch.MessageID <= old && !seen[ch.MessageID] {
			seen[ch.MessageID] = true
			changed = append(changed, ch.MessageID)
		}
	}
	var rows []store.MessageRow
	if initial && old > 0 {
		if rows, err = st.s.Store.RecentOutgoing(ctx, conv, old, sseResendOutgoing); err != nil {
			return err
		}
	}
	for _, id := range changed {
		r, err := st.s.Store.MessageRowByID(ctx, id)
		if err != nil {
			continue // deleted meanwhile
		}
		if r.ChannelID == conv.ChannelID && r.ChatID == conv.ChatID {
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
			if err := st.event("status", 0, views.Message(mv)); err != nil {
				return err
			}
		}
	}
	if sawIncoming {
		// The agent is looking at it: nothing here is unread.
		if err := st.s.Store.MarkConversationRead(ctx, conv.ID); err != nil {
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
			if err := st.event("status", 0, views.ConversationHead(cv)); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendList re-renders the first page of the list. With no conversation
// open its id is the newest message id it reflects.
func (st *wbStream) sendList(ctx context.Context) error {
	if st.conv == nil {
		upto, err := st.s.Store.LatestMessageID(ctx)
		if err != nil {
			return err
		}
		st.cursor = max(st.cursor, upto)
	}
	var current int64
	if st.conv != nil {
		current = st.conv.ID
	}
	list, err := st.s.listItems(ctx, st.filter, "", current)
	if err != nil {
		return err
	}
	return st.event("list", st.cursor, templ.Raw(list.HTML))
}

// event writes one SSE event. Every line of the payload becomes a data:
// line; CR and CRLF are folded to LF first, because a bare CR in hostile
// text would otherwise end the line and let the rest pose as an id: or
// event: field.
func (st *wbStream) event(name string, id int64, comp templ.Component) error {
	html, err := renderString(st.c.Request().Context(), name+" event", comp)
	if err != nil {
		return err
	}
	data := strings.ReplaceAll(html, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	if id > 0 {
		b.WriteString("id: " + strconv.FormatInt(id, 10) + "\n")
	}
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return st.write(b.String())
}

func (st *wbStream) write(s string) error {
	// A deadline per write instead of the server's WriteTimeout: the
	// stream lives for hours, but a client that stops reading must not
	// pin this goroutine (and delay shutdown) forever.
	_ = st.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := st.c.Response().Write([]byte(s)); err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	st.c.Response().Flush()
	return nil
}

func sameUser(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// streamSessionValid re-checks the session of a live stream. A database
// error keeps the stream (a hiccup should not drop every agent's view);
// the next heartbeat checks again.
func (s *Server) streamSessionValid(c echo.Context) bool {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return false
	}
	ok, err := s.Store.SessionValid(c.Request().Context(), ck.Value)
	if err != nil {
		s.Log.WarnContext(c.Request().Context(), "workbench stream: session check", "err", err)
		return true
	}
	return ok
}
