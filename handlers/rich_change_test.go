package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// changeFixture is a channel with a bot connected to the fake Bot API and
// a workbench conversation with one message the bot sent.
type changeFixture struct {
	be     *botEnv
	f      *wbFixture
	conv   *models.Conversation
	token  string
	chatID int64
}

func newChangeFixture(t *testing.T) *changeFixture {
	t.Helper()
	be := newBotEnv(t)
	f := newWBFixture(t, be.testEnv, "Support")
	token := be.addBot(7100000001, "acme_edit_bot")
	be.connectAPI(t, f.ch, token).wantStatus(t, http.StatusCreated)
	cf := &changeFixture{be: be, f: f, token: token, chatID: 5551234}
	cf.conv = f.conv(t, cf.chatID, "Ann")
	return cf
}

// sent stores an outgoing message that Telegram really has (sent to the
// fake), as the sender would have recorded it.
func (cf *changeFixture) sent(t *testing.T, text string) *models.Message {
	t.Helper()
	id := sentThroughFake(t, cf.be.testEnv, cf.be.tgURL, cf.token, cf.f.ch.ID, cf.chatID, text)
	out := cf.f.message(t, id)
	return &out
}

func (cf *changeFixture) statusEvents(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := cf.be.db.Query("SELECT payload FROM outbox WHERE kind = 'status' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		var ev callbacks.StatusEvent
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.MessageID == itoa(id) {
			out = append(out, ev.Status)
		}
	}
	return out
}

func TestAPIEditAndDeleteSentMessage(t *testing.T) {
	t.Parallel()
	cf := newChangeFixture(t)
	be, f := cf.be, cf.f
	agent := be.apiKey(t, models.RoleAgent)
	m := cf.sent(t, "Your order ships Monday")
	path := "/api/v1/channels/" + f.ch.ID + "/messages/" + itoa(m.ID)

	var out struct {
		MessageID int64  `json:"message_id"`
		Status    string `json:"status"`
		Text      string `json:"text"`
	}
	be.api(t, agent, http.MethodPatch, path, map[string]string{"text": "Your order ships Tuesday"}).wantStatus(t, http.StatusOK).json(t, &out)
	if out.Status != "edited" || out.Text != "Your order ships Tuesday" {
		t.Fatalf("edit answered %+v", out)
	}
	if tm, _ := be.tg.Message(7100000001, cf.chatID, int(*m.TelegramMessageID)); tm.Text != "Your order ships Tuesday" {
		t.Fatalf("Telegram has %q", tm.Text)
	}
	if got := f.message(t, m.ID); got.Text != "Your order ships Tuesday" || got.EditedAt == nil {
		t.Fatalf("stored %+v", got)
	}
	if n := be.count(t, "SELECT count(*) FROM message_edits WHERE message_id = ? AND text = ?", m.ID, "Your order ships Monday"); n != 1 {
		t.Errorf("%d earlier versions kept", n)
	}
	be.wantAudit(t, "message.edit", itoa(m.ID))

	t.Run("refusals", func(t *testing.T) {
		r := be.api(t, agent, http.MethodPatch, path, map[string]string{"text": "Your order ships Tuesday"}).wantStatus(t, http.StatusUnprocessableEntity)
		if _, msg := r.apiError(t); !strings.Contains(msg, "same as the current") {
			t.Errorf("same text: %q", msg)
		}
		be.api(t, agent, http.MethodPatch, path, map[string]string{"text": ""}).wantStatus(t, http.StatusUnprocessableEntity)
		be.api(t, agent, http.MethodPatch, path, "{").wantStatus(t, http.StatusUnprocessableEntity)
		// Telegram refuses: the answer says why in plain words, nothing is stored.
		be.tg.FailNext(7100000001, "editMessageText", telegramtest.Fault{Status: 400, Description: telegramtest.DescCantEdit})
		r = be.api(t, agent, http.MethodPatch, path, map[string]string{"text": "later"}).wantStatus(t, http.StatusConflict)
		if _, msg := r.apiError(t); !strings.Contains(msg, "does not allow editing") {
			t.Errorf("can't edit: %q", msg)
		}
		if got := f.message(t, m.ID); got.Text != "Your order ships Tuesday" {
			t.Errorf("a refused edit was stored: %q", got.Text)
		}
		in := f.msg(t, cf.conv, "customer text", func(x *models.Message) { x.TelegramMessageID = ptrInt64(1) })
		be.api(t, agent, http.MethodPatch, "/api/v1/channels/"+f.ch.ID+"/messages/"+itoa(in.ID), map[string]string{"text": "x"}).
			wantStatus(t, http.StatusUnprocessableEntity)
		be.api(t, agent, http.MethodPatch, "/api/v1/channels/"+f.ch.ID+"/messages/99999", map[string]string{"text": "x"}).
			wantStatus(t, http.StatusNotFound)
		other := newWBFixture(t, be.testEnv, "Other")
		be.api(t, agent, http.MethodPatch, "/api/v1/channels/"+other.ch.ID+"/messages/"+itoa(m.ID), map[string]string{"text": "x"}).
			wantStatus(t, http.StatusNotFound)
	})

	t.Run("agents only in workbench chats", func(t *testing.T) {
		hidden := cf.sent(t, "to a chat outside the workbench")
		if err := f.db.Model(&models.Conversation{}).Where("id = ?", cf.conv.ID).Update("in_workbench", false).Error; err != nil {
			t.Fatal(err)
		}
		defer f.db.Model(&models.Conversation{}).Where("id = ?", cf.conv.ID).Update("in_workbench", true)
		p := "/api/v1/channels/" + f.ch.ID + "/messages/" + itoa(hidden.ID)
		be.api(t, agent, http.MethodPatch, p, map[string]string{"text": "x"}).wantStatus(t, http.StatusNotFound)
		be.api(t, agent, http.MethodDelete, p, nil).wantStatus(t, http.StatusNotFound)
		be.api(t, be.apiKey(t, models.RoleOperator), http.MethodPatch, p, map[string]string{"text": "fixed by the integration"}).
			wantStatus(t, http.StatusOK)
		be.api(t, "", http.MethodDelete, p, nil).wantStatus(t, http.StatusUnauthorized)
	})

	be.api(t, agent, http.MethodDelete, path, nil).wantStatus(t, http.StatusOK).json(t, &out)
	if out.Status != "deleted" {
		t.Fatalf("delete answered %+v", out)
	}
	if _, ok := be.tg.Message(7100000001, cf.chatID, int(*m.TelegramMessageID)); ok {
		t.Fatal("Telegram still has the deleted message")
	}
	if got := f.message(t, m.ID); got.DeletedAt == nil {
		t.Fatal("deleted_at not set")
	}
	be.wantAudit(t, "message.delete", itoa(m.ID))
	r := be.api(t, agent, http.MethodDelete, path, nil).wantStatus(t, http.StatusUnprocessableEntity)
	if _, msg := r.apiError(t); !strings.Contains(msg, "already deleted") {
		t.Errorf("second delete: %q", msg)
	}
	if got := cf.statusEvents(t, m.ID); strings.Join(got, ",") != "sent,edited,deleted" && strings.Join(got, ",") != "edited,deleted" {
		t.Errorf("status events %v, want edited then deleted", got)
	}

	t.Run("too old to delete", func(t *testing.T) {
		old := cf.sent(t, "from last week")
		be.tg.SetMessageDate(7100000001, cf.chatID, int(*old.TelegramMessageID), time.Now().Add(-72*time.Hour))
		r := be.api(t, agent, http.MethodDelete, "/api/v1/channels/"+f.ch.ID+"/messages/"+itoa(old.ID), nil).wantStatus(t, http.StatusConflict)
		if _, msg := r.apiError(t); !strings.Contains(msg, "48 hours") {
			t.Errorf("too old: %q", msg)
		}
		if got := f.message(t, old.ID); got.DeletedAt != nil {
			t.Error("a refused delete was recorded")
		}
	})
}

func TestWorkbenchEditAndDelete(t *testing.T) {
	t.Parallel()
	cf := newChangeFixture(t)
	be := cf.be
	m := cf.sent(t, "Helo <there>")
	agent := be.userClient(t, models.RoleAgent)
	base := "/workbench/c/" + itoa(cf.conv.ID)
	msgBase := base + "/m/" + itoa(m.ID)

	doc := agent.get(base).doc(t)
	bubble := doc.Find("#msg-" + itoa(m.ID))
	if bubble.Find("[data-testid=msg-edit]").Length() != 1 || bubble.Find("[data-testid=msg-delete]").Length() != 1 {
		t.Fatal("a sent message has no Edit and Delete")
	}
	form := agent.htmx(http.MethodGet, msgBase+"/edit", nil).wantStatus(t, http.StatusOK)
	if v := form.doc(t).Find("textarea[name=text]").Text(); v != "Helo <there>" {
		t.Fatalf("edit form text %q", v)
	}
	// A direct load of the edit form is a whole page.
	if agent.get(msgBase+"/edit").wantStatus(t, http.StatusOK).doc(t).Find("nav.sidebar textarea, [data-testid=msg-edit-form]").Length() == 0 {
		t.Fatal("no edit form on a direct load")
	}
	r := agent.htmx(http.MethodPost, msgBase+"/edit", url.Values{"text": {"Hello <there>"}}).wantStatus(t, http.StatusOK)
	if got := r.doc(t).Find("[data-testid=msg-text]").Text(); got != "Hello <there>" {
		t.Fatalf("edited bubble text %q", got)
	}
	if r.doc(t).Find("[data-testid=msg-edits]").Length() != 1 {
		t.Fatal("the bubble does not say it was edited")
	}
	r = agent.htmx(http.MethodPost, msgBase+"/edit", url.Values{"text": {"Hello <there>"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, "same as the current") {
		t.Fatalf("same text: %s", r.Body)
	}

	dlg := agent.htmx(http.MethodGet, msgBase+"/delete", nil).wantStatus(t, http.StatusOK)
	if dlg.doc(t).Find("dialog [data-testid=msg-delete-ok]").Length() != 1 {
		t.Fatal("no confirmation dialog")
	}
	// Telegram refuses: the dialog says why, the bubble stays.
	be.tg.FailNext(7100000001, "deleteMessage", telegramtest.Fault{Status: 400, Description: telegramtest.DescCantDelete})
	r = agent.htmx(http.MethodPost, msgBase+"/delete", nil).wantStatus(t, http.StatusUnprocessableEntity)
	if r.Header.Get("HX-Retarget") != "#msg-delete-feedback" || !strings.Contains(r.Body, "48 hours") {
		t.Fatalf("refused delete: %v %s", r.Header, r.Body)
	}
	r = agent.htmx(http.MethodPost, msgBase+"/delete", nil).wantStatus(t, http.StatusOK)
	if got := r.doc(t).Find("[data-testid=msg-status]").Text(); got != "Deleted" {
		t.Fatalf("deleted bubble status %q", got)
	}
	if r.doc(t).Find("[data-testid=msg-edit]").Length() != 0 {
		t.Fatal("a deleted message still offers Edit")
	}
	// Without the CSRF token nothing changes.
	agent.postRaw(msgBase+"/edit", url.Values{"text": {"x"}}).wantStatus(t, http.StatusForbidden)
}

// sentThroughFake sends text to the fake Bot API with token and stores it
// as the sender would have, returning botdesk's message id.
func sentThroughFake(t *testing.T, env *testEnv, apiURL, token, channelID string, chatID int64, text string) int64 {
	t.Helper()
	ctx := context.Background()
	tok, err := telegram.ParseToken(token)
	if err != nil {
		t.Fatal(err)
	}
	client, err := telegram.NewClient(apiURL, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := client.SendText(ctx, chatID, text, telegram.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := env.Store.QueueOutgoing(ctx, store.OutgoingMessage{ChannelID: channelID, ChatID: chatID, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.FinishOutgoing(ctx, m.ID, store.SendOutcome{Sent: true, TelegramMessageID: int64(tm.MessageID)}); err != nil {
		t.Fatal(err)
	}
	return m.ID
}
