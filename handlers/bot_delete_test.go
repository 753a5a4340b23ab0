package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// seedChats stores synced groups/channels, a conversation and messages
// for ch, as the poller would.
func seedChats(t *testing.T, env *botEnv, ch *models.Channel, botID int64) {
	t.Helper()
	now := time.Now().UTC()
	for i, typ := range []string{"group", "supergroup", "channel"} {
		env.exec(t, "INSERT INTO chats (channel_id, chat_id, type, title, added_at) VALUES (?, ?, ?, ?, ?)", ch.ID, -100-i, typ, "Chat "+typ, now)
	}
	env.exec(t, "INSERT INTO conversations (channel_id, chat_id, chat_type, last_message_at) VALUES (?, 42, 'private', ?)", ch.ID, now)
	for _, text := range []string{"hello", "help please"} {
		env.exec(t, "INSERT INTO messages (channel_id, bot_telegram_id, chat_id, chat_type, direction, text, created_at) VALUES (?, ?, 42, 'private', 'in', ?, ?)", ch.ID, botID, text, now)
	}
}

func TestBotDelete(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	other := env.createChannel(t, "Sales")
	env.connectAPI(t, ch, env.addBot(314159265, "doomed_bot")).wantStatus(t, http.StatusCreated)
	env.connectAPI(t, other, env.addBot(271828182, "kept_bot")).wantStatus(t, http.StatusCreated)
	seedChats(t, env, ch, 314159265)
	seedChats(t, env, other, 271828182)
	admin := env.userClient(t, models.RoleAdmin)

	doc := admin.get("/channels/"+ch.ID+"/chatbot").wantStatus(t, http.StatusOK).doc(t)
	dlg := doc.Find(`dialog.modal#delete-bot-dialog`)
	losses := dlg.Find(`[data-testid=delete-bot-losses]`).Text()
	for _, want := range []string{"3 synced groups/channels", "1 chats", "2 messages", "nothing can be sent"} {
		if !strings.Contains(losses, want) {
			t.Errorf("delete dialog does not say %q: %q", want, losses)
		}
	}
	if v, _ := dlg.Find(`input[name=confirm]`).Attr("data-confirm-text"); v != "@doomed_bot" {
		t.Errorf("confirm text %q", v)
	}
	if doc.Find(`button[data-dialog-open=delete-bot-dialog]`).Text() != "Delete" {
		t.Error("no Delete button for the admin")
	}

	// A wrong confirmation deletes nothing.
	r := admin.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/delete", url.Values{"confirm": {"@kept_bot"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if !strings.Contains(r.text(t, `[data-testid=form-error]`), "@doomed_bot") {
		t.Errorf("confirm error %q", r.Body)
	}
	if len(env.runner.ops(314159265)) != 1 || env.count(t, "SELECT count(*) FROM bots WHERE channel_id = ?", ch.ID) != 1 {
		t.Fatal("a wrong confirmation touched the bot")
	}

	r = admin.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/delete", url.Values{"confirm": {"@doomed_bot"}}).wantStatus(t, http.StatusOK)
	if r.doc(t).Find(`[data-testid=bot-empty]`).Length() != 1 {
		t.Error("panel does not show the empty state after delete")
	}
	calls := env.runner.ops(314159265)
	if len(calls) != 2 || calls[1].Op != "stop" || !calls[1].BotStored {
		t.Errorf("runner calls %+v: want Stop while the bot row still existed", calls)
	}
	counts := map[string]int64{
		"SELECT count(*) FROM bots WHERE channel_id = ?":          0,
		"SELECT count(*) FROM chats WHERE channel_id = ?":         0,
		"SELECT count(*) FROM conversations WHERE channel_id = ?": 1,
		"SELECT count(*) FROM messages WHERE channel_id = ?":      2,
	}
	for q, want := range counts {
		if n := env.count(t, q, ch.ID); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
		if n := env.count(t, q, other.ID); n == 0 {
			t.Errorf("other channel lost rows: %s", q)
		}
	}
	e := env.wantAudit(t, "bot.delete", ch.ID)
	if !strings.Contains(e.Detail, "@doomed_bot") || !strings.Contains(e.Detail, "3 synced") {
		t.Errorf("audit detail %q", e.Detail)
	}
	if names := notifyNames(env.notifyEvents(t, ch.ID)); strings.Join(names, ",") != "bot_connected,bot_deleted" {
		t.Errorf("notify events %v", names)
	}
	// The same bot can now be connected again, to another channel even.
	third := env.createChannel(t, "Third")
	env.connectAPI(t, third, env.tg.IssueToken(314159265)).wantStatus(t, http.StatusCreated)
}

func TestBotDeleteAPIAndPlainForm(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	env.connectAPI(t, ch, env.addBot(161803398, "api_bot")).wantStatus(t, http.StatusCreated)
	seedChats(t, env, ch, 161803398)

	r := env.api(t, env.apiKey(t, models.RoleAdmin), http.MethodDelete, "/api/v1/channels/"+ch.ID+"/bot", nil).wantStatus(t, http.StatusOK)
	var out struct {
		Deleted      bool  `json:"deleted"`
		ChatsRemoved int64 `json:"chats_removed"`
	}
	r.json(t, &out)
	if !out.Deleted || out.ChatsRemoved != 3 {
		t.Errorf("delete answer %+v", out)
	}
	if c := env.runner.ops(161803398); len(c) != 2 || c[1].Op != "stop" || !c[1].BotStored {
		t.Errorf("runner calls %+v", c)
	}
	r = env.api(t, env.apiKey(t, models.RoleAdmin), http.MethodDelete, "/api/v1/channels/"+ch.ID+"/bot", nil).wantStatus(t, http.StatusNotFound)
	if code, _ := r.apiError(t); code != "not_found" {
		t.Errorf("second delete code %q", code)
	}

	// Without JS: plain POST, redirect and flash.
	env.connectAPI(t, ch, env.tg.IssueToken(161803398)).wantStatus(t, http.StatusCreated)
	admin := env.userClient(t, models.RoleAdmin)
	r = admin.postForm("/channels/"+ch.ID+"/chatbot/delete", url.Values{"confirm": {"api_bot"}}).wantStatus(t, http.StatusSeeOther)
	if got := admin.get(r.location()).text(t, `[data-testid=flash]`); !strings.Contains(got, "@api_bot deleted") {
		t.Errorf("flash %q", got)
	}
	if n := env.count(t, "SELECT count(*) FROM bots"); n != 0 {
		t.Errorf("%d bots left", n)
	}
}
