package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Flow 1: the first admin signs in (a wrong password first) and creates an
// operator and an agent on the Users page.
func flowAdminCreatesUsers(t *testing.T, w *world) {
	s := newSession(t, "admin")

	// Signed out, the console sends you to the sign-in page.
	s.open("/")
	s.waitPath("/login")
	s.waitVisible(`form[action="/login"]`)
	if !s.activeMatches(`input[name=email]`) {
		t.Errorf("sign-in page: the email field should have the focus, got %s", s.describeActive())
	}
	s.a11y("sign-in page")

	s.fill(`input[name=email]`, adminEmail)
	s.fill(`input[name=password]`, "not the password")
	s.submit("sign in with a wrong password", `form[action="/login"] button[type=submit]`)
	s.expectText(`[data-testid=login-error]`, "Email or password is incorrect.")
	if s.exists(`[data-testid=current-user]`) {
		s.fatalf("a wrong password signed the admin in")
	}
	s.a11y("sign-in page with error")

	s.fill(`input[name=email]`, adminEmail)
	s.fill(`input[name=password]`, password)
	s.submit("sign in as the admin", `form[action="/login"] button[type=submit]`)
	s.waitPath("/channels")
	s.expectText(`[data-testid=current-user]`, adminEmail)
	s.expectText(`h1`, "Channel Management")
	s.a11y("Channel Management (empty)")

	// To Users through the navigation, as an admin would.
	s.submit("open Users from the navigation", `nav.sidebar a[href="/users"]`)
	s.waitPath("/users")
	s.expectText(`h1`, "Users")
	s.a11y("Users")

	// A password that is too short is refused next to its field.
	s.fill(`form[action="/users"] input[name=email]`, operatorEmail)
	s.choose(`form[action="/users"] select[name=role]`, "operator")
	s.fill(`form[action="/users"] input[name=password]`, "short")
	s.submit("create a user with a short password", `form[action="/users"] button[type=submit]`)
	s.expectText(`#err-password`, "at least")
	s.a11y("Users with a field error")

	for _, u := range []struct{ email, role string }{{operatorEmail, "operator"}, {agentEmail, "agent"}} {
		s.fill(`form[action="/users"] input[name=email]`, u.email)
		s.choose(`form[action="/users"] select[name=role]`, u.role)
		s.fill(`form[action="/users"] input[name=password]`, password)
		s.submit("create the "+u.role, `form[action="/users"] button[type=submit]`)
		s.waitPath("/users")
		s.expectText(`[data-testid=flash]`, fmt.Sprintf("User %s created as %s.", u.email, u.role))
		row := rowText(s, `[data-testid=users-table]`, u.email)
		if row == "" {
			s.fatalf("the users table has no row for %s", u.email)
		}
		if !strings.Contains(row, u.role) || !strings.Contains(row, "Active") {
			s.fatalf("users table row for %s: %q, want role %s and Active", u.email, row, u.role)
		}
	}
	s.a11y("Users with three accounts")
	w.accounts = true
}
