package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// scriptedAPI serves getUpdates from a fixed list of raw JSON updates and,
// unlike Telegram, never forgets them: whatever offset is asked for, the
// updates at or above it come back. That is what a replay after a lost
// offset looks like, and it can serve JSON no telego type would produce.
type scriptedAPI struct {
	mu      sync.Mutex
	updates []string // raw JSON, ascending update_id
	ids     []int64
	offsets []int64 // offsets asked for, in order
}

func (s *scriptedAPI) handler(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/getUpdates") {
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	var req struct {
		Offset int64 `json:"offset"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	s.offsets = append(s.offsets, req.Offset)
	var out []string
	for i, id := range s.ids {
		if id >= req.Offset {
			out = append(out, s.updates[i])
		}
	}
	s.mu.Unlock()
	if len(out) == 0 {
		// A short long-poll keeps an idle poller from spinning.
		select {
		case <-time.After(20 * time.Millisecond):
		case <-r.Context().Done():
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true,"result":[` + strings.Join(out, ",") + `]}`))
}

func (s *scriptedAPI) asked(offset int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.offsets {
		if o == offset {
			n++
		}
	}
	return n
}

func TestReplayAndUndecodableUpdates(t *testing.T) {
	e := newEnv(t)
	api := &scriptedAPI{
		ids: []int64{900, 901, 902, 903, 904},
		updates: []string{
			`{"update_id":900,"message":{"message_id":1,"date":1700000000,"chat":{"id":42,"type":"private","first_name":"Ann"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"text":"plain"}}`,
			// entities has the wrong shape: telego refuses the message, the
			// lenient path keeps its text and sender.
			`{"update_id":901,"message":{"message_id":2,"date":1700000001,"chat":{"id":42,"type":"private","first_name":"Ann"},"from":{"id":42,"is_bot":false,"first_name":"Ann","username":"ann","language_code":"uk"},"text":"odd entities","entities":"not-a-list"}}`,
			// An update kind botdesk does not handle.
			`{"update_id":902,"callback_query":{"id":"1","from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat_instance":"x"}}`,
			// A message that cannot be read at all.
			`{"update_id":903,"message":"garbage"}`,
			`{"update_id":904,"message":{"message_id":3,"date":1700000002,"chat":{"id":42,"type":"private","first_name":"Ann"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"text":"after"}}`,
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(api.handler))
	defer srv.Close()
	e.api = srv.URL

	run := func() (*Supervisor, func()) {
		sup := NewSupervisor(e.supervisorConfig())
		stop := runBackground(sup.Run)
		return sup, func() {
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		}
	}

	_, stop := run()
	e.caughtUp(904)
	stop()
	if n := e.count("ingested_updates", ""); n != 5 {
		t.Fatalf("ingested_updates = %d, want all 5 (unknown and unreadable ones too)", n)
	}
	var msgs []models.Message
	e.db.Order("id").Find(&msgs)
	if len(msgs) != 3 || msgs[1].Text != "odd entities" || msgs[1].FromUsername != "ann" || msgs[1].FromLanguage != "uk" || msgs[2].Text != "after" {
		t.Fatalf("messages = %+v", msgs)
	}

	// The offset is lost (reset to 0): everything comes again and nothing
	// is stored twice.
	if err := e.st.SetUpdateOffset(context.Background(), testBotID, 0); err != nil {
		t.Fatal(err)
	}
	sup, stop := run()
	waitUntil(t, "the replayed batch to be skipped", func() bool {
		return api.asked(0) >= 1 && api.asked(905) >= 2 && e.bot().UpdateOffset == 905
	})
	m := metricsText(sup)
	stop()
	if !strings.Contains(m, "# HELP botdesk_bot_poll_lag_seconds ") ||
		!strings.Contains(m, fmt.Sprintf(`botdesk_bot_poll_lag_seconds{bot_id="%d",channel=`, testBotID)) {
		t.Errorf("no poll lag for the running poller:\n%s", m)
	}
	if !strings.Contains(m, "botdesk_updates_replayed_total 5") || !strings.Contains(m, "botdesk_updates_ingested_total 0") {
		t.Fatalf("metrics after replay:\n%s", m)
	}
	if n := e.count("messages", ""); n != 3 {
		t.Fatalf("%d messages after replay, want 3", n)
	}
	if n := e.count("outbox", "kind = 'mo'"); n != 3 {
		t.Fatalf("%d mo events after replay, want 3", n)
	}
}

func TestRestartMidStreamLosesAndDuplicatesNothing(t *testing.T) {
	e := newEnv(t)
	sup := e.runSupervisor()
	<-sup.Booted()
	const total = 150
	var last int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			u := e.fake.Inject(testBotID, telegramtest.PrivateText(telegramtest.User(int64(1000+i%7), "U", ""), "m"))
			last = u.UpdateID
			if i%10 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	for i := range 12 {
		if i == 6 {
			// Update Token half way: the new token replaces the old, which
			// is revoked, and the poller restarts with it.
			newTok := e.fake.IssueToken(testBotID)
			sealed, _ := e.sealer.Seal([]byte(newTok))
			if err := e.st.ReplaceBotToken(context.Background(), e.channel.ID, testBotID, sealed, "hint", storeProfile()); err != nil {
				t.Fatal(err)
			}
			e.fake.RevokeToken(e.token)
		}
		if err := sup.Start(context.Background(), testBotID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	<-done
	e.caughtUp(last)
	if n := e.count("messages", ""); n != total {
		t.Fatalf("%d messages, want %d", n, total)
	}
	var dups int64
	e.db.Raw("SELECT COUNT(*) FROM (SELECT chat_id, telegram_message_id FROM messages GROUP BY 1, 2 HAVING COUNT(*) > 1) AS d").Scan(&dups)
	if dups != 0 || e.count("outbox", "kind = 'mo'") != total || e.count("ingested_updates", "") != total {
		t.Fatalf("duplicates %d, mo %d, ingested %d", dups, e.count("outbox", "kind = 'mo'"), e.count("ingested_updates", ""))
	}
	if b := e.bot(); b.State != models.BotPolling {
		t.Fatalf("state = %s (%s)", b.State, b.StateDetail)
	}
}
