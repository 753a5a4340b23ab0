package handlers

import (
	"github.com/botdesk/botdesk/callbacks"

	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
	"github.com/botdesk/botdesk/views"
)

func waitBotState(t *testing.T, env *testEnv, id int64, want models.BotState) *models.Bot {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := env.Store.BotByTelegramID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if b.State == want {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("bot state %s (%s), want %s", b.State, b.StateDetail, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func renderDoc(t *testing.T, bot *models.Bot) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := views.BotConflictNotice("tg-abc", "tok", bot).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestSwitchToPolling(t *testing.T) {
	const botID int64 = 7055555555
	fake := telegramtest.New()
	api := fake.Start()
	t.Cleanup(fake.Close)
	tok := fake.AddBot(telegramtest.BotSpec{ID: botID, Username: "hooked_bot"})
	fake.SetWebhook(botID, "https://other-service.example.com/hook")

	var sup *telegram.Supervisor
	env := newTestEnvWith(t, func(d *Deps) {
		sup = telegram.NewSupervisor(telegram.SupervisorConfig{Events: callbacks.Payloads{}, Store: d.Store, Sealer: d.Sealer, APIBase: api, PollTimeout: time.Second})
		d.Bots = sup
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-sup.Booted()

	ch := env.createChannel(t, "Hooked")
	sealed, err := env.Sealer.Seal([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateBot(context.Background(), &models.Bot{ChannelID: ch.ID, TelegramID: botID, Username: "hooked_bot",
		TokenEnc: sealed, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(context.Background(), botID); err != nil {
		t.Fatal(err)
	}
	bot := waitBotState(t, env, botID, models.BotConflict)

	doc := renderDoc(t, bot)
	if doc.Find("[data-testid=bot-conflict]").Length() != 1 || doc.Find("[data-testid=switch-polling-open]").Length() != 1 {
		t.Fatal("the webhook conflict notice offers no switch button")
	}
	if a, _ := doc.Find("#switch-polling-dialog form").Attr("action"); a != "/channels/tg-abc/bot/switch-polling" {
		t.Fatalf("form action = %q", a)
	}
	if doc.Find("#switch-polling-dialog input[name=csrf_token]").Length() != 1 {
		t.Fatal("form without CSRF field")
	}

	path := "/channels/" + ch.ID + "/bot/switch-polling"
	agent := env.userClient(t, models.RoleAgent)
	agent.postForm(path, url.Values{}).wantStatus(t, http.StatusForbidden)
	if fake.BotCalls(botID, "deleteWebhook") != 0 {
		t.Fatal("an agent deleted the webhook")
	}

	u := fake.Inject(botID, telegramtest.PrivateText(telegramtest.User(5500000001, "Ann", ""), "waiting since the webhook"))
	op := env.userClient(t, models.RoleOperator)
	r := op.postForm(path, url.Values{}).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/channels/"+ch.ID+"/chatbot" {
		t.Fatalf("redirect to %q", r.location())
	}
	if fake.BotCalls(botID, "deleteWebhook") != 1 {
		t.Fatal("deleteWebhook was not called")
	}
	waitBotState(t, env, botID, models.BotPolling)
	deadline := time.Now().Add(20 * time.Second)
	for b, _ := env.Store.BotByTelegramID(context.Background(), botID); b.UpdateOffset != int64(u.UpdateID)+1; b, _ = env.Store.BotByTelegramID(context.Background(), botID) {
		if time.Now().After(deadline) {
			t.Fatal("the update held during the webhook was not ingested")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if e := env.wantAudit(t, "bot.switch_polling", ch.ID); !strings.Contains(e.Detail, "@hooked_bot") {
		t.Fatalf("audit = %+v", e)
	}
}

func TestConflictNoticeOnlyForConflicts(t *testing.T) {
	polling := &models.Bot{Username: "b", State: models.BotPolling}
	if renderDoc(t, polling).Find("[data-testid=bot-conflict]").Length() != 0 {
		t.Fatal("notice shown for a polling bot")
	}
	other := &models.Bot{Username: "b", State: models.BotConflict, StateDetail: "Another program is polling this bot with the same token"}
	doc := renderDoc(t, other)
	if doc.Find("[data-testid=bot-conflict]").Length() != 1 || doc.Find("[data-testid=switch-polling-open]").Length() != 0 {
		t.Fatal("the other-poller conflict must be explained without offering to delete a webhook")
	}
	if renderDoc(t, nil).Find("*").Length() > 3 { // html/head/body of an empty document
		t.Fatal("notice rendered without a bot")
	}
}
