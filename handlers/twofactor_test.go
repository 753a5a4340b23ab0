package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/twofactor"
)

// testClock is a store clock the test moves by hand: TOTP steps, the
// challenge expiry and the sign-in throttle all follow it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTwoFactorEnv is a test env whose store runs on a clock the test moves,
// starting at the beginning of a TOTP step.
func newTwoFactorEnv(t *testing.T) (*testEnv, *testClock) {
	t.Helper()
	clk := &testClock{now: time.Unix(time.Now().Unix()/twofactor.Period*twofactor.Period, 0)}
	env := newTestEnvStore(t, func(c *store.Config) { c.Clock = clk.Now }, nil)
	return env, clk
}

// totpAt is the code of secret for the step of t, as the user's app shows it.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := twofactor.Code(secret, twofactor.Step(at))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrolTwoFactor turns two-factor on for c's user through the account
// pages and returns the secret shown and the recovery codes.
func enrolTwoFactor(t *testing.T, c *testClient, clk *testClock) (secret string, recovery []string) {
	t.Helper()
	r := c.postForm("/account/two-factor/start", nil).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/account/two-factor" {
		t.Fatalf("start redirects to %q", r.location())
	}
	page := c.get("/account/two-factor").wantStatus(t, http.StatusOK)
	secret = strings.ReplaceAll(page.text(t, `[data-testid="totp-secret"]`), " ", "")
	if len(secret) != 32 {
		t.Fatalf("secret on the page %q, want 32 base32 characters", secret)
	}
	d, ok := page.doc(t).Find(`svg[data-testid="totp-qr"] path`).Attr("d")
	if !ok || !strings.HasPrefix(d, "M4 4h1v1h-1z") {
		t.Fatalf("QR code path %.40q: want the top-left finder pattern at the quiet zone", d)
	}
	r = c.postForm("/account/two-factor/enable", url.Values{"code": {totpAt(t, secret, clk.Now())}}).wantStatus(t, http.StatusOK)
	r.doc(t).Find(`[data-testid="recovery-codes"] li`).Each(func(_ int, li *goquery.Selection) {
		recovery = append(recovery, strings.TrimSpace(li.Text()))
	})
	if len(recovery) != twofactor.RecoveryCount {
		t.Fatalf("%d recovery codes shown, want %d", len(recovery), twofactor.RecoveryCount)
	}
	return secret, recovery
}

// signInPassword posts the password form; for an account with two-factor
// on it must lead to the code page without a session.
func signInPassword(t *testing.T, env *testEnv, email string) *testClient {
	t.Helper()
	c := env.anonClient(t)
	r := c.postForm("/login", url.Values{"email": {email}, "password": {testPassword}}).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/login/two-factor" {
		t.Fatalf("password accepted: redirect to %q, want /login/two-factor", r.location())
	}
	if r.cookie(sessionCookie) != nil {
		t.Fatal("a session cookie was set before the second factor")
	}
	c.get("/login/two-factor").wantStatus(t, http.StatusOK)
	return c
}

// signedIn reports whether c has a session (the account page opens).
func signedIn(c *testClient) bool { return c.get("/account").Status == http.StatusOK }

func TestTwoFactorEnrolAndSignIn(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	u := env.user(t, models.RoleAgent)
	c := env.userClient(t, models.RoleAgent)
	if got := c.get("/account").text(t, `[data-testid="two-factor-status"]`); !strings.Contains(got, "Off") {
		t.Fatalf("account page before enrolment: %q", got)
	}

	t.Run("a wrong code does not turn it on", func(t *testing.T) {
		c.postForm("/account/two-factor/start", nil).wantStatus(t, http.StatusSeeOther)
		r := c.postForm("/account/two-factor/enable", url.Values{"code": {"000000"}}).wantStatus(t, http.StatusUnprocessableEntity)
		if r.text(t, "#err-code") == "" {
			t.Error("no error next to the code field")
		}
		if got, _ := env.Store.UserByID(context.Background(), u.ID); got.TOTPEnabled {
			t.Fatal("a wrong code turned two-factor on")
		}
	})

	secret, recovery := enrolTwoFactor(t, c, clk)
	enrolStep := clk.Now()
	env.wantAudit(t, "user.two_factor_enable", u.Email)

	t.Run("secret sealed, recovery codes hashed", func(t *testing.T) {
		got, err := env.Store.UserByID(context.Background(), u.ID)
		if err != nil || !got.TOTPEnabled {
			t.Fatalf("user %+v, %v", got, err)
		}
		if strings.Contains(string(got.TOTPSecretEnc), secret) {
			t.Fatal("the TOTP secret is stored in clear")
		}
		if plain, err := env.Sealer.Open(got.TOTPSecretEnc); err != nil || string(plain) != secret {
			t.Fatalf("sealed secret opens to %q, %v", plain, err)
		}
		db := pgtest.OpenDB(t, env.Store.Path())
		rows, err := db.Query(env.Store.Rebind("SELECT code_hash FROM recovery_codes WHERE user_id = ? AND used_at IS NULL"), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var hashes []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, h)
		}
		rows.Close()
		if len(hashes) != twofactor.RecoveryCount {
			t.Fatalf("%d recovery codes stored", len(hashes))
		}
		for _, h := range hashes {
			for _, code := range recovery {
				if strings.Contains(h, code) || strings.Contains(h, twofactor.NormalizeRecovery(code)) {
					t.Fatal("a recovery code is stored in clear")
				}
			}
		}
		if got := c.get("/account").text(t, `[data-testid="two-factor-status"]`); !strings.Contains(got, "10 recovery codes left") {
			t.Errorf("account page after enrolment: %q", got)
		}
	})

	t.Run("the enrolment code cannot sign in again", func(t *testing.T) {
		b := signInPassword(t, env, u.Email)
		r := b.postForm("/login/two-factor", url.Values{"code": {totpAt(t, secret, enrolStep)}}).wantStatus(t, http.StatusUnauthorized)
		if msg := r.text(t, `[data-testid="login-error"]`); !strings.Contains(msg, "already used") {
			t.Errorf("refusal %q", msg)
		}
		if signedIn(b) {
			t.Fatal("a reused code signed in")
		}
	})

	clk.add(twofactor.Period * time.Second)
	code := totpAt(t, secret, clk.Now())
	t.Run("the next code signs in, once", func(t *testing.T) {
		b := signInPassword(t, env, u.Email)
		if signedIn(b) {
			t.Fatal("signed in before the code")
		}
		r := b.postForm("/login/two-factor", url.Values{"code": {code[:3] + " " + code[3:]}}).wantStatus(t, http.StatusSeeOther)
		if r.location() != "/" {
			t.Errorf("redirect to %q", r.location())
		}
		if !signedIn(b) {
			t.Fatal("a correct code did not sign in")
		}
		again := signInPassword(t, env, u.Email)
		again.postForm("/login/two-factor", url.Values{"code": {code}}).wantStatus(t, http.StatusUnauthorized)
		if signedIn(again) {
			t.Fatal("the same code signed in a second browser")
		}
	})

	t.Run("a recovery code works once", func(t *testing.T) {
		b := signInPassword(t, env, u.Email)
		typed := strings.ToUpper(strings.ReplaceAll(recovery[0], "-", ""))
		b.postForm("/login/two-factor", url.Values{"code": {typed}}).wantStatus(t, http.StatusSeeOther)
		if !signedIn(b) {
			t.Fatal("a recovery code did not sign in")
		}
		e := env.wantAudit(t, "user.two_factor_recovery", u.Email)
		if !strings.Contains(e.Detail, "9 recovery codes left") {
			t.Errorf("audit detail %q", e.Detail)
		}
		again := signInPassword(t, env, u.Email)
		again.postForm("/login/two-factor", url.Values{"code": {recovery[0]}}).wantStatus(t, http.StatusUnauthorized)
		if signedIn(again) {
			t.Fatal("a used recovery code signed in again")
		}
		if got := b.get("/account").text(t, `[data-testid="two-factor-status"]`); !strings.Contains(got, "9 recovery codes left") {
			t.Errorf("account page: %q", got)
		}
	})

	t.Run("no challenge, no code page", func(t *testing.T) {
		a := env.anonClient(t)
		r := a.get("/login/two-factor").wantStatus(t, http.StatusSeeOther)
		if r.location() != "/login" {
			t.Errorf("redirect to %q", r.location())
		}
		a.postForm("/login/two-factor", url.Values{"code": {totpAt(t, secret, clk.Now())}}).wantStatus(t, http.StatusSeeOther)
		if signedIn(a) {
			t.Fatal("a code without a password signed in")
		}
	})
}

// Wrong codes count against the challenge (void after five) and against
// the sign-in throttle; a challenge expires.
func TestTwoFactorChallengeLimits(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	u := env.user(t, models.RoleOperator)
	secret, _ := enrolTwoFactor(t, env.userClient(t, models.RoleOperator), clk)
	clk.add(time.Minute)

	b := signInPassword(t, env, u.Email)
	wrong := func(want int) *testResponse {
		t.Helper()
		return b.postForm("/login/two-factor", url.Values{"code": {"123456"}}).wantStatus(t, want)
	}
	for range store.LoginFreePerPair {
		wrong(http.StatusUnauthorized)
	}
	// The throttle of this email and IP now asks for a pause.
	if r := wrong(http.StatusTooManyRequests); r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	clk.add(2 * time.Second)
	wrong(http.StatusUnauthorized) // the fourth wrong code
	clk.add(3 * time.Second)
	r := wrong(http.StatusSeeOther) // the fifth voids the challenge
	if r.location() != "/login" {
		t.Fatalf("after five wrong codes: redirect to %q", r.location())
	}
	if got := b.get("/login").text(t, `[data-testid="flash"]`); !strings.Contains(got, "Too many wrong codes") {
		t.Errorf("flash %q", got)
	}
	clk.add(5 * time.Second)
	b.postForm("/login/two-factor", url.Values{"code": {totpAt(t, secret, clk.Now())}}).wantStatus(t, http.StatusSeeOther)
	if signedIn(b) {
		t.Fatal("a voided challenge still signed in")
	}
	if n := len(env.audit(t, "login.two_factor_failed")); n != 5 {
		t.Errorf("%d login.two_factor_failed audit rows, want 5", n)
	}

	t.Run("expired", func(t *testing.T) {
		clk.add(time.Minute)
		c := signInPassword(t, env, u.Email)
		clk.add(store.LoginChallengeTTL + time.Second)
		c.postForm("/login/two-factor", url.Values{"code": {totpAt(t, secret, clk.Now())}}).wantStatus(t, http.StatusSeeOther)
		if signedIn(c) {
			t.Fatal("an expired challenge signed in")
		}
	})
}

// "Require two-factor for admins": admins without it are sent to enrol,
// others are not held back.
func TestTwoFactorPolicy(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	operator := env.userClient(t, models.RoleOperator)
	if admin.get("/users").doc(t).Find(`input[name="require_two_factor_admins"]:checked`).Length() != 0 {
		t.Fatal("policy on by default")
	}
	admin.postRaw("/users/two-factor-policy", url.Values{"require_two_factor_admins": {"1"}}).wantStatus(t, http.StatusForbidden)
	operator.postForm("/users/two-factor-policy", url.Values{"require_two_factor_admins": {"1"}}).wantStatus(t, http.StatusForbidden)
	admin.postForm("/users/two-factor-policy", url.Values{"require_two_factor_admins": {"1"}}).wantStatus(t, http.StatusSeeOther)
	if e := env.wantAudit(t, "settings.require_two_factor_admins", ""); e.Detail != "on" {
		t.Errorf("audit detail %q", e.Detail)
	}

	for _, path := range []string{"/channels", "/users", "/account", "/audit"} {
		r := admin.get(path).wantStatus(t, http.StatusSeeOther)
		if r.location() != "/account/two-factor" {
			t.Errorf("GET %s: redirect to %q, want the enrolment", path, r.location())
		}
	}
	if r := admin.htmx(http.MethodGet, "/channels", nil); r.Header.Get("HX-Redirect") != "/account/two-factor" {
		t.Errorf("htmx: status %d, HX-Redirect %q", r.Status, r.Header.Get("HX-Redirect"))
	}
	// Held back, the admin cannot lift the policy without enrolling.
	admin.postForm("/users/two-factor-policy", nil).wantStatus(t, http.StatusSeeOther)
	if on, _ := env.Store.RequireTwoFactorForAdmins(context.Background()); !on {
		t.Fatal("an admin without two-factor turned the policy off")
	}
	if admin.get("/account/two-factor").wantStatus(t, http.StatusOK).doc(t).Find(`[data-testid="two-factor-required"]`).Length() != 1 {
		t.Error("the enrolment page does not say why the admin is there")
	}
	operator.get("/channels").wantStatus(t, http.StatusOK)

	enrolTwoFactor(t, admin, clk)
	admin.get("/channels").wantStatus(t, http.StatusOK)
	if admin.get("/users").doc(t).Find(`input[name="require_two_factor_admins"]:checked`).Length() != 1 {
		t.Error("the Users page does not show the policy on")
	}

	t.Run("SSO-only admins are exempt", func(t *testing.T) {
		sso, _, err := env.Store.SSOSignIn(context.Background(), "https://idp.example", "sub-1", "sso-admin@example.test", true, models.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := env.Srv.twoFactorRequired(context.Background(), sso)
		if err != nil || ok {
			t.Errorf("SSO-only admin required to enrol: %v, %v", ok, err)
		}
	})
}

// An admin resets a user's two-factor (a lost phone): audited, and the
// user signs in with the password alone.
func TestAdminResetsTwoFactor(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	u := env.user(t, models.RoleAgent)
	agent := env.userClient(t, models.RoleAgent)
	enrolTwoFactor(t, agent, clk)
	admin := env.userClient(t, models.RoleAdmin)
	path := "/users/" + itoa64(u.ID) + "/two-factor/reset"

	if admin.get("/users").doc(t).Find(`form[action="`+path+`"]`).Length() != 1 {
		t.Fatal("the Users page has no reset for the enrolled user")
	}
	agent.postForm(path, nil).wantStatus(t, http.StatusForbidden)
	admin.postRaw(path, url.Values{}).wantStatus(t, http.StatusForbidden)
	admin.postForm("/users/999999/two-factor/reset", nil).wantStatus(t, http.StatusNotFound)
	if !signedIn(agent) {
		t.Fatal("the agent is not signed in before the reset")
	}
	admin.postForm(path, nil).wantStatus(t, http.StatusSeeOther)
	e := env.wantAudit(t, "user.two_factor_reset", u.Email)
	if e.ActorID == nil || *e.ActorID != env.user(t, models.RoleAdmin).ID {
		t.Errorf("reset audited with actor %v", e.ActorID)
	}
	if !strings.Contains(e.Detail, "1 sessions ended") {
		t.Errorf("reset audit detail %q does not count the ended session", e.Detail)
	}
	// Whoever holds the lost phone may hold a signed-in browser too.
	if signedIn(agent) {
		t.Error("the user's session outlived the two-factor reset")
	}
	if !signedIn(admin) {
		t.Error("the admin's own session ended with someone else's reset")
	}
	got, _ := env.Store.UserByID(context.Background(), u.ID)
	if got.TOTPEnabled || got.TOTPSecretEnc != nil {
		t.Fatalf("after reset: enabled %v, secret %d bytes", got.TOTPEnabled, len(got.TOTPSecretEnc))
	}
	if n, _ := env.Store.RecoveryCodesLeft(context.Background(), u.ID); n != 0 {
		t.Errorf("%d recovery codes left after reset", n)
	}
	r := env.anonClient(t).postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/" {
		t.Errorf("after reset the password leads to %q, want straight in", r.location())
	}
}

// Turning two-factor off needs the password and a code.
func TestUserDisablesTwoFactor(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	u := env.user(t, models.RoleAgent)
	c := env.userClient(t, models.RoleAgent)
	secret, _ := enrolTwoFactor(t, c, clk)
	clk.add(twofactor.Period * time.Second)
	code := totpAt(t, secret, clk.Now())

	c.postForm("/account/two-factor/disable", url.Values{"password": {"wrong-password"}, "code": {code}}).wantStatus(t, http.StatusUnprocessableEntity)
	c.postForm("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {"000000"}}).wantStatus(t, http.StatusUnprocessableEntity)
	c.postRaw("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {code}}).wantStatus(t, http.StatusForbidden)
	if got, _ := env.Store.UserByID(context.Background(), u.ID); !got.TOTPEnabled {
		t.Fatal("turned off without both factors")
	}
	c.postForm("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {code}}).wantStatus(t, http.StatusSeeOther)
	env.wantAudit(t, "user.two_factor_disable", u.Email)
	if r := env.anonClient(t).postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}); r.location() != "/" {
		t.Errorf("after turning off, the password leads to %q", r.location())
	}
}

// New recovery codes need the password and a code; the old ones, used or
// not, stop working, and the new ones sign in.
func TestUserRenewsRecoveryCodes(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	u := env.user(t, models.RoleAgent)
	c := env.userClient(t, models.RoleAgent)
	secret, old := enrolTwoFactor(t, c, clk)
	path := "/account/two-factor/recovery-codes"
	if c.get("/account").doc(t).Find(`form[action="`+path+`"] input[name="password"]`).Length() != 1 {
		t.Fatal("the account page has no form for new recovery codes")
	}

	t.Run("refused without both factors", func(t *testing.T) {
		clk.add(twofactor.Period * time.Second)
		code := totpAt(t, secret, clk.Now())
		r := c.postForm(path, url.Values{"password": {"wrong-password"}, "code": {code}}).wantStatus(t, http.StatusUnprocessableEntity)
		if r.text(t, "#err-recovery_password") == "" {
			t.Error("no error next to the password of the new-codes form")
		}
		if r.doc(t).Find(`details[data-testid="two-factor-new-codes"][open]`).Length() != 1 {
			t.Error("the new-codes form with the error is not left open")
		}
		r = c.postForm(path, url.Values{"password": {testPassword}, "code": {"000000"}}).wantStatus(t, http.StatusUnprocessableEntity)
		if r.text(t, "#err-recovery_code") == "" {
			t.Error("no error next to the code of the new-codes form")
		}
		c.postRaw(path, url.Values{"password": {testPassword}, "code": {code}}).wantStatus(t, http.StatusForbidden)
	})

	clk.add(twofactor.Period * time.Second)
	r := c.postForm(path, url.Values{"password": {testPassword}, "code": {totpAt(t, secret, clk.Now())}}).wantStatus(t, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("recovery codes page Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	if got := r.text(t, "h1"); got != "New recovery codes" {
		t.Errorf("heading %q", got)
	}
	var fresh []string
	r.doc(t).Find(`[data-testid="recovery-codes"] li`).Each(func(_ int, li *goquery.Selection) {
		fresh = append(fresh, strings.TrimSpace(li.Text()))
	})
	if len(fresh) != twofactor.RecoveryCount {
		t.Fatalf("%d new codes shown, want %d", len(fresh), twofactor.RecoveryCount)
	}
	e := env.wantAudit(t, "user.two_factor_recovery_codes", u.Email)
	if !strings.Contains(e.Detail, "authenticator code") {
		t.Errorf("audit detail %q does not say how it was confirmed", e.Detail)
	}
	if n, _ := env.Store.RecoveryCodesLeft(context.Background(), u.ID); n != int64(twofactor.RecoveryCount) {
		t.Errorf("%d codes left, want %d", n, twofactor.RecoveryCount)
	}
	login := signInPassword(t, env, u.Email)
	login.postForm("/login/two-factor", url.Values{"code": {old[0]}}).wantStatus(t, http.StatusUnauthorized)
	if signedIn(login) {
		t.Fatal("an old recovery code still signs in")
	}
	login = signInPassword(t, env, u.Email)
	if r := login.postForm("/login/two-factor", url.Values{"code": {fresh[0]}}).wantStatus(t, http.StatusSeeOther); r.location() != "/" {
		t.Errorf("a new recovery code leads to %q", r.location())
	}
	if !signedIn(login) {
		t.Error("a new recovery code does not sign in")
	}
}

// An admin turns local passwords off for a single sign-on account: the
// correct password is then refused with a clear message.
func TestPasswordLoginOff(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.user(t, models.RoleAgent)
	if _, _, err := env.Store.SSOSignIn(ctx, "https://idp.example", "sub-agent", u.Email, true, models.RoleAgent); err != nil {
		t.Fatal(err)
	}
	local := env.user(t, models.RoleOperator)
	admin := env.userClient(t, models.RoleAdmin)
	path := "/users/" + itoa64(u.ID) + "/password-login"
	if admin.get("/users").doc(t).Find(`form[action="`+path+`"] input[name="password_login"]:checked`).Length() != 1 {
		t.Fatal("the Users page has no checked password switch for the SSO user")
	}
	env.userClient(t, models.RoleOperator).postForm(path, nil).wantStatus(t, http.StatusForbidden)
	admin.postForm("/users/"+itoa64(local.ID)+"/password-login", nil).wantStatus(t, http.StatusUnprocessableEntity)

	admin.postForm(path, nil).wantStatus(t, http.StatusSeeOther)
	if e := env.wantAudit(t, "user.password_login", u.Email); e.Detail != "off" {
		t.Errorf("audit detail %q", e.Detail)
	}
	anon := env.anonClient(t)
	r := anon.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}).wantStatus(t, http.StatusForbidden)
	if msg := r.text(t, `[data-testid="login-error"]`); msg != passwordLoginOff {
		t.Errorf("refusal %q, want %q", msg, passwordLoginOff)
	}
	if signedIn(anon) {
		t.Fatal("signed in with the password turned off")
	}
	r = anon.postForm("/login", url.Values{"email": {u.Email}, "password": {"not-the-password"}}).wantStatus(t, http.StatusUnauthorized)
	if msg := r.text(t, `[data-testid="login-error"]`); msg != genericLoginError {
		t.Errorf("a wrong password must not tell the account apart: %q", msg)
	}

	admin.postForm(path, url.Values{"password_login": {"1"}}).wantStatus(t, http.StatusSeeOther)
	env.login(t, u.Email, testPassword)
}

// The two-factor pages in zh-CN.
func TestTwoFactorPagesInChinese(t *testing.T) {
	env, clk := newTwoFactorEnv(t)
	u := env.user(t, models.RoleAdmin)
	c := env.userClient(t, models.RoleAdmin)
	c.Header = http.Header{"Accept-Language": {"zh-CN"}}
	c.postForm("/users/two-factor-policy", url.Values{"require_two_factor_admins": {"1"}}).wantStatus(t, http.StatusSeeOther)
	check := func(name string, r *testResponse) {
		t.Helper()
		lang, bad := untranslated(t, r.Body)
		if lang != "zh-CN" {
			t.Errorf("%s: lang %q", name, lang)
		}
		for _, b := range bad {
			t.Errorf("%s: English on the zh-CN page: %s", name, b)
		}
	}
	check("enrolment start", c.get("/account/two-factor"))
	c.postForm("/account/two-factor/start", nil)
	check("enrolment", c.get("/account/two-factor"))
	check("wrong code", c.postForm("/account/two-factor/enable", url.Values{"code": {"000000"}}))
	_, _ = enrolTwoFactor(t, c, clk)
	// Only the two-factor part of the account page: the sessions table
	// names the test's HTTP client, a program name.
	part, err := goquery.OuterHtml(c.get("/account").doc(t).Find(`section[aria-labelledby="two-factor-h"]`))
	if err != nil || part == "" {
		t.Fatalf("no two-factor section on the account page: %v", err)
	}
	check("account", &testResponse{Body: `<html lang="zh-CN">` + part + `</html>`})
	check("users", c.get("/users"))
	b := env.anonClient(t)
	b.Header = http.Header{"Accept-Language": {"zh-CN"}}
	b.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}}).wantStatus(t, http.StatusSeeOther)
	check("code page", b.get("/login/two-factor"))
	check("wrong code at sign-in", b.postForm("/login/two-factor", url.Values{"code": {"000000"}}))
}
