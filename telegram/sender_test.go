package telegram

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

func (e *env) senderConfig() SenderConfig {
	fast := rate.Limit(1000)
	return SenderConfig{
		Events: callbacks.Payloads{}, Store: e.st, Sealer: e.sealer, APIBase: e.api, HTTPClient: e.hc,
		Limits:     LimiterConfig{PerBot: fast, PerBotBurst: 100, PerChat: fast, ChatBurst: 10, PerGroup: fast, GroupBurst: 10},
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond, Wait: e.waits.wait,
	}
}

func (e *env) runSender() *Sender {
	e.t.Helper()
	s := NewSender(e.senderConfig())
	stop := runBackground(s.Run)
	e.t.Cleanup(func() {
		if err := stop(); err != nil {
			e.t.Errorf("sender Run: %v", err)
		}
	})
	return s
}

func (e *env) queue(chatID int64, text string) *models.Message {
	e.t.Helper()
	m, _, err := e.st.QueueOutgoing(context.Background(), store.OutgoingMessage{ChannelID: e.channel.ID, ChatID: chatID, Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) outMessage(id int64) models.Message {
	e.t.Helper()
	var m models.Message
	if err := e.db.Take(&m, "id = ?", id).Error; err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) waitFinal(id int64) models.Message {
	e.t.Helper()
	var m models.Message
	waitUntil(e.t, "message to be sent or failed", func() bool {
		m = e.outMessage(id)
		return m.Status != "pending"
	})
	return m
}

func (e *env) statusEvent(messageID int64) callbacks.StatusEvent {
	e.t.Helper()
	var evs []models.OutboxEvent
	e.db.Where("kind = 'status'").Find(&evs)
	var found []callbacks.StatusEvent
	for _, ev := range evs {
		var se callbacks.StatusEvent
		if err := json.Unmarshal([]byte(ev.Payload), &se); err != nil {
			e.t.Fatal(err)
		}
		if se.MessageID == itoa(messageID) {
			found = append(found, se)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d status events for message %d", len(found), messageID)
	}
	return found[0]
}

func TestSenderSendsAndRecords(t *testing.T) {
	e := newEnv(t)
	changes, unsub := e.st.Hub().Subscribe()
	defer unsub()
	s := e.runSender()
	m1 := e.queue(alice.ID, "first")
	m2 := e.queue(alice.ID, "second")
	m3 := e.queue(super.ID, "to the group")
	s.Wake()
	for _, id := range []int64{m1.ID, m2.ID, m3.ID} {
		if m := e.waitFinal(id); m.Status != "sent" || m.TelegramMessageID == nil {
			t.Fatalf("message %d = %+v", id, m)
		}
	}
	sent := e.fake.Sent(testBotID)
	if len(sent) != 3 {
		t.Fatalf("Telegram got %d messages", len(sent))
	}
	var order []string
	for _, tm := range sent {
		if tm.Chat.ID == alice.ID {
			order = append(order, tm.Text)
		}
		if tm.Text == "first" && int64(tm.MessageID) != *e.outMessage(m1.ID).TelegramMessageID {
			t.Fatalf("telegram id not recorded: %d vs %d", tm.MessageID, *e.outMessage(m1.ID).TelegramMessageID)
		}
	}
	if strings.Join(order, ",") != "first,second" {
		t.Fatalf("per-chat order = %v", order)
	}
	if ev := e.statusEvent(m1.ID); ev.Status != "sent" || ev.ChatID != alice.ID || ev.ChannelID != e.channel.ID || ev.Timestamp == 0 {
		t.Fatalf("status event = %+v", ev)
	}
	waitUntil(t, "a status change on the hub", func() bool {
		for {
			select {
			case c := <-changes:
				if c.Kind == "status" && c.MessageID == m1.ID {
					return true
				}
			default:
				return false
			}
		}
	})
}

func TestSenderFailures(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(testBotID, "sendMessage", telegramtest.Fault{Status: 403, Description: "Forbidden: bot was blocked by the user"})
	blocked := e.queue(alice.ID, "hello?")
	s := e.runSender()
	s.Wake()
	m := e.waitFinal(blocked.ID)
	if m.Status != "failed" || m.ErrorCode != 403 || m.ErrorDescription != "Forbidden: bot was blocked by the user" {
		t.Fatalf("blocked = %+v", m)
	}
	if ev := e.statusEvent(blocked.ID); ev.Status != "failed" || ev.ErrorCode != 403 || ev.ErrorDescription == "" {
		t.Fatalf("status event = %+v", ev)
	}

	// Network errors: retried a few times, then failed with a clear reason.
	e.fake.FailNext(testBotID, "sendMessage", telegramtest.Fault{DropConnection: true, Times: 100})
	lost := e.queue(alice.ID, "into the void")
	s.Wake()
	m = e.waitFinal(lost.ID)
	if m.Status != "failed" || m.ErrorCode != 0 || !strings.Contains(m.ErrorDescription, "could not be reached after 5 attempts") {
		t.Fatalf("lost = %+v", m)
	}
	assertNoToken(t, e.token, m.ErrorDescription)
	e.fake.ClearFaults()

	// Two drops, then Telegram answers: sent once.
	e.fake.FailNext(testBotID, "sendMessage", telegramtest.Fault{DropConnection: true, Times: 2})
	flaky := e.queue(bob.ID, "eventually")
	s.Wake()
	if m := e.waitFinal(flaky.ID); m.Status != "sent" {
		t.Fatalf("flaky = %+v", m)
	}
}

func TestSenderHonoursRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.fake.FailNext(testBotID, "sendMessage", telegramtest.Fault{Status: 429, RetryAfter: 3})
	msg := e.queue(alice.ID, "slow down")
	s := e.runSender()
	s.Wake()
	if m := e.waitFinal(msg.ID); m.Status != "sent" {
		t.Fatalf("message = %+v", m)
	}
	if w := e.waits.all(); len(w) != 1 || w[0] != 3*time.Second {
		t.Fatalf("waits = %v, want one retry_after wait of 3s", w)
	}
	if calls, sent := e.fake.BotCalls(testBotID, "sendMessage"), len(e.fake.Sent(testBotID)); calls != 2 || sent != 1 {
		t.Fatalf("sendMessage calls %d, delivered %d", calls, sent)
	}
}

func TestSenderBotDeleted(t *testing.T) {
	e := newEnv(t)
	msg := e.queue(alice.ID, "too late")
	if _, err := e.st.DeleteBot(context.Background(), e.channel.ID); err != nil {
		t.Fatal(err)
	}
	s := e.runSender()
	s.Wake()
	m := e.waitFinal(msg.ID)
	if m.Status != "failed" || m.ErrorDescription != "bot deleted" {
		t.Fatalf("message = %+v", m)
	}
	if e.fake.Calls("sendMessage") != 0 {
		t.Fatal("sent through a deleted bot")
	}
}

func TestSenderRestartSendsWhatWasPending(t *testing.T) {
	e := newEnv(t)
	// The first send is slow; Run is stopped while it is in flight.
	e.fake.FailNext(testBotID, "sendMessage", telegramtest.Fault{Delay: 200 * time.Millisecond})
	var ids []int64
	for i := range 5 {
		ids = append(ids, e.queue(alice.ID, "m"+itoa(int64(i))).ID)
	}
	stop := runBackground(NewSender(e.senderConfig()).Run)
	waitUntil(t, "the first send to start", func() bool { return e.fake.BotCalls(testBotID, "sendMessage") >= 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The send in flight was allowed to finish and was recorded.
	if m := e.outMessage(ids[0]); m.Status != "sent" {
		t.Fatalf("in-flight message after shutdown = %+v", m)
	}
	e.runSender().Wake()
	for _, id := range ids {
		if m := e.waitFinal(id); m.Status != "sent" {
			t.Fatalf("message %d = %+v", id, m)
		}
	}
	if sent := e.fake.Sent(testBotID); len(sent) != 5 {
		t.Fatalf("Telegram got %d messages, want 5", len(sent))
	}
}
