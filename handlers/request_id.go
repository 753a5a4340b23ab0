package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/logctx"
)

// saneRequestID is what an incoming X-Request-Id may look like to be
// reused: short, and nothing that could forge a log line or a header.
var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// requestID gives every request an id, carried in its context (so each log
// line of the request has request_id, logctx) and sent back as
// X-Request-Id. An incoming id is reused only when trustRequestID says the
// peer is a proxy we trust; anyone else could choose ids to confuse logs.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if id == "" || !saneRequestID.MatchString(id) || !s.trustRequestID(req) {
			id = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(req.WithContext(logctx.WithRequestID(req.Context(), id)))
		return next(c)
	}
}

// trustRequestID reports whether the socket peer may name the request id.
func (s *Server) trustRequestID(r *http.Request) bool {
	return s.Options.TrustProxy != nil && s.Options.TrustProxy(r.RemoteAddr)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}
