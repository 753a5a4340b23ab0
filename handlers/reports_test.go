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
			key, query string
			status     int
		}{
			{key, "bucket=week", http.StatusUnprocessableEntity},
			{key, "from=yesterday", http.StatusUnprocessableEntity},
			{key, "from=2026-11-30T12:00:00Z&to=2026-11-30T10:00:00Z", http.StatusUnprocessableEntity},
			{key, "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=hour", http.StatusUnprocessableEntity},
			{key, "channel_id=tg-aaaaaaaaaa", http.StatusNotFound},
			{env.apiKey(t, models.RoleAgent), "", http.StatusForbidden},
			{"", "", http.StatusUnauthorized},
		} {
			env.api(t, tc.key, http.MethodGet, "/api/v1/reports?"+tc.query, nil).wantStatus(t, tc.status)
		}
	})
}
