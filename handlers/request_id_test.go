package handlers

import (
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRequestIDHeaderAndLogLines(t *testing.T) {
	t.Parallel()
	var trusted atomic.Bool
	env := newTestEnvWith(t, func(d *Deps) {
		d.Options.TrustProxy = func(string) bool { return trusted.Load() }
	})
	get := func(incoming string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env.URL+"/api/v1/channels", nil)
		if err != nil {
			t.Fatal(err)
		}
		if incoming != "" {
			req.Header.Set("X-Request-Id", incoming)
		}
		r := doTestRequest(t, http.DefaultClient, req).wantStatus(t, http.StatusUnauthorized)
		return r.Header.Get("X-Request-Id")
	}
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	id := get("")
	if !generated.MatchString(id) {
		t.Fatalf("X-Request-Id %q, want 24 hex chars", id)
	}
	if get("") == id {
		t.Error("two requests got the same id")
	}
	// Lines logged while serving the request carry its id.
	if !strings.Contains(env.Logs.String(), "msg=http method=GET path=/api/v1/channels status=401") ||
		!regexp.MustCompile(`msg=http [^\n]*request_id=`+id).MatchString(env.Logs.String()) {
		t.Errorf("no access log line with request_id=%s:\n%s", id, env.Logs.String())
	}

	// Anyone may send an id; only a trusted proxy's is reused.
	if got := get("lb-0123456789abcdef"); got == "lb-0123456789abcdef" || !generated.MatchString(got) {
		t.Errorf("untrusted peer's id reused: %q", got)
	}
	trusted.Store(true)
	if got := get("lb-0123456789abcdef"); got != "lb-0123456789abcdef" {
		t.Errorf("trusted proxy's id replaced by %q", got)
	}
	for _, bad := range []string{"short", "has space in it", strings.Repeat("x", 129), `quote"injection`} {
		if got := get(bad); got == bad || !generated.MatchString(got) {
			t.Errorf("insane id %q reused as %q", bad, got)
		}
	}
}
