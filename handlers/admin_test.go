package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func userPath(u *models.User) string { return "/users/" + strconv.FormatInt(u.ID, 10) }

func TestUsersCreateChangeRoleDeactivate(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	ctx := context.Background()

	for _, tc := range []struct{ email, role string }{{"op@example.test", "operator"}, {"ag@example.test", "agent"}} {
		t.Run(tc.role, func(t *testing.T) {
			r := admin.postForm("/users", url.Values{"email": {tc.email}, "role": {tc.role}, "password": {testPassword}})
			r.wantStatus(t, http.StatusSeeOther)
			u, err := env.Store.UserByEmail(ctx, tc.email)
			if err != nil || string(u.Role) != tc.role || !u.Active {
				t.Fatalf("created %+v, %v", u, err)
			}
			env.wantAudit(t, "user.create", tc.email)
		})
	}
	page := admin.get("/users").wantStatus(t, http.StatusOK)
	if table := page.text(t, `[data-testid="users-table"]`); !strings.Contains(table, "op@example.test") || !strings.Contains(table, "ag@example.test") {
		t.Errorf("users table: %q", table)
	}
	if !strings.Contains(page.text(t, `[data-testid="flash"]`), "created") {
		t.Error("no confirmation after creating a user")
	}
	// The new accounts can sign in with their role.
	env.login(t, "ag@example.test", testPassword).get("/channels").wantStatus(t, http.StatusForbidden)

	ag, _ := env.Store.UserByEmail(ctx, "ag@example.test")
	admin.postForm(userPath(ag), url.Values{"role": {"operator"}, "active": {"1"}}).wantStatus(t, http.StatusSeeOther)
	if u, _ := env.Store.UserByID(ctx, ag.ID); u.Role != models.RoleOperator || !u.Active {
		t.Errorf("after role change: %+v", u)
	}
	if e := env.wantAudit(t, "user.role", ag.Email); !strings.Contains(e.Detail, "agent") || !strings.Contains(e.Detail, "operator") {
		t.Errorf("user.role detail %q", e.Detail)
	}

	admin.postForm(userPath(ag), url.Values{"role": {"operator"}}).wantStatus(t, http.StatusSeeOther)
	if u, _ := env.Store.UserByID(ctx, ag.ID); u.Active {
		t.Error("user still active after unchecking Active")
	}
	env.wantAudit(t, "user.deactivate", ag.Email)

	admin.postForm("/users/999999", url.Values{"role": {"agent"}, "active": {"1"}}).wantStatus(t, http.StatusNotFound)
	admin.postForm("/users/abc", url.Values{"role": {"agent"}, "active": {"1"}}).wantStatus(t, http.StatusNotFound)
	admin.postForm(userPath(ag), url.Values{"role": {"root"}, "active": {"1"}}).wantStatus(t, http.StatusUnprocessableEntity)
}

func TestUsersCreateBadInput(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	for _, tc := range []struct {
		name, email, role, password, field string
	}{
		{"bad email", "nope", "agent", testPassword, "email"},
		{"bad role", "x@example.test", "root", testPassword, "role"},
		{"short password", "x@example.test", "agent", "short", "password"},
		{"duplicate email", "ADMIN@example.test", "agent", testPassword, "email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.postForm("/users", url.Values{"email": {tc.email}, "role": {tc.role}, "password": {tc.password}})
			r.wantStatus(t, http.StatusUnprocessableEntity)
			if r.text(t, "#err-"+tc.field) == "" {
				t.Errorf("%s: no inline error on %s", tc.name, tc.field)
			}
			if v, _ := r.doc(t).Find("input#email").Attr("value"); v != tc.email {
				t.Errorf("%s: email %q not kept (got %q)", tc.name, tc.email, v)
			}
		})
	}
	if n, _ := env.Store.CountUsers(context.Background()); n != 1 {
		t.Errorf("%d users after bad input, want 1", n)
	}
}

func TestLastAdminCannotBeDemotedOrDeactivated(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	me := env.user(t, models.RoleAdmin)
	for _, tc := range []struct {
		name string
		vals url.Values
	}{
		{"demote to operator", url.Values{"role": {"operator"}, "active": {"1"}}},
		{"deactivate", url.Values{"role": {"admin"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin.postForm(userPath(me), tc.vals).wantStatus(t, http.StatusSeeOther)
			if u, _ := env.Store.UserByID(context.Background(), me.ID); u.Role != models.RoleAdmin || !u.Active {
				t.Fatalf("last admin changed by %v: %+v", tc.vals, u)
			}
			if msg := admin.get("/users").text(t, `[data-testid="flash"]`); !strings.Contains(msg, "last active admin") {
				t.Errorf("%v: refusal message %q", tc.vals, msg)
			}
		})
	}
	if len(env.audit(t, "user.role")) != 0 || len(env.audit(t, "user.deactivate")) != 0 {
		t.Error("a refused change was audited as done")
	}
}

func TestAPIKeyCreateShownOnceAndRevoke(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	r := admin.postForm("/apikeys", url.Values{"name": {"ci"}, "role": {"operator"}}).wantStatus(t, http.StatusOK)
	key := r.text(t, `[data-testid="new-api-key"]`)
	if !strings.HasPrefix(key, "bdk_") {
		t.Fatalf("new key %q", key)
	}
	if !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
		t.Error("page showing a secret is cacheable")
	}
	env.wantAudit(t, "apikey.create", "")
	for _, e := range env.audit(t, "") {
		if strings.Contains(e.Detail+e.ObjectID, key) {
			t.Fatal("the full key is in the audit log")
		}
	}
	env.api(t, key, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusOK)
	env.api(t, key, http.MethodDelete, "/api/v1/channels/tg-aaaaaaaaaa", nil).wantStatus(t, http.StatusForbidden)

	list := admin.get("/apikeys").wantStatus(t, http.StatusOK)
	if strings.Contains(list.Body, key) {
		t.Fatal("the key is shown again on the list page")
	}
	if !strings.Contains(list.Body, key[:10]) {
		t.Error("the key's prefix is not listed")
	}

	for _, tc := range []struct {
		name string
		vals url.Values
	}{
		{"empty name", url.Values{"name": {""}, "role": {"agent"}}},
		{"unknown role", url.Values{"name": {"x"}, "role": {"root"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin.postForm("/apikeys", tc.vals).wantStatus(t, http.StatusUnprocessableEntity)
		})
	}

	keys, _ := env.Store.ListAPIKeys(context.Background())
	admin.postForm("/apikeys/"+strconv.FormatInt(keys[0].ID, 10)+"/revoke", nil).wantStatus(t, http.StatusSeeOther)
	env.api(t, key, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusUnauthorized)
	env.wantAudit(t, "apikey.revoke", strconv.FormatInt(keys[0].ID, 10))
	admin.postForm("/apikeys/999999/revoke", nil).wantStatus(t, http.StatusNotFound)
}

func TestAuditPageListsAndFilters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	admin.postForm("/channels", url.Values{"name": {"Audited"}}).wantStatus(t, http.StatusSeeOther)
	r := admin.get("/audit").wantStatus(t, http.StatusOK)
	table := r.text(t, `[data-testid="audit-table"]`)
	for _, want := range []string{"login", "channel.create", "admin@example.test", "127.0.0.1"} {
		if !strings.Contains(table, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	r = admin.get("/audit?action=channel.").wantStatus(t, http.StatusOK)
	rows := r.doc(t).Find(`[data-testid="audit-table"] tbody tr`)
	if rows.Length() != 1 || !strings.Contains(rows.Text(), "channel.create") {
		t.Errorf("filtered audit rows: %q", rows.Text())
	}
}
