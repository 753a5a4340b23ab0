package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

func TestInstancesPageAndAPI(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	// This instance (the server's store) and another one on the same
	// database, which holds the lease of the one bot; and one that died.
	other, err := store.Open(ctx, store.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL, InstanceID: "other-host-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	dead, err := store.Open(ctx, store.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL, InstanceID: "dead-host-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	started := now.Add(-time.Hour)
	if err := env.Store.Heartbeat(ctx, "v1.2.3", started, now); err != nil {
		t.Fatal(err)
	}
	if err := other.Heartbeat(ctx, "v1.2.4", started.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := dead.Heartbeat(ctx, "v1.2.2", started.Add(-time.Hour), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	ch := env.createChannel(t, "Leased")
	if err := env.Store.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: 7155000001, Username: "leased_bot", TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := other.AcquireLease(ctx, 7155000001, now, now.Add(store.DefaultLeaseTTL)); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}

	// Only admins: API keys and sessions of lower roles are refused.
	for _, role := range []models.Role{models.RoleAgent, models.RoleOperator} {
		env.api(t, env.apiKey(t, role), http.MethodGet, "/api/v1/instances", nil).wantStatus(t, http.StatusForbidden)
		c := env.userClient(t, role)
		c.get("/instances").wantStatus(t, http.StatusForbidden)
		if strings.Contains(c.get("/workbench").Body, `href="/instances"`) {
			t.Errorf("the %s's navigation links the Instances page", role)
		}
	}

	var body struct {
		Instances []struct {
			ID           string    `json:"id"`
			Version      string    `json:"version"`
			StartedAt    time.Time `json:"started_at"`
			HeartbeatAt  time.Time `json:"heartbeat_at"`
			Live         bool      `json:"live"`
			This         bool      `json:"this"`
			Bots         int       `json:"bots"`
			BotUsernames []string  `json:"bot_usernames"`
		} `json:"instances"`
	}
	env.api(t, env.apiKey(t, models.RoleAdmin), http.MethodGet, "/api/v1/instances", nil).wantStatus(t, http.StatusOK).json(t, &body)
	if len(body.Instances) != 3 {
		t.Fatalf("instances = %+v", body.Instances)
	}
	// Newest start first.
	o, me, d := body.Instances[0], body.Instances[1], body.Instances[2]
	if o.ID != "other-host-1" || o.Version != "v1.2.4" || !o.Live || o.This || o.Bots != 1 || len(o.BotUsernames) != 1 || o.BotUsernames[0] != "leased_bot" ||
		!o.StartedAt.Equal(started.Add(time.Minute)) || !o.HeartbeatAt.Equal(now) {
		t.Errorf("other instance = %+v", o)
	}
	if me.ID != env.Store.InstanceID() || !me.This || !me.Live || me.Bots != 0 || me.BotUsernames == nil || me.Version != "v1.2.3" {
		t.Errorf("this instance = %+v", me)
	}
	if d.ID != "dead-host-2" || d.Live || d.This || d.Bots != 0 {
		t.Errorf("dead instance = %+v", d)
	}

	admin := env.userClient(t, models.RoleAdmin)
	page := admin.get("/instances").wantStatus(t, http.StatusOK)
	if !strings.Contains(page.Body, `href="/instances"`) {
		t.Error("the admin's navigation does not link the Instances page")
	}
	doc := page.doc(t)
	rows := doc.Find(`[data-testid="instance-row"]`)
	if rows.Length() != 3 {
		t.Fatalf("%d rows:\n%s", rows.Length(), page.Body)
	}
	first := rows.Eq(0).Text()
	for _, want := range []string{"other-host-1", "v1.2.4", "Live", "@leased_bot"} {
		if !strings.Contains(first, want) {
			t.Errorf("first row %q lacks %q", first, want)
		}
	}
	if second := rows.Eq(1).Text(); !strings.Contains(second, "this page") || !strings.Contains(second, env.Store.InstanceID()) {
		t.Errorf("second row %q is not marked as this instance", second)
	}
	if third := rows.Eq(2).Text(); !strings.Contains(third, "Gone") || strings.Contains(third, "Live") {
		t.Errorf("third row %q, want gone", third)
	}

	// In Chinese, through htmx as a partial.
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/instances", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("Accept-Language", "zh-CN")
	zh := doTestRequest(t, admin.HTTP, req).wantStatus(t, http.StatusOK)
	for _, want := range []string{"实例", "在线", "已失联", "持有的机器人", "@leased_bot"} {
		if !strings.Contains(zh.Body, want) {
			t.Errorf("the zh-CN partial lacks %q", want)
		}
	}
}
