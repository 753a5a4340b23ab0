package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// Typing: the first keystroke shows "typing…" in Telegram; more within
// 5 s do not call Telegram again.
func TestWorkbenchTypingIsPaced(t *testing.T) {
	t.Parallel()
	cf := newChangeFixture(t)
	agent := cf.be.userClient(t, models.RoleAgent)
	base := "/workbench/c/" + itoa(cf.conv.ID)
	if v, _ := agent.get(base).doc(t).Find("#wb-reply").Attr("data-typing-url"); v != base+"/typing" {
		t.Fatalf("reply form typing url %q", v)
	}
	for i := 0; i < 3; i++ {
		agent.htmx(http.MethodPost, base+"/typing", nil).wantStatus(t, http.StatusNoContent)
	}
	if got := cf.be.tg.ChatActions(7100000001, cf.chatID); len(got) != 1 || got[0] != "typing" {
		t.Fatalf("chat actions %v, want one typing", got)
	}
	agent.postRaw(base+"/typing", nil).wantStatus(t, http.StatusForbidden) // no CSRF token
	hidden := cf.f.conv(t, 999, "Outside", func(c *models.Conversation) { c.InWorkbench = false })
	agent.htmx(http.MethodPost, "/workbench/c/"+itoa(hidden.ID)+"/typing", nil).wantStatus(t, http.StatusNotFound)
}

// Reactions: an agent reacts through the bot; the bubble shows it, and
// the customer's reactions (stored by the ingest) beside it.
func TestWorkbenchReact(t *testing.T) {
	t.Parallel()
	cf := newChangeFixture(t)
	be := cf.be
	agent := be.userClient(t, models.RoleAgent)
	in := be.tg.Inject(7100000001, telegramtestPrivate(cf.chatID, "Thanks a lot!"))
	m := cf.f.msg(t, cf.conv, "Thanks a lot!", func(x *models.Message) {
		x.TelegramMessageID, x.BotTelegramID = ptrInt64(int64(in.Message.MessageID)), 7100000001
	})
	path := "/workbench/c/" + itoa(cf.conv.ID) + "/m/" + itoa(m.ID) + "/react"

	r := agent.htmx(http.MethodPost, path, url.Values{"emoji": {"❤"}}).wantStatus(t, http.StatusOK)
	if got := be.tg.Reactions(7100000001, cf.chatID, in.Message.MessageID); len(got) != 1 || got[0] != "❤" {
		t.Fatalf("Telegram reactions %v", got)
	}
	if txt := r.doc(t).Find("[data-testid=msg-reactions] .chip-mine").Text(); !strings.Contains(txt, "❤ 1") {
		t.Fatalf("bubble reactions %q", txt)
	}
	be.wantAudit(t, "message.react", itoa(m.ID))
	agent.htmx(http.MethodPost, path, url.Values{"emoji": {"🦖"}}).wantStatus(t, http.StatusUnprocessableEntity)
	r = agent.htmx(http.MethodPost, path, url.Values{"emoji": {""}}).wantStatus(t, http.StatusOK)
	if r.doc(t).Find("[data-testid=msg-reactions]").Length() != 0 || len(be.tg.Reactions(7100000001, cf.chatID, in.Message.MessageID)) != 0 {
		t.Fatal("the reaction was not removed")
	}
}

func telegramtestPrivate(chatID int64, text string) telego.Update {
	return telegramtest.PrivateText(telegramtest.User(chatID, "Ann", "ann"), text)
}
