package telegramtest

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"
	"time"

	ta "github.com/mymmrac/telego/telegoapi"
)

// Fault describes how the next matching calls misbehave. Fields combine: a
// Delay is served first, then either the connection is dropped or, if Status
// is set, an error answer is sent; with neither, the call proceeds normally
// after the delay (a one-off slow call).
type Fault struct {
	// Status is the HTTP status and error_code, e.g. 401, 409, 429, 500.
	Status int
	// Description overrides the Telegram description for Status. For 409 the
	// default is DescConflictPolling; use DescConflictWebhook for the other
	// kind.
	Description string
	// RetryAfter is the retry_after parameter in seconds for 429 (default 1).
	RetryAfter int
	// Delay holds the answer back, honouring client cancellation.
	Delay time.Duration
	// DropConnection closes the TCP connection without any answer, which a
	// client sees as a network error.
	DropConnection bool
	// Times is how many calls the fault applies to (default 1).
	Times int
}

type faultRule struct {
	botID  int64  // 0: match by token
	token  string // "": match by bot id
	method string // lower-cased; "": any method
	fault  Fault
	left   int
}

// FailNext makes the bot's next Fault.Times calls of method (case-insensitive,
// "" for any) fail as described. Rules are consumed in the order they were
// added.
func (s *Server) FailNext(botID int64, method string, f Fault) {
	s.addFault(&faultRule{botID: botID, method: strings.ToLower(method), fault: f})
}

// FailNextToken is FailNext for calls made with one particular token, so a
// test can break the old token of a bot while its new one keeps working.
func (s *Server) FailNextToken(token, method string, f Fault) {
	s.addFault(&faultRule{token: token, method: strings.ToLower(method), fault: f})
}

func (s *Server) addFault(r *faultRule) {
	r.left = max(r.fault.Times, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, r)
}

// ClearFaults drops every pending fault rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLatency delays every later request by d (0 turns slow mode off), to
// exercise timeouts and spinners against a sluggish Telegram.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// takeFault consumes one use of the first matching rule; s.mu must be held.
func (s *Server) takeFault(botID int64, token, method string) *Fault {
	for i, r := range s.faults {
		if r.method != "" && r.method != method {
			continue
		}
		if (r.token != "" && r.token != token) || (r.token == "" && r.botID != botID) {
			continue
		}
		r.left--
		if r.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		f := r.fault
		return &f
	}
	return nil
}

// applyFault acts out f and reports whether the request has been answered.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if !sleepCtx(r, s.closed, f.Delay) {
		return true
	}
	if f.DropConnection {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
			return true
		}
		// HTTP/2 cannot be hijacked; aborting the handler resets the stream,
		// which the client also sees as a transport failure.
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return false
	}
	desc := f.Description
	var params *ta.ResponseParameters
	switch f.Status {
	case http.StatusUnauthorized:
		desc = cmp.Or(desc, DescUnauthorized)
	case http.StatusNotFound:
		desc = cmp.Or(desc, DescNotFound)
	case http.StatusConflict:
		desc = cmp.Or(desc, DescConflictPolling)
	case http.StatusTooManyRequests:
		after := max(f.RetryAfter, 1)
		desc = cmp.Or(desc, "Too Many Requests: retry after "+strconv.Itoa(after))
		params = &ta.ResponseParameters{RetryAfter: after}
	case http.StatusBadGateway:
		desc = cmp.Or(desc, DescBadGateway)
	default:
		desc = cmp.Or(desc, http.StatusText(f.Status))
	}
	writeError(w, f.Status, desc, params)
	return true
}
