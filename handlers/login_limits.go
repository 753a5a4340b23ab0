package handlers

// Limits on the sign-in path: argon2id takes 64 MiB and a few tens of
// milliseconds per attempt, so unbounded parallel logins exhaust memory.
// At most Options.LoginConcurrency hashes run at once; a sign-in that
// finds every slot taken is told to retry at once (429 + Retry-After)
// rather than queue, so a flood costs neither memory nor waiting sockets.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Sign-in input bounds, checked before anything is written or hashed.
const (
	maxEmailBytes    = 254 // RFC 5321 path limit
	maxPasswordBytes = 1024
)

// tryHashSlot takes a hashing slot if one is free; release gives it back.
func (s *Server) tryHashSlot() (release func(), ok bool) {
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, true
	default:
		return nil, false
	}
}

// retryAfter sets Retry-After to d rounded up to whole seconds (at least 1).
func retryAfter(c echo.Context, d time.Duration) int {
	secs := max(int((d+time.Second-1)/time.Second), 1)
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return secs
}

// writeSecurityMetrics adds the counters of the sign-in and API limits to
// /metrics.
func (s *Server) writeSecurityMetrics(_ context.Context, w io.Writer) {
	fmt.Fprintf(w, "# HELP botdesk_login_throttled_total Sign-ins refused because of throttling or busy password hashing.\n# TYPE botdesk_login_throttled_total counter\nbotdesk_login_throttled_total %d\n", s.loginThrottled.Load())
	key, ip := s.apiLimits.limitedKey.Load(), s.apiLimits.limitedIP.Load()
	fmt.Fprintf(w, "# HELP botdesk_api_rate_limited_total API requests refused with 429 rate_limited, by bucket.\n# TYPE botdesk_api_rate_limited_total counter\nbotdesk_api_rate_limited_total{scope=\"key\"} %d\nbotdesk_api_rate_limited_total{scope=\"ip\"} %d\n", key, ip)
	fmt.Fprintf(w, "# HELP botdesk_login_hash_slots Concurrent password hashes allowed.\n# TYPE botdesk_login_hash_slots gauge\nbotdesk_login_hash_slots %d\n", cap(s.hashSlots))
}
