package handlers

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/live"
	"github.com/botdesk/botdesk/views"
)

// Direct list updates (live.Direct). With hundreds of agents watching,
// every message used to wake hundreds of stream goroutines at once, each
// to write one small event; while they queued for the two CPUs, the
// poller's next answer and the next ingest waited behind them. The
// broker now writes a list update into a stream's connection itself when
// the stream is idle: one goroutine, one non-blocking write syscall per
// stream. Anything it cannot finish at once (a full socket buffer: a
// slow client) is left to the stream's goroutine, which owns everything
// else (its other events, heartbeats, blocking writes with a deadline).
//
// The stream's goroutine holds mu whenever it works (everything between
// two waits of its loop), so a direct write only happens between two of
// its writes, at a chunk boundary of the HTTP/1.1 chunked body: the
// direct write frames its own chunk. It is used only on a plain TCP
// connection carrying HTTP/1.1 (not TLS, not HTTP/1.0).

// connKey carries the request's connection (ConnContext).
type connKey struct{}

// ConnContext is the http.Server hook that gives handlers the connection
// a request came on (for direct list updates).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// streamOut is one stream's output, shared by its goroutine and the
// broker's direct writes.
type streamOut struct {
	mu sync.Mutex
	// raw is the connection for direct writes; nil: none.
	raw  syscall.RawConn
	conn net.Conn
	// pending is the rest of a chunk a direct write could not finish; the
	// stream's goroutine writes it before anything else (kick wakes it).
	pending []byte
	kick    chan struct{}
	broken  bool
	// ready: the response head is written (direct chunks may follow it).
	ready bool
	// queued counts updates sent to the stream's queue and not yet
	// written: a direct write must not overtake them.
	queued atomic.Int64
	// cursor and pos are the stream's position (wbStream): the id of a
	// direct write, and moved by it.
	cursor int64
	pos    live.Pos
	// event and frame are TryWrite's buffers, kept between writes.
	event, frame []byte
	// partials counts writes the socket took in part (Server).
	partials *atomic.Uint64
}

// newStreamOut prepares c's direct writes when its connection allows them.
func newStreamOut(c echo.Context, partials *atomic.Uint64) *streamOut {
	o := &streamOut{kick: make(chan struct{}, 1), partials: partials}
	req := c.Request()
	conn, _ := req.Context().Value(connKey{}).(net.Conn)
	sc, ok := conn.(syscall.Conn)
	if !ok || req.TLS != nil || req.ProtoMajor != 1 || req.ProtoMinor < 1 {
		return o
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return o
	}
	o.raw, o.conn = raw, conn
	return o
}

// direct is o as a live.Direct, or nil when it cannot write directly.
func (o *streamOut) direct() live.Direct {
	if o.raw == nil {
		return nil
	}
	return o
}

// TryWrite implements live.Direct.
func (o *streamOut) TryWrite(u *live.Update) bool {
	if u.Fresh || u.Event == nil || !o.mu.TryLock() {
		return false
	}
	defer o.mu.Unlock()
	if !o.ready || o.broken || len(o.pending) > 0 || o.queued.Load() > 0 {
		return false
	}
	// One chunk of the chunked body: size, CRLF, the event, CRLF.
	o.event = o.appendUpdate(o.event[:0], u)
	f := strconv.AppendInt(o.frame[:0], int64(len(o.event)), 16)
	f = append(f, "\r\n"...)
	f = append(f, o.event...)
	f = append(f, "\r\n"...)
	o.frame = f
	var n int
	var werr error
	err := o.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), f)
		return true // one attempt: never wait here
	})
	if err == nil {
		err = werr
	}
	n = max(n, 0)
	switch {
	case err != nil && !errors.Is(err, syscall.EAGAIN):
		o.broken = true // the stream's goroutine sees the closed connection
	case n < len(f):
		o.partials.Add(1)
		o.pending = append(o.pending[:0], f[n:]...)
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// appendUpdate appends u to buf as this stream's rows event: the id line
// (the stream's cursor and u's position), then the bytes every stream of
// the viewer shares; the stream is then at u's position.
func (o *streamOut) appendUpdate(buf []byte, u *live.Update) []byte {
	o.pos = u.Pos
	buf = append(buf, "id: "...)
	buf = append(buf, views.StreamCursor(o.cursor, u.Pos.String())...)
	buf = append(buf, '\n')
	return append(buf, u.Event...)
}

// Queued implements live.Direct.
func (o *streamOut) Queued() { o.queued.Add(1) }

// written is called (with mu held) once k queued updates were written.
func (o *streamOut) written(k int) { o.queued.Add(-int64(k)) }

// flushPending finishes a chunk a direct write left (mu held), blocking
// up to the write deadline.
func (o *streamOut) flushPending() error {
	if o.broken {
		return errors.New("write event: connection broken")
	}
	for len(o.pending) > 0 {
		n, err := o.conn.Write(o.pending)
		o.pending = o.pending[n:]
		if err != nil {
			o.broken = true
			return err
		}
	}
	return nil
}

// writeThrough writes b through the response (mu held): the rest of a
// direct write first.
func (o *streamOut) writeThrough(w *echo.Response, b []byte) error {
	if err := o.flushPending(); err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	w.Flush()
	return nil
}
