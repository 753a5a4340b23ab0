package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestRetentionFormAndAPI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)
	page := op.get("/channels/"+ch.ID+"/overview").wantStatus(t, http.StatusOK)
	if v, _ := page.doc(t).Find(`input[name="retention_days"]`).Attr("value"); v != "0" {
		t.Errorf("retention field = %q, want 0", v)
	}
	if page.doc(t).Find(`label[for="retention-days"]`).Length() != 1 {
		t.Error("retention field has no label")
	}
	if page.doc(t).Find(`[data-testid="erase-card"]`).Length() != 0 {
		t.Error("an operator is offered the erasure")
	}
	r := op.postForm("/channels/"+ch.ID+"/retention", url.Values{"retention_days": {"30"}}).wantStatus(t, http.StatusSeeOther)
	page = op.get(r.location()).wantStatus(t, http.StatusOK)
	if v, _ := page.doc(t).Find(`input[name="retention_days"]`).Attr("value"); v != "30" || !strings.Contains(page.Body, "older than 30 days") {
		t.Errorf("after save: field %q, flash missing:\n%s", v, page.Body)
	}
	op.postForm("/channels/"+ch.ID+"/retention", url.Values{"retention_days": {"soon"}}).wantStatus(t, http.StatusUnprocessableEntity)
	env.wantAudit(t, "channel.retention", ch.ID)

	key := env.apiKey(t, models.RoleOperator)
	var got apiChannel
	env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID, map[string]int{"retention_days": 7}).wantStatus(t, http.StatusOK).json(t, &got)
	if got.RetentionDays != 7 {
		t.Errorf("API retention_days = %d", got.RetentionDays)
	}
	env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID, map[string]int{"retention_days": 40000}).wantStatus(t, http.StatusUnprocessableEntity)
	env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID, map[string]string{}).wantStatus(t, http.StatusUnprocessableEntity)
	env.api(t, env.apiKey(t, models.RoleAgent), http.MethodPut, "/api/v1/channels/"+ch.ID, map[string]int{"retention_days": 1}).wantStatus(t, http.StatusForbidden)
}

func TestEraseContactConsoleAndAPI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	ann := f.conv(t, 4242, "Ann")
	f.msg(t, ann, "my address is …", func(m *models.Message) { m.FromID = 4242 })
	bob := f.conv(t, 5151, "Bob")
	f.msg(t, bob, "hi", func(m *models.Message) { m.FromID = 5151 })
	admin := env.userClient(t, models.RoleAdmin)
	path := "/channels/" + f.ch.ID + "/contacts/erase"
	if admin.get("/channels/"+f.ch.ID+"/overview").doc(t).Find(`[data-testid="erase-card"] input[name="confirm"][data-confirm-text="ERASE"]`).Length() != 1 {
		t.Fatal("no typed confirmation on the erase form")
	}
	admin.postForm(path, url.Values{"telegram_user_id": {"4242"}, "confirm": {"erase"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if n := f.count(t, "SELECT COUNT(*) FROM messages WHERE channel_id = ?", f.ch.ID); n != 2 {
		t.Fatalf("an unconfirmed erasure deleted messages (%d left)", n)
	}
	r := admin.postForm(path, url.Values{"telegram_user_id": {"4242"}, "confirm": {"ERASE"}}).wantStatus(t, http.StatusSeeOther)
	if page := admin.get(r.location()); !strings.Contains(page.Body, "Erased Telegram user 4242: 1 messages") {
		t.Errorf("no result flash:\n%s", page.Body)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM messages WHERE channel_id = ? AND chat_id = 4242", f.ch.ID); n != 0 {
		t.Errorf("%d of Ann's messages left", n)
	}
	if e := env.wantAudit(t, "contact.erase", f.ch.ID); e.Actor != "admin@example.test" {
		t.Errorf("audit actor %q", e.Actor)
	}
	op := env.userClient(t, models.RoleOperator)
	op.postForm(path, url.Values{"telegram_user_id": {"5151"}, "confirm": {"ERASE"}}).wantStatus(t, http.StatusForbidden)

	var e struct {
		Messages      int64 `json:"messages"`
		Conversations int64 `json:"conversations"`
	}
	env.api(t, env.apiKey(t, models.RoleAdmin), http.MethodDelete, "/api/v1/channels/"+f.ch.ID+"/contacts/5151", nil).wantStatus(t, http.StatusOK).json(t, &e)
	if e.Messages != 1 || e.Conversations != 1 {
		t.Errorf("API erasure = %+v", e)
	}
	env.api(t, env.apiKey(t, models.RoleAdmin), http.MethodDelete, "/api/v1/channels/"+f.ch.ID+"/contacts/abc", nil).wantStatus(t, http.StatusUnprocessableEntity)
	if _, err := env.Store.Channel(context.Background(), f.ch.ID); err != nil {
		t.Fatal(err)
	}
}

func (f *wbFixture) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
