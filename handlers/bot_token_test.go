package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

func TestBotUpdateToken(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	oldTok := env.addBot(246813579, "swap_bot")
	env.connectAPI(t, ch, oldTok).wantStatus(t, http.StatusCreated)
	op := env.userClient(t, models.RoleOperator)

	doc := op.get("/channels/"+ch.ID+"/chatbot").wantStatus(t, http.StatusOK).doc(t)
	dlg := doc.Find(`dialog.modal#update-token-dialog`)
	if dlg.Length() != 1 || !strings.Contains(dlg.Text(), "briefly disconnect") {
		t.Fatalf("Update Token dialog missing or without the disconnect warning")
	}
	if dlg.Find(`input[name=token]`).Length() != 1 || dlg.Find(`label[for=update-token]`).Length() != 1 {
		t.Error("token input or its label missing")
	}
	for _, b := range []string{"OK", "Cancel"} {
		if dlg.Find(`button:contains("`+b+`")`).Length() == 0 {
			t.Errorf("dialog has no %s button", b)
		}
	}

	refused := []struct {
		name, token, code string
	}{
		{"other bot", env.addBot(135792468, "other_bot"), "different_bot"},
		{"revoked", func() string { tk := env.tg.IssueToken(246813579); env.tg.RevokeToken(tk); return tk }(), "token_rejected"},
		{"malformed", "246813579:short", "malformed_token"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := op.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/token", url.Values{"token": {tc.token}}).wantStatus(t, http.StatusUnprocessableEntity)
			if code, _ := r.doc(t).Find(`[data-testid=form-error]`).Attr("data-code"); code != tc.code {
				t.Errorf("%s: code %q, want %q", tc.name, code, tc.code)
			}
			if r.Header.Get("HX-Retarget") != "#update-token-feedback" {
				t.Errorf("%s: error not aimed at the dialog", tc.name)
			}
			if got := env.storedToken(t, ch.ID); got != oldTok {
				t.Fatalf("%s: the old token was replaced", tc.name)
			}
		})
	}
	// The API applies the same rule.
	r := env.api(t, env.apiKey(t, models.RoleOperator), http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": env.addBot(135792468, "other_bot")})
	if code, _ := r.wantStatus(t, http.StatusUnprocessableEntity).apiError(t); code != "different_bot" {
		t.Errorf("api code %q", code)
	}
	if n := len(env.audit(t, "bot.token_update")); n != 0 {
		t.Errorf("%d token_update audit entries after refusals", n)
	}
	// The old token still works with Telegram and is still what we hold.
	if env.storedToken(t, ch.ID) != oldTok {
		t.Fatal("old token lost")
	}

	newTok := env.tg.IssueToken(246813579)
	r = op.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/token", url.Values{"token": {" " + newTok + " "}}).wantStatus(t, http.StatusOK)
	if got := r.text(t, `[data-testid=bot-token]`); got != "246813579:••••••••"+newTok[len(newTok)-4:] {
		t.Errorf("hint after update %q", got)
	}
	if strings.Contains(r.Body, newTok) || strings.Contains(r.Body, oldTok) {
		t.Fatal("token rendered")
	}
	if env.storedToken(t, ch.ID) != newTok {
		t.Fatal("token not swapped")
	}
	env.wantAudit(t, "bot.token_update", ch.ID)
	if names := notifyNames(env.notifyEvents(t, ch.ID)); strings.Join(names, ",") != "bot_connected,token_updated" {
		t.Errorf("notify events %v", names)
	}
	calls := env.runner.ops(246813579)
	if len(calls) != 2 || calls[1].Op != "start" {
		t.Errorf("runner calls %+v, want start then a restart", calls)
	}
	if n := env.count(t, "SELECT count(*) FROM bots"); n != 1 {
		t.Errorf("%d bots", n)
	}
}

func TestBotUpdateTokenTelegramDownKeepsOld(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	oldTok := env.addBot(192837465, "steady_bot")
	env.connectAPI(t, ch, oldTok).wantStatus(t, http.StatusCreated)
	newTok := env.tg.IssueToken(192837465)
	env.tg.FailNextToken(newTok, "getMe", telegramtest.Fault{DropConnection: true})

	key := env.apiKey(t, models.RoleOperator)
	r := env.api(t, key, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": newTok})
	if code, _ := r.wantStatus(t, http.StatusBadGateway).apiError(t); code != "telegram_unreachable" {
		t.Errorf("code %q", code)
	}
	if env.storedToken(t, ch.ID) != oldTok {
		t.Fatal("old token replaced although getMe failed")
	}
	// Retrying once Telegram answers again succeeds.
	env.api(t, key, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": newTok}).wantStatus(t, http.StatusOK)
	if env.storedToken(t, ch.ID) != newTok {
		t.Fatal("retry did not swap the token")
	}
}

func TestBotUpdateTokenWithoutBot(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	r := env.api(t, env.apiKey(t, models.RoleOperator), http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": validShape})
	if code, _ := r.wantStatus(t, http.StatusNotFound).apiError(t); code != "not_found" {
		t.Errorf("code %q", code)
	}
	r = env.api(t, env.apiKey(t, models.RoleOperator), http.MethodGet, "/api/v1/channels/tg-aaaaaaaaaa/bot", nil)
	if code, _ := r.wantStatus(t, http.StatusNotFound).apiError(t); code != "not_found" {
		t.Errorf("unknown channel code %q", code)
	}
}
