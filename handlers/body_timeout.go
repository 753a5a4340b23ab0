package handlers

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// defaultBodyReadTimeout bounds how long a client may take to send a
// request body: a client trickling one byte every few seconds would
// otherwise hold a connection and a goroutine for as long as it likes.
const defaultBodyReadTimeout = 30 * time.Second

// bodyReadTimeout puts a read deadline on requests that carry a body and
// lifts it once the body is read, so the response (a long poll, a
// download) is not cut short. Requests without a body, the event streams
// among them, are left alone; http.Server.ReadHeaderTimeout bounds their
// headers.
func (s *Server) bodyReadTimeout(next echo.HandlerFunc) echo.HandlerFunc {
	d := s.Options.BodyReadTimeout
	if d <= 0 {
		d = defaultBodyReadTimeout
	}
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			return next(c)
		}
		rc := http.NewResponseController(c.Response())
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			return next(c) // not a real connection (tests with a recorder)
		}
		b := &deadlineBody{ReadCloser: r.Body, done: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		r.Body = b
		err := next(c)
		if b.timedOut && !c.Response().Committed {
			// The timed-out read cancelled the request's context, so no
			// page can be rendered: a bare 408, and the connection closes.
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return c.NoContent(http.StatusRequestTimeout)
		}
		return err
	}
}

// deadlineBody lifts the read deadline at the end of the body (only
// there: a body left half-read is discarded by the server under the
// deadline, so a trickling client cannot hold the connection that way).
type deadlineBody struct {
	io.ReadCloser
	done     func()
	finished bool
	timedOut bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.finish()
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut = true
	}
	return n, err
}

func (b *deadlineBody) finish() {
	if !b.finished && !b.timedOut {
		b.finished = true
		b.done()
	}
}
