package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestLoginSetsHardenedSessionCookie(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.user(t, models.RoleOperator)
	c := env.anonClient(t)
	r := c.postForm("/login", url.Values{"email": {"  Operator@Example.test "}, "password": {testPassword}, "next": {"/channels?q=x"}})
	r.wantStatus(t, http.StatusSeeOther)
	if got := r.location(); got != "/channels?q=x" {
		t.Errorf("redirect to %q, want the next parameter /channels?q=x", got)
	}
	ck := r.cookie("bd_session")
	if ck == nil || ck.Value == "" {
		t.Fatalf("no session cookie set; cookies %v", r.Cookies)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Errorf("session cookie HttpOnly=%v SameSite=%v Path=%q, want HttpOnly, Lax, /", ck.HttpOnly, ck.SameSite, ck.Path)
	}
	if strings.Contains(env.Logs.String(), ck.Value) {
		t.Error("the session cookie value appears in the server log")
	}
	c.get("/channels").wantStatus(t, http.StatusOK)
	env.wantAudit(t, "login", u.Email)
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.user(t, models.RoleAdmin)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)"} {
		c := env.anonClient(t)
		r := c.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}, "next": {next}})
		r.wantStatus(t, http.StatusSeeOther)
		if r.location() != "/" {
			t.Errorf("next=%q redirected to %q, want /", next, r.location())
		}
	}
}

func TestLoginIssuesNewSessionEachTime(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.user(t, models.RoleOperator)

	// An attacker plants a session id before the victim signs in.
	c := env.anonClient(t)
	c.setCookie("bd_session", "planted-session-id-0123456789")
	r := c.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	r.wantStatus(t, http.StatusSeeOther)
	first := c.cookie("bd_session")
	if first == "" || first == "planted-session-id-0123456789" {
		t.Fatalf("session id after login = %q; want a fresh server-issued id", first)
	}

	// Signing in again in the same browser replaces the session.
	r = c.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	r.wantStatus(t, http.StatusSeeOther)
	second := c.cookie("bd_session")
	if second == "" || second == first {
		t.Fatalf("second login kept session id %q", first)
	}
	old := env.anonClient(t)
	old.setCookie("bd_session", first)
	if r := old.get("/channels"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("the replaced session still works: GET /channels = %d %q", r.Status, r.location())
	}
	c.get("/channels").wantStatus(t, http.StatusOK)
}

func TestLogoutEndsServerSideSession(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := env.userClient(t, models.RoleOperator)
	sess := c.cookie("bd_session")
	r := c.postForm("/logout", nil).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/login" {
		t.Errorf("logout redirects to %q, want /login", r.location())
	}
	if c.cookie("bd_session") != "" {
		t.Error("logout did not clear the session cookie")
	}
	// Replaying the old cookie must not work: the session is gone server-side.
	thief := env.anonClient(t)
	thief.setCookie("bd_session", sess)
	r = thief.get("/channels")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Fatalf("old session cookie after logout: %d %q, want redirect to /login", r.Status, r.location())
	}
	if _, err := env.Store.SessionUser(context.Background(), sess); err == nil {
		t.Error("session row still resolves after logout")
	}
	env.wantAudit(t, "logout", "operator@example.test")
}

func TestLoginFailuresDoNotRevealAccounts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.user(t, models.RoleAgent)
	c := env.anonClient(t)
	wrong := c.postForm("/login", url.Values{"email": {u.Email}, "password": {"not-the-password"}})
	unknown := c.postForm("/login", url.Values{"email": {"nobody@example.test"}, "password": {"not-the-password"}})
	if wrong.Status != http.StatusUnauthorized || unknown.Status != wrong.Status {
		t.Fatalf("statuses: wrong password %d, unknown email %d; want both 401", wrong.Status, unknown.Status)
	}
	wm, um := wrong.text(t, `[data-testid="login-error"]`), unknown.text(t, `[data-testid="login-error"]`)
	if wm == "" || wm != um {
		t.Fatalf("messages differ or are empty: %q vs %q", wm, um)
	}
	if wrong.cookie("bd_session") != nil {
		t.Error("a failed login set a session cookie")
	}
	// The form keeps the email so the user can retry.
	if v, _ := wrong.doc(t).Find("input[name=email]").Attr("value"); v != u.Email {
		t.Errorf("email field = %q, want it kept", v)
	}
	if n := len(env.audit(t, "login.failed")); n != 2 {
		t.Errorf("login.failed audit entries = %d, want 2", n)
	}
}

func TestDeactivatedUserIsSignedOutAndCannotSignIn(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	agentUser := env.user(t, models.RoleAgent)
	agent := env.userClient(t, models.RoleAgent)
	agent.get("/").wantStatus(t, http.StatusSeeOther)

	admin.postForm(userPath(agentUser), url.Values{"role": {"agent"}}). // no active=1: deactivate
										wantStatus(t, http.StatusSeeOther)
	env.wantAudit(t, "user.deactivate", agentUser.Email)

	r := agent.htmx(http.MethodGet, "/channels", nil)
	if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("HX-Redirect"), "/login") {
		t.Errorf("deactivated user's session still works: %d HX-Redirect=%q", r.Status, r.Header.Get("HX-Redirect"))
	}
	c := env.anonClient(t)
	r = c.postForm("/login", url.Values{"email": {agentUser.Email}, "password": {testPassword}})
	r.wantStatus(t, http.StatusUnauthorized)
	if msg := r.text(t, `[data-testid="login-error"]`); msg != genericLoginError {
		t.Errorf("deactivated login message %q, want the generic one", msg)
	}
}

func TestExpiredSessionRedirectsToLogin(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := env.userClient(t, models.RoleOperator)
	if err := env.Store.ExpireSessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := c.get("/channels?q=a")
	r.wantStatus(t, http.StatusSeeOther)
	if want := "/login?next=" + url.QueryEscape("/channels?q=a"); r.location() != want {
		t.Errorf("redirect %q, want %q", r.location(), want)
	}

	c2 := env.userClient(t, models.RoleOperator)
	if err := env.Store.ExpireSessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = c2.htmx(http.MethodGet, "/channels", nil)
	if r.Status != http.StatusUnauthorized {
		t.Errorf("htmx request with expired session: status %d, want 401", r.Status)
	}
	if got := r.Header.Get("HX-Redirect"); !strings.HasPrefix(got, "/login?next=") {
		t.Errorf("HX-Redirect = %q, want /login?next=…", got)
	}
	// A form post with an expired session also goes to the login page
	// (its CSRF token is still valid: it is not tied to the session).
	c3 := env.userClient(t, models.RoleOperator)
	tok := c3.csrfToken()
	if err := env.Store.ExpireSessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = c3.postForm("/channels", url.Values{"name": {"Late"}, "csrf_token": {tok}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("POST with expired session: %d %q, want 303 to /login", r.Status, r.location())
	}
	if l, _ := env.Store.ListChannels(context.Background(), "Late", 1, 10); l.Total != 0 {
		t.Error("a channel was created with an expired session")
	}
}

func TestSetupLinkCreatesFirstAdminOnce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	tok, err := env.Store.CreateSetupToken(ctx)
	if err != nil || tok == "" {
		t.Fatalf("CreateSetupToken = %q, %v", tok, err)
	}
	c := env.anonClient(t)
	r := c.get("/setup?token="+url.QueryEscape(tok)).wantStatus(t, http.StatusOK)
	if v, _ := r.doc(t).Find("input[name=token]").Attr("value"); v != tok {
		t.Fatalf("setup form token field = %q", v)
	}

	// Bad input re-renders the form with an inline error and uses nothing up.
	r = c.postForm("/setup", url.Values{"token": {tok}, "email": {"root@example.test"}, "password": {"short"}})
	r.wantStatus(t, http.StatusUnprocessableEntity)
	if r.text(t, "#err-password") == "" {
		t.Error("no inline password error")
	}
	if n, _ := env.Store.CountUsers(ctx); n != 0 {
		t.Fatalf("a user was created from invalid set-up input")
	}

	r = c.postForm("/setup", url.Values{"token": {tok}, "email": {"root@example.test"}, "password": {testPassword}})
	r.wantStatus(t, http.StatusSeeOther)
	u, err := env.Store.UserByEmail(ctx, "root@example.test")
	if err != nil || u.Role != models.RoleAdmin {
		t.Fatalf("first admin: %+v, %v", u, err)
	}
	c.get("/users").wantStatus(t, http.StatusOK) // signed in as that admin
	env.wantAudit(t, "user.create", u.Email)

	// Second use: 404 for the form and the post, no new user.
	again := env.anonClient(t)
	r = again.get("/setup?token="+url.QueryEscape(tok)).wantStatus(t, http.StatusNotFound)
	if !strings.Contains(r.text(t, `[data-testid="error-page"]`), "already used") {
		t.Errorf("second use message unclear: %q", r.text(t, `[data-testid="error-page"]`))
	}
	again.postForm("/setup", url.Values{"token": {tok}, "email": {"evil@example.test"}, "password": {testPassword}}).
		wantStatus(t, http.StatusNotFound)
	if n, _ := env.Store.CountUsers(ctx); n != 1 {
		t.Errorf("users = %d after reusing the set-up link, want 1", n)
	}
}

func TestSetupLinkInvalidOnceUsersExist(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	tok, err := env.Store.CreateSetupToken(ctx)
	if err != nil || tok == "" {
		t.Fatalf("CreateSetupToken = %q, %v", tok, err)
	}
	env.user(t, models.RoleAgent) // e.g. `botdesk user add` ran meanwhile
	c := env.anonClient(t)
	c.get("/setup?token="+url.QueryEscape(tok)).wantStatus(t, http.StatusNotFound)
	c.postForm("/setup", url.Values{"token": {tok}, "email": {"root@example.test"}, "password": {testPassword}}).
		wantStatus(t, http.StatusNotFound)
	if tok2, err := env.Store.CreateSetupToken(ctx); err != nil || tok2 != "" {
		t.Errorf("CreateSetupToken with users = %q, %v; want \"\"", tok2, err)
	}
	c.get("/setup?token=unknown").wantStatus(t, http.StatusNotFound)
	c.get("/setup").wantStatus(t, http.StatusNotFound)
}

func TestCSRFRejection(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := env.userClient(t, models.RoleOperator)
	ctx := context.Background()

	cases := []struct {
		name string
		send func() *testResponse
	}{
		{"missing token", func() *testResponse { return c.postRaw("/channels", url.Values{"name": {"NoToken"}}) }},
		{"wrong token", func() *testResponse {
			return c.postRaw("/channels", url.Values{"name": {"WrongToken"}, "csrf_token": {strings.Repeat("x", 43)}})
		}},
		{"wrong htmx header", func() *testResponse {
			return c.do(http.MethodPost, "/channels", strings.NewReader("name=WrongHeader"), http.Header{
				"Hx-Request": {"true"}, "X-Csrf-Token": {"nope"}, "Content-Type": {"application/x-www-form-urlencoded"}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send()
			if r.Status != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", tc.name, r.Status)
				return
			}
			if msg := r.text(t, `[data-testid="error-page"]`); !strings.Contains(msg, "CSRF token") || !strings.Contains(msg, "Reload the page") {
				t.Errorf("%s: message not clear: %q", tc.name, msg)
			}
		})
	}
	// A login form without token is refused too (login CSRF).
	anon := env.anonClient(t)
	anon.postRaw("/login", url.Values{"email": {"operator@example.test"}, "password": {testPassword}}).wantStatus(t, http.StatusForbidden)

	if l, _ := env.Store.ListChannels(ctx, "", 1, 10); l.Total != 0 {
		t.Fatalf("rejected requests created %d channels", l.Total)
	}
	// The htmx header with the right token works.
	c.htmx(http.MethodPost, "/channels", url.Values{"name": {"ViaHTMX"}}).wantStatus(t, http.StatusSeeOther)
	if l, _ := env.Store.ListChannels(ctx, "ViaHTMX", 1, 10); l.Total != 1 {
		t.Fatal("htmx post with X-CSRF-Token did not create the channel")
	}
}

func TestAPIUsesBearerKeysNotCookies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := env.userClient(t, models.RoleAdmin)
	// A signed-in browser's cookie alone gets nothing from the API.
	r := c.get("/api/v1/channels").wantStatus(t, http.StatusUnauthorized)
	if code, _ := r.apiError(t); code != "unauthorized" {
		t.Errorf("code %q, want unauthorized", code)
	}
	r = c.do(http.MethodPost, "/api/v1/channels", strings.NewReader(`{"name":"x"}`), http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {c.csrfToken()}})
	r.wantStatus(t, http.StatusUnauthorized)
	// A bearer key needs no CSRF token.
	env.api(t, env.apiKey(t, models.RoleOperator), http.MethodPost, "/api/v1/channels", map[string]string{"name": "ByKey"}).
		wantStatus(t, http.StatusCreated)
	// Malformed or unknown keys are 401 too.
	for _, auth := range []string{"bdk_unknown", "Basic abc", ""} {
		r := env.api(t, auth, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusUnauthorized)
		if code, msg := r.apiError(t); code != "unauthorized" || !strings.Contains(msg, "Bearer") {
			t.Errorf("key %q: %s %q", auth, code, msg)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := env.anonClient(t)
	for _, r := range []*testResponse{
		c.get("/login"),
		c.get("/no-such-page"),
		c.get("/healthz"),
		env.api(t, "", http.MethodGet, "/api/v1/channels", nil),
	} {
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", r.Path, csp)
		}
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP lacks %q", r.Path, want)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", r.Path, h.Get("X-Content-Type-Options"))
		}
		if h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: no Referrer-Policy", r.Path)
		}
	}
}
