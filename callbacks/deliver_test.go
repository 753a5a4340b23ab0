package callbacks

import (
	"github.com/botdesk/botdesk/models"

	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// receiver is what a business would run: it checks the signature with the
// reference implementation (not with Sign or Verify) and records the request.
type receiver struct {
	t      *testing.T
	secret string
	status int
	reply  string
	got    atomic.Pointer[http.Request]
	body   atomic.Pointer[[]byte]
	valid  atomic.Bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.got.Store(r)
	rc.body.Store(&body)
	want := refSign(rc.t, rc.secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
	rc.valid.Store(r.Header.Get("webhook-signature") == want)
	w.WriteHeader(rc.status)
	io.WriteString(w, rc.reply)
}

func TestDeliverSignedRequest(t *testing.T) {
	secret, _ := NewSecret()
	rc := &receiver{t: t, secret: secret, status: http.StatusNoContent}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)

	ev := MOEvent{MessageID: "msg_1", ChannelID: "tg-abcdefghij", ChatID: 7, ChatType: "private",
		From: &Sender{ID: 7, DisplayName: "Ann"}, MessageType: models.MessageText, Text: "hello", Timestamp: 1, UpdateID: 2}
	body, _ := json.Marshal(ev)
	now := time.Unix(1_718_000_000, 0)
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 2 * time.Second})
	res := Deliver(context.Background(), c, srv.URL+"/hook", secret, "evt_123", body, now)

	if res.Err != nil || res.StatusCode != 204 || res.Outcome != OutcomeSuccess {
		t.Fatalf("result %+v", res)
	}
	if res.Latency <= 0 {
		t.Error("latency not measured")
	}
	r := rc.got.Load()
	if r == nil {
		t.Fatal("receiver not called")
	}
	if !rc.valid.Load() {
		t.Error("signature does not verify with the reference implementation")
	}
	if r.Method != http.MethodPost || r.URL.Path != "/hook" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if id := r.Header.Get("webhook-id"); id != "evt_123" {
		t.Errorf("webhook-id %q", id)
	}
	if ts := r.Header.Get("webhook-timestamp"); ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("webhook-timestamp %q", ts)
	}
	if got := *rc.body.Load(); string(got) != string(body) {
		t.Errorf("body %s", got)
	}
	// And the package's own Verify accepts what was sent.
	if err := Verify(secret, r.Header, body, 0, now); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestDeliverOutcomes(t *testing.T) {
	secret, _ := NewSecret()
	long := strings.Repeat("é", 300) // 600 bytes, multi-byte runes across the cut
	tests := []struct {
		name    string
		status  int
		reply   string
		outcome Outcome
	}{
		{"ok", 200, `{"ok":true}`, OutcomeSuccess},
		{"gone", 410, "endpoint removed", OutcomeDisable},
		{"server error", 500, long, OutcomeRetry},
		{"not found", 404, "", OutcomeRetry},
	}
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 2 * time.Second})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&receiver{t: t, secret: secret, status: tt.status, reply: tt.reply})
			t.Cleanup(srv.Close)
			res := Deliver(context.Background(), c, srv.URL, secret, "evt_1", []byte(`{}`), time.Now())
			if res.Err != nil || res.StatusCode != tt.status || res.Outcome != tt.outcome {
				t.Fatalf("result %+v", res)
			}
			if len(res.ResponseSnippet) > SnippetBytes || !utf8.ValidString(res.ResponseSnippet) {
				t.Fatalf("snippet %d bytes, valid %v", len(res.ResponseSnippet), utf8.ValidString(res.ResponseSnippet))
			}
			if !strings.HasPrefix(tt.reply, res.ResponseSnippet) || (len(tt.reply) <= SnippetBytes && res.ResponseSnippet != tt.reply) {
				t.Fatalf("snippet %q", res.ResponseSnippet)
			}
		})
	}
}

func TestDeliverRedirectIsFailure(t *testing.T) {
	secret, _ := NewSecret()
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redir.Close)
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 2 * time.Second})
	res := Deliver(context.Background(), c, redir.URL, secret, "evt_1", []byte(`{}`), time.Now())
	if res.StatusCode != http.StatusTemporaryRedirect || res.Outcome != OutcomeRetry {
		t.Fatalf("result %+v", res)
	}
	if hits.Load() != 0 {
		t.Fatal("redirect was followed")
	}
}

func TestDeliverTimeout(t *testing.T) {
	secret, _ := NewSecret()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 150 * time.Millisecond})
	start := time.Now()
	res := Deliver(context.Background(), c, srv.URL+"/?token=s3cr3t-query", secret, "evt_1", []byte(`{}`), time.Now())
	if res.Err == nil || res.Outcome != OutcomeRetry || res.StatusCode != 0 {
		t.Fatalf("result %+v", res)
	}
	if !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", res.Err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("timeout not honoured")
	}
	if msg := res.Err.Error(); strings.Contains(msg, "s3cr3t-query") || strings.Contains(msg, secret) {
		t.Errorf("error leaks the query or secret: %s", msg)
	}
	// Unwrapping must not reveal the URL either.
	for e := errors.Unwrap(res.Err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "s3cr3t-query") {
			t.Errorf("wrapped error leaks the query: %s", e)
		}
	}
}

func TestDeliverHugeResponseNotFullyRead(t *testing.T) {
	secret, _ := NewSecret()
	var written atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		chunk := []byte(strings.Repeat("A", 32<<10))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	// The body never ends: if Deliver tried to read it all, it would hit
	// the timeout and report an error.
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 5 * time.Second})
	res := Deliver(context.Background(), c, srv.URL, secret, "evt_1", []byte(`{}`), time.Now())
	if res.Err != nil || res.StatusCode != 200 || res.Outcome != OutcomeSuccess {
		t.Fatalf("result %+v", res)
	}
	if len(res.ResponseSnippet) != SnippetBytes {
		t.Fatalf("snippet %d bytes", len(res.ResponseSnippet))
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("server kept writing: connection not closed")
	}
	t.Logf("server wrote %d KiB before the client hung up", written.Load()>>10)
}

func TestDeliverRefusedTarget(t *testing.T) {
	secret, _ := NewSecret()
	// The spy dialer makes sure a regression cannot send a packet to the
	// metadata address; it only ever dials loopback.
	spy := &spyDial{t: t}
	c := newHTTPClient(Policy{Timeout: time.Second}, nil, spy.dial)
	res := Deliver(context.Background(), c, "https://169.254.169.254/latest/meta-data/", secret, "evt_1", []byte(`{}`), time.Now())
	if !errors.Is(res.Err, ErrBlockedAddress) || res.Outcome != OutcomeRetry {
		t.Fatalf("result %+v", res)
	}
	res = Deliver(context.Background(), c, "http://127.0.0.1:1/", secret, "evt_1", []byte(`{}`), time.Now())
	if !errors.Is(res.Err, ErrURLScheme) {
		t.Fatalf("http without AllowPrivate: %+v", res)
	}
}

func TestDeliverBadSecret(t *testing.T) {
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: time.Second})
	res := Deliver(context.Background(), c, "http://127.0.0.1:1/", "whsec_!!leak!!", "evt_1", []byte(`{}`), time.Now())
	if !errors.Is(res.Err, ErrInvalidSecret) || strings.Contains(res.Err.Error(), "leak") {
		t.Fatalf("result %+v", res)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://h.example/p?token=abc#frag": "https://h.example/p?…",
		"https://u:pw@h.example:8443/p":      "https://h.example:8443/p",
		"https://h.example/p":                "https://h.example/p",
		"://bad":                             "(invalid URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
