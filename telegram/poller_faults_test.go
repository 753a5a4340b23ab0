package telegram

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

func (e *env) waitState(st models.BotState) *models.Bot {
	e.t.Helper()
	var b *models.Bot
	waitUntil(e.t, "bot state "+string(st), func() bool {
		b = e.bot()
		return b.State == st
	})
	return b
}

func metricsText(sup *Supervisor) string {
	var buf bytes.Buffer
	sup.WriteMetrics(context.Background(), &buf)
	return buf.String()
}

func assertNoToken(t *testing.T, token, s string) {
	t.Helper()
	secret := token[strings.IndexByte(token, ':')+1:]
	if strings.Contains(s, secret) {
		t.Fatalf("token leaked into %q", s)
	}
}

func TestUnauthorizedStopsAndNotifiesOnce(t *testing.T) {
	e := newEnv(t)
	e.fake.RevokeToken(e.token)
	sup := e.runSupervisor()
	b := e.waitState(models.BotTokenInvalid)
	waitUntil(t, "the poller to stop", func() bool { return !sup.Running(testBotID) })
	if !strings.Contains(b.StateDetail, "Update Token") {
		t.Fatalf("detail = %q", b.StateDetail)
	}
	assertNoToken(t, e.token, b.StateDetail)
	var evs []models.OutboxEvent
	e.db.Where("kind = 'notify'").Find(&evs)
	if len(evs) != 1 || !strings.Contains(evs[0].Payload, `"event":"`+callbacks.NotifyTokenInvalid+`"`) ||
		!strings.Contains(evs[0].Payload, `"bot_id":7012345678`) {
		t.Fatalf("notify events = %+v", evs)
	}
	// Starting again with the same bad token records no second notification.
	if err := sup.Start(context.Background(), testBotID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the poller to stop again", func() bool { return !sup.Running(testBotID) })
	if n := e.count("outbox", "kind = 'notify'"); n != 1 {
		t.Fatalf("%d notify events after a second 401", n)
	}
	if calls := e.fake.BotCalls(testBotID, "getUpdates"); calls != 0 {
		t.Fatalf("%d authenticated getUpdates calls with a revoked token", calls)
	}
	if m := metricsText(sup); !strings.Contains(m, `botdesk_getupdates_errors_total{kind="unauthorized"} 2`) {
		t.Fatalf("metrics:\n%s", m)
	}
}

func TestTokenInvalidBotIsNotStartedAtBoot(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.SetBotState(context.Background(), testBotID, models.BotTokenInvalid, "x"); err != nil {
		t.Fatal(err)
	}
	e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "hi"))
	sup := e.runSupervisor()
	<-sup.Booted()
	if sup.Running(testBotID) {
		t.Fatal("a token_invalid bot was started at boot")
	}
	if calls := e.fake.Calls("getUpdates"); calls != 0 {
		t.Fatalf("getUpdates called %d times", calls)
	}
}

func TestWebhookConflictStopsUntilSwitchToPolling(t *testing.T) {
	e := newEnv(t)
	e.fake.SetWebhook(testBotID, "https://elsewhere.example.com/hook")
	sup := e.runSupervisor()
	b := e.waitState(models.BotConflict)
	waitUntil(t, "the poller to stop", func() bool { return !sup.Running(testBotID) })
	if !strings.Contains(b.StateDetail, "webhook") || !strings.Contains(b.StateDetail, "Switch this bot to polling") {
		t.Fatalf("detail = %q", b.StateDetail)
	}
	calls := e.fake.BotCalls(testBotID, "getUpdates")
	if calls != 1 {
		t.Fatalf("getUpdates called %d times while a webhook is set; it must stop after the first 409", calls)
	}
	if e.fake.BotCalls(testBotID, "deleteWebhook") != 0 {
		t.Fatal("the webhook was deleted without the operator asking")
	}

	u := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "after switch"))
	if err := sup.SwitchToPolling(context.Background(), testBotID); err != nil {
		t.Fatal(err)
	}
	e.caughtUp(u.UpdateID)
	if b := e.waitState(models.BotPolling); b.StateDetail != "" {
		t.Fatalf("detail after recovery = %q", b.StateDetail)
	}
	if e.count("messages", "text = 'after switch'") != 1 {
		t.Fatal("the pending update was not stored after switching")
	}
}

func TestOtherPollerConflictRetriesSlowly(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(testBotID, "getUpdates", telegramtest.Fault{Status: 409, Times: 1 << 20})
	sup := e.runSupervisor()
	b := e.waitState(models.BotConflict)
	// views.BotConflictNotice offers the webhook switch only when the
	// detail mentions a webhook; this case must not.
	if !strings.Contains(b.StateDetail, "Another program is polling") || strings.Contains(strings.ToLower(b.StateDetail), "webhook") {
		t.Fatalf("detail = %q", b.StateDetail)
	}
	waitUntil(t, "a few slow retries", func() bool { return e.fake.BotCalls(testBotID, "getUpdates") >= 3 })
	if !sup.Running(testBotID) {
		t.Fatal("the poller gave up; it must keep retrying while another instance polls")
	}
	for _, w := range e.waits.all() {
		if w != 3*time.Millisecond { // ConflictRetry in the test config
			t.Fatalf("waits = %v; every retry must wait ConflictRetry", e.waits.all())
		}
	}
	e.fake.ClearFaults()
	u := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "back"))
	e.caughtUp(u.UpdateID)
	e.waitState(models.BotPolling)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(testBotID, "getUpdates", telegramtest.Fault{Status: 429, RetryAfter: 7})
	u := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "hi"))
	sup := e.runSupervisor()
	e.caughtUp(u.UpdateID)
	waits := e.waits.all()
	if len(waits) != 1 || waits[0] != 7*time.Second {
		t.Fatalf("waits = %v, want exactly one wait of retry_after=7s before the next call", waits)
	}
	// 1 call answered 429, then the call that delivered the update.
	if calls := e.fake.BotCalls(testBotID, "getUpdates"); calls < 2 {
		t.Fatalf("getUpdates calls = %d", calls)
	}
	if m := metricsText(sup); !strings.Contains(m, "botdesk_getupdates_retry_after_waits_total 1") {
		t.Fatalf("metrics:\n%s", m)
	}
	if b := e.bot(); b.State != models.BotPolling {
		t.Fatalf("state = %s", b.State)
	}
}

func TestServerErrorsBackOffAndRecover(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(testBotID, "getUpdates", telegramtest.Fault{Status: 500, Times: 1 << 20})
	sup := e.runSupervisor()
	b := e.waitState(models.BotError)
	if !strings.Contains(b.StateDetail, "unreachable") || !strings.Contains(b.StateDetail, "500") {
		t.Fatalf("detail = %q", b.StateDetail)
	}
	assertNoToken(t, e.token, b.StateDetail)
	waitUntil(t, "several retries", func() bool { return len(e.waits.all()) >= 6 })
	e.fake.ClearFaults()
	u := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "recovered"))
	e.caughtUp(u.UpdateID)
	e.waitState(models.BotPolling)

	// Backoff doubles from BackoffMin (1ms) to BackoffMax (4ms), with
	// jitter in [d/2, d].
	bounds := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	for i, w := range e.waits.all()[:4] {
		if w < bounds[i]/2 || w > bounds[i] {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, w, bounds[i]/2, bounds[i])
		}
	}
	if m := metricsText(sup); !strings.Contains(m, `botdesk_getupdates_errors_total{kind="unavailable"}`) {
		t.Fatalf("metrics:\n%s", m)
	}
}

func TestSlowAndDroppedResponses(t *testing.T) {
	e := newEnv(t)
	first := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "one"))
	e.fake.FailNext(testBotID, "getUpdates", telegramtest.Fault{Delay: 300 * time.Millisecond})
	e.fake.FailNext(testBotID, "getUpdates", telegramtest.Fault{DropConnection: true, Times: 3})
	e.runSupervisor()
	e.waitState(models.BotError)
	e.caughtUp(first.UpdateID)
	// A drop after the batch was stored: the next getUpdates confirms it.
	e.fake.FailNext(testBotID, "getUpdates", telegramtest.Fault{DropConnection: true})
	second := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "two"))
	e.caughtUp(second.UpdateID)
	e.waitState(models.BotPolling)
	if n := e.count("messages", ""); n != 2 {
		t.Fatalf("%d messages, want 2 (nothing lost or duplicated)", n)
	}
}
