package handlers

// Tests of issue 12's hardening: cookies and client IPs behind a TLS proxy,
// login abuse, input bounds, API rate limits, stream and session
// lifetimes, body read timeouts. Each fails against the code before it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

var loopbackProxy = []*net.IPNet{{IP: net.IPv4(127, 0, 0, 1).To4(), Mask: net.CIDRMask(32, 32)}}

// behind returns a client whose requests come "from" ip through the
// trusted proxy on loopback.
func behind(env *testEnv, t *testing.T, ip string) *testClient {
	c := env.anonClient(t)
	c.Header = http.Header{"X-Forwarded-For": {ip}}
	return c
}

// setCookies are the cookies of a response by name.
func setCookies(r *testResponse) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, ck := range r.Cookies {
		out[ck.Name] = ck
	}
	return out
}

func TestPublicHTTPSURLMakesCookiesSecureAndSendsHSTS(t *testing.T) {
	t.Parallel()
	env := newTestEnvWith(t, func(d *Deps) { d.Options.PublicURL = "https://desk.example.test" })
	u := env.user(t, models.RoleOperator)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, cookies ...*http.Cookie) *testResponse {
		req, _ := http.NewRequest(http.MethodGet, env.URL+path, nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		return doTestRequest(t, hc, req)
	}
	r := get("/login").wantStatus(t, http.StatusOK)
	if hsts := r.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=31536000") {
		t.Errorf("HSTS = %q, want max-age of a year", hsts)
	}
	csrf := setCookies(r)["__Host-bd_csrf"]
	if csrf == nil || !csrf.Secure || csrf.Path != "/" || csrf.Domain != "" || !csrf.HttpOnly {
		t.Fatalf("CSRF cookie = %+v, want __Host-bd_csrf, Secure, Path=/, no Domain", csrf)
	}
	if _, plain := setCookies(r)["bd_csrf"]; plain {
		t.Error("a cookie without the __Host- prefix was set")
	}
	form := url.Values{"email": {u.Email}, "password": {testPassword}, "csrf_token": {r.metaCSRF()}}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: csrf.Name, Value: csrf.Value})
	r = doTestRequest(t, hc, req).wantStatus(t, http.StatusSeeOther)
	sess := setCookies(r)["__Host-bd_session"]
	if sess == nil || !sess.Secure || sess.Path != "/" || sess.Domain != "" {
		t.Fatalf("session cookie = %+v, want __Host-bd_session, Secure", sess)
	}
	get("/channels", &http.Cookie{Name: sess.Name, Value: sess.Value}).wantStatus(t, http.StatusOK)
	// The unprefixed name is not read: a cookie planted over plain http or
	// from a sibling domain cannot stand in for the session.
	get("/channels", &http.Cookie{Name: "bd_session", Value: sess.Value}).wantStatus(t, http.StatusSeeOther)

	t.Run("plain http public URL", func(t *testing.T) {
		env := newTestEnv(t)
		r := env.anonClient(t).do(http.MethodGet, "/login", nil, http.Header{"X-Forwarded-Proto": {"https"}})
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent without an https public URL (X-Forwarded-Proto from a client must not count)")
		}
		if ck := setCookies(r)["bd_csrf"]; ck == nil || ck.Secure {
			t.Errorf("CSRF cookie %+v, want plain bd_csrf", ck)
		}
	})
}

func TestClientIPFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trusted []*net.IPNet
		header  http.Header
		want    string
	}{
		{"no proxy trusted: XFF ignored", nil, http.Header{"X-Forwarded-For": {"203.0.113.5"}}, "127.0.0.1"},
		{"no proxy trusted: X-Real-IP ignored", nil, http.Header{"X-Real-Ip": {"203.0.113.5"}}, "127.0.0.1"},
		{"trusted loopback proxy: XFF believed", loopbackProxy, http.Header{"X-Forwarded-For": {"203.0.113.5"}}, "203.0.113.5"},
		{"trusted proxy: a client's own XFF entry is not", loopbackProxy, http.Header{"X-Forwarded-For": {"198.51.100.1, 203.0.113.5"}}, "203.0.113.5"},
		{"trusted proxy: X-Real-IP believed", loopbackProxy, http.Header{"X-Real-Ip": {"203.0.113.6"}}, "203.0.113.6"},
		{"another network trusted: loopback is not", []*net.IPNet{{IP: net.IPv4(10, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}},
			http.Header{"X-Forwarded-For": {"203.0.113.5"}}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnvWith(t, func(d *Deps) { d.Options.TrustedProxies = tc.trusted })
			c := env.anonClient(t)
			c.Header = tc.header
			c.postForm("/login", url.Values{"email": {"nobody@example.test"}, "password": {"wrong-password"}}).wantStatus(t, http.StatusUnauthorized)
			if e := env.wantAudit(t, "login.failed", "nobody@example.test"); e.IP != tc.want {
				t.Errorf("audit IP = %q, want %q", e.IP, tc.want)
			}
		})
	}
}

func TestLoginThrottlePerClientIPWithoutLockout(t *testing.T) {
	t.Parallel()
	// Time stands still: the delays never pass during the test.
	frozen := time.Now()
	env := newTestEnvStore(t, func(c *store.Config) { c.Clock = func() time.Time { return frozen } },
		func(d *Deps) { d.Options.TrustedProxies = loopbackProxy })
	u := env.user(t, models.RoleOperator)
	attacker := behind(env, t, "203.0.113.66")
	// Two accounts, one real and one not, with emails of the same length:
	// what the attacker sees must not tell them apart.
	unknown := "operatoz@example.test"
	var seen [2][]string
	for i, email := range []string{u.Email, unknown} {
		for n := range store.LoginFreePerPair + 1 {
			r := attacker.postForm("/login", url.Values{"email": {email}, "password": {"wrong-" + strconv.Itoa(n)}})
			seen[i] = append(seen[i], fmt.Sprintf("%d %d %s", r.Status, len(r.Body), r.text(t, `[data-testid="login-error"]`)))
		}
	}
	for n := range seen[0] {
		if seen[0][n] != seen[1][n] {
			t.Errorf("attempt %d differs for a real and an unknown account: %q vs %q", n, seen[0][n], seen[1][n])
		}
	}
	last := seen[0][len(seen[0])-1]
	if !strings.HasPrefix(last, "429 ") || !strings.Contains(last, "Too many failed sign-ins") {
		t.Fatalf("attempt past the free ones = %q, want 429 with the throttle message", last)
	}
	// Even the right password waits, from the attacker's address...
	r := attacker.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}).wantStatus(t, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	if r.cookie("bd_session") != nil {
		t.Error("a throttled login set a session cookie")
	}
	// ...but the owner signs in from their own.
	owner := behind(env, t, "198.51.100.7")
	owner.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}).wantStatus(t, http.StatusSeeOther)
	owner.get("/channels").wantStatus(t, http.StatusOK)

	// Throttled attempts are counted, not audited one row each.
	if n := len(env.audit(t, "login.failed")); n != 2*store.LoginFreePerPair {
		t.Errorf("login.failed rows = %d, want %d (only the attempts that were checked)", n, 2*store.LoginFreePerPair)
	}
	if n := len(env.audit(t, "login.throttled")); n != 0 {
		t.Errorf("%d login.throttled rows, want none", n)
	}
	metrics := env.metricsText(t)
	if !strings.Contains(metrics, "botdesk_login_throttled_total 3") {
		t.Errorf("metrics lack the throttled count of 3:\n%s", grepLines(metrics, "login"))
	}
}

func TestLoginInputBoundsBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := env.anonClient(t)
	for name, vals := range map[string]url.Values{
		"900 KB email":   {"email": {strings.Repeat("a", 900<<10) + "@example.test"}, "password": {"whatever-password"}},
		"255 byte email": {"email": {strings.Repeat("a", 242) + "@example.test"}, "password": {"whatever-password"}},
		"long password":  {"email": {"x@example.test"}, "password": {strings.Repeat("p", 1025)}},
	} {
		r := c.postForm("/login", vals).wantStatus(t, http.StatusUnprocessableEntity)
		if msg := r.text(t, `[data-testid="login-error"]`); !strings.Contains(msg, "too long") {
			t.Errorf("%s: message %q", name, msg)
		}
		if len(r.Body) > 100<<10 {
			t.Errorf("%s: the response echoes the input (%d bytes)", name, len(r.Body))
		}
	}
	audit := len(env.audit(t, ""))
	failures := env.count(t, "SELECT COUNT(*) FROM login_failures")
	if audit != 0 || failures != 0 {
		t.Errorf("oversized sign-ins wrote %d audit rows and %d login_failures rows, want none", audit, failures)
	}
	// 254 bytes is still a (failed) sign-in attempt.
	c.postForm("/login", url.Values{"email": {strings.Repeat("a", 241) + "@example.test"}, "password": {"whatever-password"}}).
		wantStatus(t, http.StatusUnauthorized)
}

func TestLoginHashingIsBounded(t *testing.T) {
	t.Parallel()
	env := newTestEnvWith(t, func(d *Deps) { d.Options.LoginConcurrency = 1 })
	u := env.user(t, models.RoleAgent)
	c := env.anonClient(t)
	tok := c.csrfToken()
	env.Srv.hashSlots <- struct{}{} // another sign-in is hashing
	r := c.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}, "csrf_token": {tok}})
	r.wantStatus(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.Header.Get("Retry-After"))
	}
	if r.cookie("bd_session") != nil {
		t.Error("a refused sign-in set a session")
	}
	if n := env.count(t, "SELECT COUNT(*) FROM login_failures"); n != 0 {
		t.Errorf("a busy refusal was recorded as a failure (%d rows)", n)
	}
	<-env.Srv.hashSlots
	c.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}).wantStatus(t, http.StatusSeeOther)
}

func TestAPIRateLimitPerKeyAndPerIP(t *testing.T) {
	t.Parallel()
	t.Run("per key", func(t *testing.T) {
		env := newTestEnvWith(t, func(d *Deps) {
			d.Options.APIRate, d.Options.APIBurst = 0.001, 3
			d.Options.APIIPRate, d.Options.APIIPBurst = 1000, 1000
		})
		a, b := env.apiKey(t, models.RoleOperator), env.apiKey(t, models.RoleAdmin)
		for i := range 3 {
			r := env.api(t, a, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusOK)
			if got, want := r.Header.Get("RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
				t.Errorf("request %d: RateLimit-Remaining %q, want %s", i, got, want)
			}
			if r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Reset") == "" {
				t.Errorf("RateLimit headers: %v", r.Header)
			}
		}
		r := env.api(t, a, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusTooManyRequests)
		if code, _ := r.apiError(t); code != "rate_limited" {
			t.Errorf("code %q, want rate_limited", code)
		}
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		if r.Header.Get("RateLimit-Remaining") != "0" {
			t.Errorf("RateLimit-Remaining on 429 = %q", r.Header.Get("RateLimit-Remaining"))
		}
		// Another key has its own bucket.
		env.api(t, b, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusOK)
		if m := env.metricsText(t); !strings.Contains(m, `botdesk_api_rate_limited_total{scope="key"} 1`) {
			t.Errorf("metrics:\n%s", grepLines(m, "rate_limited"))
		}
	})
	t.Run("per IP, keys or not", func(t *testing.T) {
		env := newTestEnvWith(t, func(d *Deps) { d.Options.APIIPRate, d.Options.APIIPBurst = 0.001, 2 })
		key := env.apiKey(t, models.RoleOperator)
		env.api(t, "bdk_guess1", http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusUnauthorized)
		env.api(t, "bdk_guess2", http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusUnauthorized)
		// Guessing used up the address's bucket: even a good key waits.
		env.api(t, key, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusTooManyRequests)
		if m := env.metricsText(t); !strings.Contains(m, `botdesk_api_rate_limited_total{scope="ip"} 1`) {
			t.Errorf("metrics:\n%s", grepLines(m, "rate_limited"))
		}
	})
	t.Run("a long poll counts once", func(t *testing.T) {
		env := newTestEnvWith(t, func(d *Deps) { d.Options.APIRate, d.Options.APIBurst = 0.001, 2 })
		ch := env.createChannel(t, "Queues")
		if _, err := env.Store.SaveWebhook(context.Background(), ch.ID, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
			t.Fatal(err)
		}
		key := env.apiKey(t, models.RoleOperator)
		env.api(t, key, http.MethodPost, "/api/v1/queues/botdesk-"+ch.ID+"-mo/receive?wait=300ms", nil).wantStatus(t, http.StatusOK)
		env.api(t, key, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusOK)
		env.api(t, key, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusTooManyRequests)
	})
}

// TestStreamsEndWhenTheSessionDoes: with a heartbeat of an hour, only the
// session change itself can end the stream.
func TestStreamsEndWhenTheSessionDoes(t *testing.T) {
	t.Parallel()
	env := newTestEnvWith(t, func(d *Deps) { d.Options.SSEHeartbeat = time.Hour })
	admin := env.userClient(t, models.RoleAdmin)
	agentUser := env.user(t, models.RoleAgent)
	for _, tc := range []struct {
		name string
		end  func(agent *testClient)
	}{
		{"logout", func(agent *testClient) { agent.postForm("/logout", nil).wantStatus(t, http.StatusSeeOther) }},
		{"role change", func(*testClient) {
			admin.postForm(userPath(agentUser), url.Values{"role": {"operator"}, "active": {"1"}}).wantStatus(t, http.StatusSeeOther)
		}},
		{"role change back", func(*testClient) {
			admin.postForm(userPath(agentUser), url.Values{"role": {"agent"}, "active": {"1"}}).wantStatus(t, http.StatusSeeOther)
		}},
		{"password change", func(agent *testClient) {
			agent.postForm("/account/password", url.Values{"current_password": {testPassword}, "password": {testPassword}}).
				wantStatus(t, http.StatusSeeOther)
		}},
		{"admin signs the user out everywhere", func(*testClient) {
			admin.postForm(userPath(agentUser)+"/sessions/end", nil).wantStatus(t, http.StatusSeeOther)
		}},
		{"sign out everywhere", func(agent *testClient) {
			agent.postForm("/account/sessions/end-all", nil).wantStatus(t, http.StatusSeeOther)
		}},
		{"deactivation", func(*testClient) {
			admin.postForm(userPath(agentUser), url.Values{"role": {"agent"}}).wantStatus(t, http.StatusSeeOther)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := env.login(t, agentUser.Email, testPassword)
			if tc.name == "deactivation" {
				defer func() {
					if _, err := env.Store.UpdateUser(context.Background(), agentUser.ID, models.RoleAgent, true); err != nil {
						t.Fatal(err)
					}
				}()
			}
			watcher := env.login(t, agentUser.Email, testPassword) // another browser, stays signed in
			if tc.name == "password change" || strings.Contains(tc.name, "everywhere") || tc.name == "deactivation" {
				watcher = nil // these end every session of the user
			}
			st := openSSE(t, agent, "/workbench/events", "")
			if st.Status != http.StatusOK {
				t.Fatalf("stream status %d", st.Status)
			}
			st.next(t) // the first list: the stream is live
			start := time.Now()
			tc.end(agent)
			if !st.ended(t) {
				t.Fatal("the stream is still open after the session change")
			}
			t.Logf("stream ended %v after the change", time.Since(start).Round(time.Millisecond))
			if watcher != nil {
				// Another session of the same user is untouched.
				watcher.get("/workbench").wantStatus(t, http.StatusOK)
			}
		})
	}
}

func TestSignOutEverywhere(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.user(t, models.RoleAgent)
	a := env.login(t, u.Email, testPassword)
	a.Header = http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}}
	b := env.login(t, u.Email, testPassword)
	page := a.get("/account").wantStatus(t, http.StatusOK).doc(t)
	if n := page.Find(`[data-testid="session-row"]`).Length(); n != 2 {
		t.Fatalf("sessions listed = %d, want 2", n)
	}
	if page.Find(`[data-testid="this-session"]`).Length() != 1 {
		t.Error("this browser's session is not marked")
	}
	// End the other session from the list.
	var otherID string
	page.Find(`[data-testid="session-row"]`).Each(func(_ int, row *goquery.Selection) {
		if row.Find(`[data-testid="this-session"]`).Length() == 0 {
			action, _ := row.Find("form").Attr("action")
			otherID = action
		}
	})
	a.postForm(otherID, nil).wantStatus(t, http.StatusSeeOther)
	b.get("/workbench").wantStatus(t, http.StatusSeeOther) // signed out
	a.get("/workbench").wantStatus(t, http.StatusOK)
	env.wantAudit(t, "session.end", u.Email)

	// Someone else's session id is 404.
	other := env.userClient(t, models.RoleOperator)
	sess, _ := env.Store.ListSessions(context.Background(), env.user(t, models.RoleOperator).ID)
	a.postForm("/account/sessions/"+sess[0].ID+"/end", nil).wantStatus(t, http.StatusNotFound)
	other.get("/channels").wantStatus(t, http.StatusOK)

	// Sign out everywhere, self.
	c := env.login(t, u.Email, testPassword)
	r := a.postForm("/account/sessions/end-all", nil).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/login" {
		t.Errorf("redirect %q", r.location())
	}
	a.get("/workbench").wantStatus(t, http.StatusSeeOther)
	c.get("/workbench").wantStatus(t, http.StatusSeeOther)
	env.wantAudit(t, "session.end_all", u.Email)

	// By an admin, for any user; agents cannot.
	d := env.login(t, u.Email, testPassword)
	d.postForm(userPath(env.user(t, models.RoleOperator))+"/sessions/end", nil).wantStatus(t, http.StatusForbidden)
	admin := env.userClient(t, models.RoleAdmin)
	admin.postForm(userPath(u)+"/sessions/end", nil).wantStatus(t, http.StatusSeeOther)
	d.get("/workbench").wantStatus(t, http.StatusSeeOther)
	admin.get("/users").wantStatus(t, http.StatusOK)
}

func TestBodyReadTimeout(t *testing.T) {
	t.Parallel()
	env := newTestEnvWith(t, func(d *Deps) { d.Options.BodyReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers promise 100 bytes; one arrives, then nothing.
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ne")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // hang guard
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickling body (the connection stayed open): %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	// A long response after a fully sent body is not cut.
	env2 := newTestEnvWith(t, func(d *Deps) { d.Options.BodyReadTimeout = 100 * time.Millisecond })
	ch := env2.createChannel(t, "Q")
	if _, err := env2.Store.SaveWebhook(context.Background(), ch.ID, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	env2.api(t, env2.apiKey(t, models.RoleOperator), http.MethodPost, "/api/v1/queues/botdesk-"+ch.ID+"-mo/receive?wait=500ms", map[string]any{}).
		wantStatus(t, http.StatusOK)
}

// count runs a COUNT query against the env's database (the SQLite file or
// the PostgreSQL database) on a connection of its own.
func (env *testEnv) count(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	db := pgtest.OpenDB(t, env.Store.Path())
	var n int64
	if err := db.QueryRow(env.Store.Rebind(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// metricsText scrapes /metrics with an operator key.
func (env *testEnv) metricsText(t testing.TB) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+env.apiKey(t, models.RoleOperator))
	return doTestRequest(t, http.DefaultClient, req).wantStatus(t, http.StatusOK).Body
}

// grepLines keeps the lines of s containing sub, for failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
