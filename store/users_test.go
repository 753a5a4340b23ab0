package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

const goodPassword = "a long enough password"

func TestCreateUserValidates(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "  Ann@Example.TEST ", models.RoleOperator, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ann@example.test" || !u.Active || u.PasswordHash == goodPassword {
		t.Errorf("user %+v", u)
	}
	if ok, _ := models.VerifyPassword(u.PasswordHash, goodPassword); !ok {
		t.Error("stored hash does not verify")
	}
	for _, tc := range []struct {
		email, role, password, field string
	}{
		{"not-an-email", "agent", goodPassword, "email"},
		{"b@example.test", "root", goodPassword, "role"},
		{"b@example.test", "agent", "short", "password"},
	} {
		_, err := s.CreateUser(ctx, tc.email, models.Role(tc.role), tc.password)
		if v, ok := models.AsValidation(err); !ok || v.Field != tc.field {
			t.Errorf("CreateUser(%q,%q): %v, want %s error", tc.email, tc.role, err, tc.field)
		}
	}
	if _, err := s.CreateUser(ctx, "ANN@example.test", models.RoleAgent, goodPassword); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate email (other case): %v, want ErrConflict", err)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
	if got, err := s.UserByEmail(ctx, "ANN@EXAMPLE.TEST"); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail is not case-insensitive: %v", err)
	}
	if _, err := s.UserByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByID(999): %v", err)
	}
}

func TestSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "s@example.test", models.RoleAgent, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateSession(ctx, u.ID, "127.0.0.1", strings.Repeat("UA", 500))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionUser(ctx, tok)
	if err != nil || got.ID != u.ID {
		t.Fatalf("SessionUser = %+v, %v", got, err)
	}
	// Only the hash is stored.
	var n int64
	s.read.Raw("SELECT COUNT(*) FROM sessions WHERE id = ?", tok).Scan(&n)
	if n != 0 {
		t.Error("the raw session token is stored")
	}
	if err := s.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("after logout: %v, want ErrNotFound", err)
	}

	tok, _ = s.CreateSession(ctx, u.ID, "", "")
	if err := s.ExpireSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session: %v, want ErrNotFound", err)
	}
	s.read.Raw("SELECT COUNT(*) FROM sessions").Scan(&n)
	if n != 0 {
		t.Errorf("expired session row kept (%d rows)", n)
	}
	if _, err := s.SessionUser(ctx, "garbage"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
}

func TestUpdateUserProtectsLastAdminAndEndsSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin, _ := s.CreateUser(ctx, "admin@example.test", models.RoleAdmin, goodPassword)
	agent, _ := s.CreateUser(ctx, "agent@example.test", models.RoleAgent, goodPassword)

	for _, tc := range []struct {
		role   models.Role
		active bool
	}{{models.RoleOperator, true}, {models.RoleAdmin, false}, {models.RoleAgent, false}} {
		_, err := s.UpdateUser(ctx, admin.ID, tc.role, tc.active)
		if v, ok := models.AsValidation(err); !ok || !strings.Contains(v.Message, "last active admin") {
			t.Errorf("UpdateUser(last admin → %s active=%v): %v, want refusal", tc.role, tc.active, err)
		}
	}
	if u, _ := s.UserByID(ctx, admin.ID); u.Role != models.RoleAdmin || !u.Active {
		t.Fatalf("last admin changed: %+v", u)
	}

	tok, _ := s.CreateSession(ctx, agent.ID, "", "")
	u, err := s.UpdateUser(ctx, agent.ID, models.RoleOperator, false)
	if err != nil || u.Role != models.RoleOperator || u.Active {
		t.Fatalf("UpdateUser = %+v, %v", u, err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("deactivated user's session still resolves: %v", err)
	}
	// With a second admin, the first can step down.
	if _, err := s.UpdateUser(ctx, agent.ID, models.RoleAdmin, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, admin.ID, models.RoleAgent, true); err != nil {
		t.Errorf("demoting one of two admins: %v", err)
	}
	if _, err := s.UpdateUser(ctx, 999, models.RoleAgent, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestSetPasswordEndsSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "p@example.test", models.RoleAgent, goodPassword)
	tok, _ := s.CreateSession(ctx, u.ID, "", "")
	if err := s.SetPassword(ctx, u.ID, "short"); err == nil {
		t.Error("short password accepted")
	}
	if err := s.SetPassword(ctx, u.ID, "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if ok, _ := models.VerifyPassword(got.PasswordHash, "another long password"); !ok {
		t.Error("new password does not verify")
	}
}

func TestLoginThrottleIsPerEmailAndIPWithGrowingDelays(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.now = func() time.Time { return now }
	wait := func(email, ip string) time.Duration {
		t.Helper()
		d, err := s.LoginWait(ctx, email, ip)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fail := func(email, ip string) {
		t.Helper()
		if err := s.RecordLoginFailure(ctx, email, ip); err != nil {
			t.Fatal(err)
		}
	}
	for range LoginFreePerPair {
		if d := wait("x@example.test", "10.0.0.1"); d != 0 {
			t.Fatalf("wait %v before the free attempts are used", d)
		}
		fail("x@example.test", "10.0.0.1")
	}
	t.Run("the pair waits, growing", func(t *testing.T) {
		if d := wait("x@example.test", "10.0.0.1"); d != time.Second {
			t.Errorf("wait after %d failures = %v, want 1s", LoginFreePerPair, d)
		}
		fail("x@example.test", "10.0.0.1")
		if d := wait("x@example.test", "10.0.0.1"); d != 2*time.Second {
			t.Errorf("wait after one more = %v, want 2s", d)
		}
		now = now.Add(2 * time.Second)
		if d := wait("x@example.test", "10.0.0.1"); d != 0 {
			t.Errorf("wait after the delay passed = %v, want 0", d)
		}
	})
	t.Run("no lock-out from elsewhere", func(t *testing.T) {
		if d := wait("x@example.test", "10.0.0.9"); d != 0 {
			t.Errorf("the same email from another IP waits %v: an attacker could lock the account", d)
		}
		if d := wait("y@example.test", "10.0.0.1"); d != 0 {
			t.Errorf("another email from the same IP waits %v before the IP budget is used", d)
		}
	})
	t.Run("spraying from one IP", func(t *testing.T) {
		for i := range LoginFreePerIP {
			fail("spray"+strconv.Itoa(i)+"@example.test", "10.0.0.2")
		}
		if d := wait("fresh@example.test", "10.0.0.2"); d != time.Second {
			t.Errorf("wait for a fresh email from a spraying IP = %v, want 1s", d)
		}
		for range 30 {
			fail("more@example.test", "10.0.0.2")
		}
		if d := wait("fresh@example.test", "10.0.0.2"); d != LoginMaxDelay {
			t.Errorf("wait after 50 failures = %v, want the cap %v", d, LoginMaxDelay)
		}
	})
	t.Run("good sign-in clears only its pair", func(t *testing.T) {
		fail("x@example.test", "10.0.0.3")
		if err := s.ClearLoginFailures(ctx, "x@example.test", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		var n int64
		s.read.Raw("SELECT COUNT(*) FROM login_failures WHERE email = ?", "x@example.test").Scan(&n)
		if n != 1 {
			t.Errorf("%d failures of x left, want the other IP's 1", n)
		}
	})
	t.Run("old failures are pruned", func(t *testing.T) {
		now = now.Add(LoginFailureWindow + time.Minute)
		if d := wait("fresh@example.test", "10.0.0.2"); d != 0 {
			t.Errorf("wait after the window = %v", d)
		}
		fail("z@example.test", "10.0.0.2")
		var n int64
		s.read.Raw("SELECT COUNT(*) FROM login_failures WHERE ip = ?", "10.0.0.2").Scan(&n)
		if n != 1 {
			t.Errorf("%d rows for the IP after the window, want 1", n)
		}
	})
}

func TestLoginDelay(t *testing.T) {
	for _, tc := range []struct {
		n, free int
		want    time.Duration
	}{{0, 3, 0}, {2, 3, 0}, {3, 3, time.Second}, {4, 3, 2 * time.Second}, {8, 3, 32 * time.Second}, {20, 3, LoginMaxDelay}, {1000, 3, LoginMaxDelay}} {
		if got := LoginDelay(tc.n, tc.free); got != tc.want {
			t.Errorf("LoginDelay(%d, %d) = %v, want %v", tc.n, tc.free, got, tc.want)
		}
	}
}

func TestSessionAbsoluteLifetime(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.now = func() time.Time { return now }
	u, _ := s.CreateUser(ctx, "busy@example.test", models.RoleAgent, goodPassword)
	tok, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Used every few hours, the idle expiry keeps sliding...
	for now.Before(time.Now().UTC().Add(DefaultSessionMaxAge - 6*time.Hour)) {
		now = now.Add(5 * time.Hour)
		if _, err := s.SessionUser(ctx, tok); err != nil {
			t.Fatalf("session ended at %v of use: %v", now.Sub(time.Now().UTC()).Round(time.Hour), err)
		}
	}
	// ...but not past the absolute lifetime.
	now = time.Now().UTC().Add(DefaultSessionMaxAge + time.Minute)
	if _, ok, _ := s.SessionCheck(ctx, tok); ok {
		t.Error("SessionCheck accepts a session past its absolute lifetime")
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("session past its max age: %v, want ErrNotFound", err)
	}
}

func TestEndSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	a, _ := s.CreateUser(ctx, "a@example.test", models.RoleAgent, goodPassword)
	b, _ := s.CreateUser(ctx, "b@example.test", models.RoleAgent, goodPassword)
	a1, _ := s.CreateSession(ctx, a.ID, "10.0.0.1", "Firefox")
	a2, _ := s.CreateSession(ctx, a.ID, "10.0.0.2", "Chrome")
	b1, _ := s.CreateSession(ctx, b.ID, "10.0.0.3", "Safari")
	list, err := s.ListSessions(ctx, a.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %d, %v; want 2", len(list), err)
	}
	if err := s.EndSession(ctx, a.ID, SessionID(b1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("ending another user's session: %v, want ErrNotFound", err)
	}
	if err := s.EndSession(ctx, a.ID, SessionID(a1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, a1); !errors.Is(err, ErrNotFound) {
		t.Error("ended session still resolves")
	}
	if n, err := s.EndUserSessions(ctx, a.ID); err != nil || n != 1 {
		t.Errorf("EndUserSessions = %d, %v; want 1", n, err)
	}
	if _, err := s.SessionUser(ctx, a2); !errors.Is(err, ErrNotFound) {
		t.Error("session survives sign out everywhere")
	}
	if _, err := s.SessionUser(ctx, b1); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
}

func TestSetupToken(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	tok1, err := s.CreateSetupToken(ctx)
	if err != nil || tok1 == "" {
		t.Fatalf("CreateSetupToken = %q, %v", tok1, err)
	}
	tok2, _ := s.CreateSetupToken(ctx)
	if ok, _ := s.SetupTokenValid(ctx, tok1); ok {
		t.Error("an older set-up token still works after a new one was made")
	}
	if ok, _ := s.SetupTokenValid(ctx, tok2); !ok {
		t.Fatal("newest set-up token invalid")
	}
	if _, err := s.CompleteSetup(ctx, tok2, "root@example.test", "short"); err == nil {
		t.Fatal("weak password accepted")
	}
	if ok, _ := s.SetupTokenValid(ctx, tok2); !ok {
		t.Fatal("a failed set-up used the token up")
	}
	u, err := s.CompleteSetup(ctx, tok2, "root@example.test", goodPassword)
	if err != nil || u.Role != models.RoleAdmin {
		t.Fatalf("CompleteSetup = %+v, %v", u, err)
	}
	if _, err := s.CompleteSetup(ctx, tok2, "again@example.test", goodPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("second CompleteSetup: %v, want ErrNotFound", err)
	}
	if tok, err := s.CreateSetupToken(ctx); err != nil || tok != "" {
		t.Errorf("CreateSetupToken with a user = %q, %v; want \"\"", tok, err)
	}
}

func TestAPIKeys(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	key, k, err := s.CreateAPIKey(ctx, "ci", models.RoleOperator, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, APIKeyPrefix) || !strings.HasPrefix(key, k.Prefix) || k.KeyHash == key {
		t.Errorf("key %q, record %+v", key, k)
	}
	got, err := s.APIKeyByToken(ctx, key)
	if err != nil || got.ID != k.ID || got.Role != models.RoleOperator {
		t.Fatalf("APIKeyByToken = %+v, %v", got, err)
	}
	for _, tc := range []struct{ name, role string }{{"", "agent"}, {strings.Repeat("n", 65), "agent"}, {"x", "root"}} {
		if _, _, err := s.CreateAPIKey(ctx, tc.name, models.Role(tc.role), nil); err == nil {
			t.Errorf("CreateAPIKey(%q, %q) accepted", tc.name, tc.role)
		}
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APIKeyByToken(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked key still resolves: %v", err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
}
