package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// /metrics has the per-bot and per-channel gauges, and every family it
// writes has HELP and TYPE lines.
func TestMetricsBacklogsAndUpdateAge(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 5550001)
	other := newWBFixture(t, env, "Quiet")
	other.bot(t, 5550002)
	ctx := context.Background()
	if err := f.db.Model(&models.Bot{}).Where("telegram_id = ?", 5550001).Update("last_update_at", time.Now().UTC().Add(-90*time.Second)).Error; err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two"} {
		if _, _, err := env.Store.QueueOutgoing(ctx, store.OutgoingMessage{ChannelID: f.ch.ID, ChatID: 7, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Store.EnqueueEvent(ctx, f.ch.ID, "mo", "7", []byte(`{"type":"mo"}`)); err != nil {
		t.Fatal(err)
	}
	r := env.api(t, env.apiKey(t, models.RoleOperator), http.MethodGet, "/metrics", nil).wantStatus(t, http.StatusOK)
	out := r.Body
	age := regexp.MustCompile(`botdesk_bot_last_update_age_seconds\{bot_id="5550001",channel="` + f.ch.ID + `"\} (9\d|1\d\d)(\.\d+)?\n`)
	if !age.MatchString(out) {
		t.Errorf("no last update age ≈ 90s for the bot:\n%s", out)
	}
	if strings.Contains(out, `bot_id="5550002"`) {
		t.Error("a bot that never got an update has an age")
	}
	for _, want := range []string{
		`botdesk_sender_backlog{channel="` + f.ch.ID + `"} 2`,
		`botdesk_callback_backlog{channel="` + f.ch.ID + `"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `{channel="`+other.ch.ID+`"}`) {
		t.Error("a channel with no backlog is listed")
	}
	wantHelp(t, out)
}

// wantHelp fails for a sample whose family has no HELP and TYPE line.
func wantHelp(t *testing.T, out string) {
	t.Helper()
	help, typ := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(line, "# HELP "); ok {
			help[strings.Fields(name)[0]] = true
		}
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typ[strings.Fields(name)[0]] = true
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		fam := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && typ[b] {
				fam = b
			}
		}
		if !help[fam] || !typ[fam] {
			t.Errorf("sample %q has no HELP/TYPE for %s", line, fam)
		}
	}
}
