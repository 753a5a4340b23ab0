package handlers

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// reportChannel makes a channel with a bot and ingests three messages of
// two chats, dated 10:05, 10:20 and 11:40 UTC on 2026-11-30.
func reportChannel(t *testing.T, env *testEnv, name string, bot int64) *models.Channel {
	t.Helper()
	ctx := context.Background()
	ch := env.createChannel(t, name)
	if err := env.Store.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: bot, Username: "b", TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	b := store.IngestBatch{BotTelegramID: bot, NextOffset: 4}
	for i, m := range []struct {
		chat int64
		min  int
	}{{1, 5}, {2, 20}, {1, 100}} {
		b.Updates = append(b.Updates, store.IngestUpdate{UpdateID: int64(i + 1), Kind: "message", Message: &store.IngestMessage{
			TelegramMessageID: int64(i + 1), ChatID: m.chat, ChatType: "private", ChatTitle: "C", Type: "text", Text: "hi",
			Date: base.Add(time.Duration(m.min) * time.Minute)}})
	}
	if _, err := env.Store.IngestBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestAPIReports(t *testing.T) {
	env := newTestEnv(t)
	a := reportChannel(t, env, "Alpha", 7100000001)
	reportChannel(t, env, "Beta", 7100000002)
	key := env.apiKey(t, models.RoleOperator)
	window := "from=2026-11-30T10:00:00Z&to=2026-11-30T12:00:00Z&bucket=hour"

	t.Run("json of one channel", func(t *testing.T) {
		var rep apiReport
		env.api(t, key, http.MethodGet, "/api/v1/reports?channel_id="+a.ID+"&"+window, nil).wantStatus(t, http.StatusOK).json(t, &rep)
		if len(rep.Buckets) != 2 || rep.Buckets[0].MessagesIn != 2 || rep.Buckets[0].ConversationsOpened != 2 || rep.Buckets[1].MessagesIn != 1 ||
			rep.Buckets[1].ConversationsOpened != 0 || !rep.Buckets[0].Start.Equal(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("buckets %+v", rep.Buckets)
		}
		if len(rep.Channels) != 1 || rep.Channels[0].ChannelID != a.ID || rep.Channels[0].MessagesIn != 3 {
			t.Errorf("channels %+v", rep.Channels)
		}
		if rep.FirstResponseMS.P50 != nil || rep.Agents == nil {
			t.Errorf("no replies yet: %+v, agents %v", rep.FirstResponseMS, rep.Agents)
		}
	})
	t.Run("the contract's field names", func(t *testing.T) {
		r := env.api(t, key, http.MethodGet, "/api/v1/reports?"+window, nil).wantStatus(t, http.StatusOK)
		for _, f := range []string{`"buckets":[{"start":"2026-11-30T10:00:00Z","messages_in":4,"messages_out":0,"conversations_opened":4,"conversations_resolved":0`,
			`"first_response_ms":{"p50":null,"p90":null}`, `"resolution_ms":{"p50":null,"p90":null}`,
			`"callbacks":{"delivered":0,"retrying":0,"failed":0}`, `"agents":[]`} {
			if !strings.Contains(r.Body, f) {
				t.Errorf("body lacks %s:\n%s", f, r.Body)
			}
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := env.api(t, key, http.MethodGet, "/api/v1/reports?format=csv&"+window, nil).wantStatus(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("content type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || strings.Join(rows[0][:5], ",") != "start,messages_in,messages_out,conversations_opened,conversations_resolved" ||
			strings.Join(rows[1][:5], ",") != "2026-11-30T10:00:00Z,4,0,4,0" || strings.Join(rows[2][:5], ",") != "2026-11-30T11:00:00Z,2,0,0,0" {
			t.Errorf("csv %q", rows)
		}
		r = env.api(t, key, http.MethodGet, "/api/v1/reports?format=csv&table=channels&"+window, nil).wantStatus(t, http.StatusOK)
		rows, _ = csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if len(rows) != 3 || rows[1][1] != "Alpha" || rows[1][2] != "3" || rows[2][1] != "Beta" {
			t.Errorf("channels csv %q", rows)
		}
	})
	t.Run("errors and access", func(t *testing.T) {
		for _, tc := range []struct {
			name, key, query string
			status           int
		}{
			{"unknown bucket", key, "bucket=week", http.StatusUnprocessableEntity},
			{"unparsable from", key, "from=yesterday", http.StatusUnprocessableEntity},
			{"to before from", key, "from=2026-11-30T12:00:00Z&to=2026-11-30T10:00:00Z", http.StatusUnprocessableEntity},
			{"too many hourly buckets", key, "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=hour", http.StatusUnprocessableEntity},
			{"unknown channel", key, "channel_id=tg-aaaaaaaaaa", http.StatusNotFound},
			{"agent key", env.apiKey(t, models.RoleAgent), "", http.StatusForbidden},
			{"no key", "", "", http.StatusUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env.api(t, tc.key, http.MethodGet, "/api/v1/reports?"+tc.query, nil).wantStatus(t, tc.status)
			})
		}
	})
}

func TestReportsPageAndOverviewCharts(t *testing.T) {
	env := newTestEnv(t)
	a := reportChannel(t, env, "Alpha", 7100000003)
	op := env.userClient(t, models.RoleOperator)

	t.Run("reports page", func(t *testing.T) {
		r := op.get("/reports?from=2026-11-30&to=2026-11-30&bucket=hour").wantStatus(t, http.StatusOK)
		d := r.doc(t)
		if d.Find(`nav a[href="/reports"]`).Length() != 1 {
			t.Error("no Reports link in the navigation")
		}
		for _, sel := range []string{`select[name=channel_id]`, `input[name=from][type=date]`, `input[name=to][type=date]`, `select[name=bucket]`} {
			if d.Find(sel).Length() != 1 {
				t.Errorf("form lacks %s", sel)
			}
		}
		// 24 hourly buckets; Alpha's 10:00 hour holds its first two messages.
		rows := d.Find(`[data-testid=chart-rep-messages] table tbody tr`)
		if rows.Length() != 24 {
			t.Fatalf("%d rows in the messages table, want 24", rows.Length())
		}
		row := rows.Eq(10)
		if got := row.Find("th").Text() + "|" + row.Find("td").Eq(0).Text() + "|" + row.Find("td").Eq(1).Text(); got != "2026-11-30 10:00 UTC|2|0" {
			t.Errorf("10:00 row %q", got)
		}
		svg := d.Find(`[data-testid=chart-rep-messages] svg`)
		if role, _ := svg.Attr("role"); role != "img" || svg.Find("rect title").Length() != 48 {
			t.Errorf("svg role %q, %d titled bars", role, svg.Find("rect title").Length())
		}
		if desc, _ := svg.Attr("aria-describedby"); d.Find("#"+desc).Text() == "" {
			t.Error("svg without its text summary")
		}
		if strings.Contains(r.Body, "style=") || strings.Contains(r.Body, "<script>") {
			t.Error("inline style or script (CSP)")
		}
		if got := d.Find(`[data-testid=report-channels-table] tbody tr`).Length(); got != 1 {
			t.Errorf("%d channel rows", got)
		}
		if href, _ := d.Find(`a[href^="/reports/export?table=agents"]`).Attr("href"); href == "" {
			t.Error("no agents CSV link")
		} else {
			csvr := op.get(href).wantStatus(t, http.StatusOK)
			if !strings.HasPrefix(csvr.Body, "user,conversations,replies,first_response_ms_p50,resolution_ms_p50") {
				t.Errorf("agents csv %q", csvr.Body)
			}
		}
		op.get("/reports?from=2026-12-02&to=2026-11-30").wantStatus(t, http.StatusUnprocessableEntity)
		op.get("/reports?channel_id=tg-aaaaaaaaaa").wantStatus(t, http.StatusNotFound)
		env.userClient(t, models.RoleAgent).get("/reports").wantStatus(t, http.StatusForbidden)
	})

	t.Run("overview", func(t *testing.T) {
		for rng, n := range map[string]int{"24h": 24, "30d": 30} {
			d := op.get("/channels/"+a.ID+"/overview?range="+rng).wantStatus(t, http.StatusOK).doc(t)
			for _, id := range []string{"messages", "conversations", "first-response", "resolution", "callbacks", "latency", "queue", "health"} {
				fig := d.Find(`[data-testid=chart-ov-` + rng + `-` + id + `]`)
				if fig.Find(`svg[role=img]`).Length() != 1 || fig.Find("table tbody tr").Length() != n {
					t.Errorf("%s %s: %d svgs, %d rows", rng, id, fig.Find(`svg[role=img]`).Length(), fig.Find("table tbody tr").Length())
				}
			}
		}
		r := op.htmx(http.MethodGet, "/channels/"+a.ID+"/overview?range=30d", nil).wantStatus(t, http.StatusOK)
		if !strings.Contains(r.Body, `data-testid="overview-activity"`) || strings.Contains(r.Body, "<html") {
			t.Error("htmx overview is not the partial with charts")
		}
	})
}
