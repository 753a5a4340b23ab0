package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

func TestBotEmptyStateOffersCreateAndConnect(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)
	doc := op.get("/channels/"+ch.ID+"/chatbot").wantStatus(t, http.StatusOK).doc(t)

	create := doc.Find(`[data-testid=create-bot]`)
	if !strings.Contains(create.Find("h2").Text(), "Create Bot") || create.Find("ol.steps li").Length() < 3 {
		t.Errorf("Create Bot section missing or without numbered steps: %q", create.Text())
	}
	if href, _ := create.Find(`a[href="https://t.me/BotFather"]`).Attr("href"); href == "" {
		t.Error("no t.me/BotFather link")
	}
	if !strings.Contains(doc.Find(`[data-testid=connect-bot] h2`).Text(), "Connect Existing Bot") {
		t.Error("no Connect Existing Bot section")
	}
	for _, via := range []string{"create", "connect"} {
		form := doc.Find(`[data-testid=connect-form-` + via + `]`)
		in := form.Find(`input[name=token]`)
		id, _ := in.Attr("id")
		if in.Length() != 1 || form.Find(`label[for="`+id+`"]`).Length() != 1 {
			t.Errorf("%s form: token input with a visible label missing", via)
		}
		if strings.TrimSpace(form.Find(`button[type=submit]`).Contents().First().Text()) != "Connect" {
			t.Errorf("%s form: submit button is not labelled Connect", via)
		}
		if _, ok := form.Attr("hx-disabled-elt"); !ok {
			t.Errorf("%s form: button is not disabled while connecting", via)
		}
	}
}

func TestBotConnectShowsInfoPanel(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	tok := env.addBot(123456789, "acme_support_bot")
	op := env.userClient(t, models.RoleOperator)

	// Pasted with whitespace around it: trimmed, not rejected.
	r := connectHTMX(op, ch, "connect", "  "+tok+"\n").wantStatus(t, http.StatusOK)
	doc := r.doc(t)
	checks := map[string]string{
		"bot-username":                "@acme_support_bot",
		"bot-id":                      "123456789",
		"can-join-groups":             "Yes",
		"can-read-all-group-messages": "No",
		"supports-inline-queries":     "Yes",
		"bot-token":                   "123456789:••••••••" + tok[len(tok)-4:],
		"bot-avatar":                  "A",
		"bot-state":                   "Connecting",
	}
	for id, want := range checks {
		if got := strings.TrimSpace(doc.Find(`[data-testid=` + id + `]`).First().Text()); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if href, _ := doc.Find(`[data-testid=bot-username]`).Attr("href"); href != "https://t.me/acme_support_bot" {
		t.Errorf("username link %q", href)
	}
	if trig, _ := doc.Find(`[data-testid=bot-state-fragment]`).Attr("hx-trigger"); !strings.HasPrefix(trig, "every ") {
		t.Errorf("state fragment does not refresh itself: hx-trigger=%q", trig)
	}
	for _, label := range []string{"Update Token", "Message Workbench Settings"} {
		if doc.Find(`button:contains("`+label+`")`).Length() == 0 {
			t.Errorf("no %q button", label)
		}
	}
	if doc.Find(`button[data-dialog-open=delete-bot-dialog]`).Length() != 0 {
		t.Error("operator sees Delete")
	}
	if strings.Contains(r.Body, tok) {
		t.Fatal("token rendered back")
	}

	if got := env.storedToken(t, ch.ID); got != tok {
		t.Errorf("stored token differs from the trimmed token")
	}
	env.wantAudit(t, "bot.connect", ch.ID)
	if evs := env.notifyEvents(t, ch.ID); len(evs) != 1 || evs[0].Event != "bot_connected" || evs[0].BotID != 123456789 || evs[0].BotUsername != "acme_support_bot" {
		t.Errorf("notify events %+v, want one bot_connected", evs)
	}
	if calls := env.runner.ops(123456789); len(calls) != 1 || calls[0].Op != "start" {
		t.Errorf("runner calls %+v, want one start", calls)
	}

	// The state fragment answers on its own URL.
	st := op.htmx(http.MethodGet, "/channels/"+ch.ID+"/chatbot/state", nil).wantStatus(t, http.StatusOK)
	if got := st.text(t, `[data-testid=bot-state]`); got != "Connecting" {
		t.Errorf("state fragment badge %q", got)
	}
	env.exec(t, "UPDATE bots SET state = 'conflict', state_detail = 'a webhook is set for this bot' WHERE telegram_id = 123456789")
	st = op.htmx(http.MethodGet, "/channels/"+ch.ID+"/chatbot/state", nil).wantStatus(t, http.StatusOK)
	if !strings.Contains(st.text(t, `[data-testid=bot-state-text]`), "webhook") || st.text(t, `[data-testid=bot-state-detail]`) != "a webhook is set for this bot" {
		t.Errorf("conflict state not explained: %s", st.Body)
	}
	if op.get("/channels/"+ch.ID+"/chatbot").doc(t).Find(`[data-testid=bot-conflict]`).Length() != 1 {
		t.Error("the tab does not show the conflict notice")
	}
}

func TestBotConnectWithoutJSRedirectsWithFlash(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	tok := env.addBot(111111111, "plain_bot")
	op := env.userClient(t, models.RoleOperator)

	r := op.postForm("/channels/"+ch.ID+"/chatbot/connect", url.Values{"token": {"nonsense"}}).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/channels/"+ch.ID+"/chatbot" {
		t.Fatalf("redirect to %q", r.location())
	}
	if got := op.get(r.location()).text(t, `[data-testid=flash]`); !strings.Contains(got, "not a bot token") {
		t.Errorf("flash %q", got)
	}
	r = op.postForm("/channels/"+ch.ID+"/chatbot/connect", url.Values{"token": {tok}}).wantStatus(t, http.StatusSeeOther)
	page := op.get(r.location())
	if got := page.text(t, `[data-testid=flash]`); !strings.Contains(got, "@plain_bot connected") {
		t.Errorf("flash %q", got)
	}
	if got := page.text(t, `[data-testid=bot-username]`); got != "@plain_bot" {
		t.Errorf("panel username %q", got)
	}
}

func TestBotConnectErrors(t *testing.T) {
	type setup struct {
		env *botEnv
		ch  *models.Channel
	}
	cases := []struct {
		name     string
		closed   bool // Telegram's port is closed
		prepare  func(t *testing.T, s setup) string
		code     string
		status   int
		noGetMe  bool   // rejected before any network call
		contains string // part of the message
	}{
		{name: "malformed", code: "malformed_token", status: 422, noGetMe: true, contains: "not a bot token",
			prepare: func(*testing.T, setup) string { return "hello" }},
		{name: "malformed inner space", code: "malformed_token", status: 422, noGetMe: true,
			prepare: func(_ *testing.T, s setup) string {
				tok := s.env.addBot(222222222, "space_bot")
				return tok[:15] + " " + tok[15:]
			}},
		{name: "malformed empty", code: "malformed_token", status: 422, noGetMe: true,
			prepare: func(*testing.T, setup) string { return "  \n" }},
		{name: "revoked token", code: "token_rejected", status: 422, contains: "rejected",
			prepare: func(_ *testing.T, s setup) string {
				tok := s.env.addBot(333333333, "revoked_bot")
				s.env.tg.RevokeToken(tok)
				return tok
			}},
		{name: "unknown token", code: "token_rejected", status: 422,
			prepare: func(*testing.T, setup) string { return validShape }},
		{name: "telegram slow", code: "telegram_unreachable", status: 502, contains: "Try again",
			prepare: func(_ *testing.T, s setup) string {
				tok := s.env.addBot(444444444, "slow_bot")
				s.env.tg.FailNext(444444444, "getMe", telegramtest.Fault{Delay: time.Minute, Times: 10})
				return tok
			}},
		{name: "telegram down", closed: true, code: "telegram_unreachable", status: 502,
			prepare: func(*testing.T, setup) string { return validShape }},
		{name: "telegram 500", code: "telegram_unreachable", status: 502,
			prepare: func(_ *testing.T, s setup) string {
				tok := s.env.addBot(555555555, "broken_bot")
				s.env.tg.FailNext(555555555, "getMe", telegramtest.Fault{Status: 500, Times: 10})
				return tok
			}},
		{name: "bot connected elsewhere", code: "bot_in_use", status: 409, contains: "“Sales”",
			prepare: func(t *testing.T, s setup) string {
				tok := s.env.addBot(666666666, "busy_bot")
				other := s.env.createChannel(t, "Sales")
				s.env.connectAPI(t, other, tok).wantStatus(t, http.StatusCreated)
				return s.env.tg.IssueToken(666666666)
			}},
		{name: "channel has a bot", code: "channel_has_bot", status: 409, contains: "@first_bot",
			prepare: func(t *testing.T, s setup) string {
				s.env.connectAPI(t, s.ch, s.env.addBot(777777777, "first_bot")).wantStatus(t, http.StatusCreated)
				return s.env.addBot(888888888, "second_bot")
			}},
	}
	for _, tc := range cases {
		for _, surface := range []string{"console", "api"} {
			t.Run(tc.name+"/"+surface, func(t *testing.T) {
				var env *botEnv
				if tc.closed {
					env = newBotEnvAt(t, telegramtest.New(), closedURL(t))
				} else {
					env = newBotEnv(t)
				}
				ch := env.createChannel(t, "Support")
				token := tc.prepare(t, setup{env, ch})
				botsBefore := env.count(t, "SELECT count(*) FROM bots")
				outboxBefore := env.count(t, "SELECT count(*) FROM outbox")
				auditBefore := len(env.audit(t, "bot."))
				getMeBefore := env.tg.Calls("getMe")

				var code, msg string
				if surface == "console" {
					op := env.userClient(t, models.RoleOperator)
					r := connectHTMX(op, ch, "create", token).wantStatus(t, http.StatusUnprocessableEntity)
					if got := r.Header.Get("HX-Retarget"); got != "#create-feedback" {
						t.Errorf("HX-Retarget %q", got)
					}
					e := r.doc(t).Find(`[data-testid=form-error]`)
					code, _ = e.Attr("data-code")
					msg = e.Text()
					if tc.code == "telegram_unreachable" && e.Find(`button[type=submit]`).Length() == 0 {
						t.Error("unreachable error offers no Retry")
					}
				} else {
					r := env.connectAPI(t, ch, token).wantStatus(t, tc.status)
					code, msg = r.apiError(t)
				}
				if code != tc.code {
					t.Errorf("code %q, want %q (message %q)", code, tc.code, msg)
				}
				if !strings.Contains(msg, tc.contains) {
					t.Errorf("message %q does not contain %q", msg, tc.contains)
				}
				if strings.TrimSpace(token) != "" && strings.Contains(msg, strings.TrimSpace(token)) {
					t.Error("error message contains the token")
				}
				if n := env.count(t, "SELECT count(*) FROM bots"); n != botsBefore {
					t.Errorf("bots %d → %d: something was stored", botsBefore, n)
				}
				if n := env.count(t, "SELECT count(*) FROM outbox"); n != outboxBefore {
					t.Errorf("outbox %d → %d", outboxBefore, n)
				}
				if n := len(env.audit(t, "bot.")); n != auditBefore {
					t.Errorf("audit entries %d → %d", auditBefore, n)
				}
				if tc.noGetMe && env.tg.Calls("getMe") != getMeBefore {
					t.Error("malformed token reached Telegram")
				}
			})
		}
	}
}

func TestBotConnectTwiceCreatesOneBot(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	tok := env.addBot(123123123, "double_bot")

	results := make(chan int, 4)
	for range 4 {
		go func() {
			results <- env.connectAPI(t, ch, tok).Status
		}()
	}
	created := 0
	for range 4 {
		switch st := <-results; st {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("status %d, want 201 or 200", st)
		}
	}
	if created != 1 {
		t.Errorf("%d requests created the bot, want 1", created)
	}
	if n := env.count(t, "SELECT count(*) FROM bots"); n != 1 {
		t.Errorf("%d bots stored", n)
	}
	if evs := env.notifyEvents(t, ch.ID); len(evs) != 1 {
		t.Errorf("notify events %v, want one", notifyNames(evs))
	}
}
