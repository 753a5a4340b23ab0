package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

func TestReadyzFollowsTheLeaseLoopMigrationsAndDatabase(t *testing.T) {
	tg := telegramtest.New()
	api := tg.Start()
	defer tg.Close()
	var sup *telegram.Supervisor
	env := newTestEnvWith(t, func(d *Deps) {
		sup = telegram.NewSupervisor(telegram.SupervisorConfig{Events: callbacks.Payloads{}, Store: d.Store, Sealer: d.Sealer, APIBase: api, PollTimeout: time.Second})
		d.LeaseLoop = sup
	})
	c := env.anonClient(t)
	ready := func(wantStatus int, wantReason string) {
		t.Helper()
		r := c.get("/readyz")
		var body struct{ Status, Reason string }
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatalf("/readyz body %q: %v", r.Body, err)
		}
		if r.Status != wantStatus || !strings.Contains(body.Reason, wantReason) {
			t.Fatalf("/readyz = %d %+v, want %d with reason %q", r.Status, body, wantStatus, wantReason)
		}
	}

	// Before the lease loop ran its first turn the instance owns no bot.
	ready(http.StatusServiceUnavailable, "lease loop not running")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	<-sup.Booted()
	ready(http.StatusOK, "")
	if r := c.get("/readyz"); !strings.Contains(r.Body, `"status":"ready"`) {
		t.Fatalf("ready body %q", r.Body)
	}

	// The change feed shows in /metrics on PostgreSQL only.
	m := env.api(t, env.apiKey(t, models.RoleOperator), http.MethodGet, "/metrics", nil).wantStatus(t, http.StatusOK).Body
	if got := strings.Contains(m, "botdesk_change_feed_listening 1\n"); got != pgtest.Postgres() {
		t.Errorf("change feed gauge listed = %v on PostgreSQL = %v:\n%s", got, pgtest.Postgres(), m)
	}
	wantHelp(t, m)

	// A database that lost a migration this binary relies on.
	db := pgtest.OpenDB(t, env.Store.Path())
	var name string
	if err := db.QueryRow("SELECT name FROM schema_migrations ORDER BY version DESC LIMIT 1").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM schema_migrations WHERE name = '" + name + "'"); err != nil {
		t.Fatal(err)
	}
	ready(http.StatusServiceUnavailable, "migrations not applied: "+name)
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (" + strings.SplitN(name, "_", 2)[0] + ", '" + name + "', CURRENT_TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	ready(http.StatusOK, "")

	// A stopped lease loop: its bots go to the other instances.
	cancel()
	<-done
	ready(http.StatusServiceUnavailable, "lease loop not running")

	// /healthz stays 200 throughout: alive is not ready.
	if r := c.get("/healthz"); r.Status != http.StatusOK {
		t.Fatalf("/healthz = %d", r.Status)
	}
	_ = env.Store.Close()
	ready(http.StatusServiceUnavailable, "database unreachable")
}
