package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
)

// TestAuditedChangeFailsWithoutItsAuditRow: every audited change writes its
// audit row in the change's own transaction, so when the row cannot be
// written (here a trigger refuses every insert into audit_log) the request
// fails and the change is not there either.
func TestAuditedChangeFailsWithoutItsAuditRow(t *testing.T) {
	env := newTestEnv(t)

	admin := env.userClient(t, models.RoleAdmin)
	agent := env.userClient(t, models.RoleAgent)
	agentUser := env.user(t, models.RoleAgent)
	f := newWBFixture(t, env, "Audited")
	conv := f.conv(t, 42, "Ann")
	// Load the pages first: their CSRF tokens are needed once audit is off.
	admin.get("/users").wantStatus(t, http.StatusOK)
	agent.get("/workbench").wantStatus(t, http.StatusOK)
	anon := env.anonClient(t)
	anon.get("/login").wantStatus(t, http.StatusOK)

	db := pgtest.OpenDB(t, env.Store.Path())
	refuse, allow := `CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END`, `DROP TRIGGER refuse_audit`
	if env.Store.Postgres() {
		if _, err := db.Exec(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$`); err != nil {
			t.Fatal(err)
		}
		refuse = `CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`
		allow = `DROP TRIGGER refuse_audit ON audit_log`
	}
	if _, err := db.Exec(refuse); err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(env.Store.Rebind(q), args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	sessions := count("SELECT COUNT(*) FROM sessions")

	for _, tc := range []struct {
		name    string
		client  *testClient
		path    string
		form    url.Values
		changed func() bool
	}{
		{"user create", admin, "/users", url.Values{"email": {"new@example.test"}, "role": {"agent"}, "password": {"a long enough password 1"}},
			func() bool { return count("SELECT COUNT(*) FROM users WHERE email = 'new@example.test'") > 0 }},
		{"role change", admin, "/users/" + strconv.FormatInt(agentUser.ID, 10), url.Values{"role": {"operator"}, "active": {"1"}},
			func() bool {
				return count("SELECT COUNT(*) FROM users WHERE id = ? AND role = 'operator'", agentUser.ID) > 0
			}},
		{"channel create", admin, "/channels", url.Values{"name": {"Never created"}},
			func() bool { return count("SELECT COUNT(*) FROM channels WHERE name = 'Never created'") > 0 }},
		{"API key create", admin, "/apikeys", url.Values{"name": {"never"}, "role": {"agent"}},
			func() bool { return count("SELECT COUNT(*) FROM api_keys WHERE name = 'never'") > 0 }},
		{"conversation resolve", agent, "/workbench/c/" + strconv.FormatInt(conv.ID, 10) + "/resolve", url.Values{},
			func() bool {
				return count("SELECT COUNT(*) FROM conversations WHERE id = ? AND status = 'resolved'", conv.ID) > 0
			}},
		{"conversation reassign", agent, "/workbench/c/" + strconv.FormatInt(conv.ID, 10) + "/reassign", url.Values{"assignee": {"admin@example.test"}},
			func() bool {
				return count("SELECT COUNT(*) FROM conversations WHERE id = ? AND assigned_to IS NOT NULL", conv.ID) > 0
			}},
		{"sign-in", anon, "/login", url.Values{"email": {"admin@example.test"}, "password": {testPassword}},
			func() bool { return count("SELECT COUNT(*) FROM sessions") > sessions }},
		{"failed sign-in", anon, "/login", url.Values{"email": {"admin@example.test"}, "password": {"wrong"}},
			func() bool { return count("SELECT COUNT(*) FROM login_failures") > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.expect500 = true
			defer func() { tc.client.expect500 = false }()
			r := tc.client.postForm(tc.path, tc.form)
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500 (the audit row could not be written): %s", r.Status, truncateForLog(r.Body, 300))
			}
			if tc.changed() {
				t.Fatal("the change was kept without its audit row")
			}
		})
	}
	if _, err := db.Exec(allow); err != nil {
		t.Fatal(err)
	}
	// With audit back, the same change goes through with its row.
	admin.postForm("/channels", url.Values{"name": {"Created"}}).wantStatus(t, http.StatusSeeOther)
	env.wantAudit(t, "channel.create", "")

}
