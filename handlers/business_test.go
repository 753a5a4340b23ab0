package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// The Chatbot Management tab lists the bot's business connections with
// their rights; a business account's chat is shown as such in the
// workbench, and a reply from it goes out through the connection.
func TestBusinessConnectionsPanelAndConversation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4444)
	now := time.Now().UTC()
	for _, b := range []models.BusinessConnection{
		{ID: "bc-shop", ChannelID: f.ch.ID, BotTelegramID: 4444, UserID: 56, UserChatID: 56, UserName: "Olga <Shop>", Username: "olga_shop",
			CanReply: true, Rights: `{"can_reply":true,"can_read_messages":true}`, Enabled: true, ConnectedAt: now, UpdatedAt: now},
		{ID: "bc-old", ChannelID: f.ch.ID, BotTelegramID: 4444, UserID: 57, UserChatID: 57, UserName: "Bob", ConnectedAt: now.Add(-time.Hour), UpdatedAt: now},
	} {
		if err := f.db.Create(&b).Error; err != nil {
			t.Fatal(err)
		}
	}
	op := env.userClient(t, models.RoleOperator)
	doc := op.get("/channels/"+f.ch.ID+"/chatbot").wantStatus(t, http.StatusOK).doc(t)
	rows := doc.Find(`[data-testid="business-connection"]`)
	if rows.Length() != 2 {
		t.Fatalf("%d business connections listed, want 2", rows.Length())
	}
	first := rows.First()
	if got := strings.Join(strings.Fields(first.Find(`[data-testid="business-account"]`).Text()), " "); got != "Olga <Shop> @olga_shop" {
		t.Errorf("account = %q", got)
	}
	if got := first.Find(`[data-testid="business-rights"]`).Text(); got != "Read messages, Reply to messages" {
		t.Errorf("rights = %q", got)
	}
	if got := first.Find(`[data-testid="business-can-reply"]`).Text(); got != "Yes" {
		t.Errorf("can reply = %q", got)
	}
	if got := strings.TrimSpace(rows.Eq(1).Find(`[data-testid="business-status"]`).Text()); got != "Disabled" {
		t.Errorf("status of the disabled connection = %q", got)
	}

	c := f.conv(t, 77, "Alice", func(c *models.Conversation) { c.BusinessConnectionID = "bc-shop" })
	f.msg(t, c, "Do you ship to Oslo?", func(m *models.Message) { m.BusinessConnectionID = "bc-shop" })
	agent := env.userClient(t, models.RoleAgent)
	page := agent.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK).doc(t)
	if got := page.Find(`[data-testid="wb-head"] [data-testid="conv-business"]`).Text(); got != "Business: Olga <Shop>" {
		t.Errorf("conversation head says %q", got)
	}
	if got := page.Find(`[data-testid="conv-item"] [data-testid="conv-business"]`).Text(); got != "Business" {
		t.Errorf("list row says %q", got)
	}
	if got := page.Find(`[data-testid="wb-messages"] [data-testid="msg-text"]`).Text(); !strings.Contains(got, "Oslo") {
		t.Errorf("business chat messages %q", got)
	}
	agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/reply", c.ID), url.Values{"text": {"Yes we do"}}).wantStatus(t, http.StatusOK)
	var out models.Message
	if err := f.db.Take(&out, "direction = 'out' AND text = ?", "Yes we do").Error; err != nil {
		t.Fatal(err)
	}
	if out.BusinessConnectionID != "bc-shop" || out.ChatID != 77 {
		t.Fatalf("reply queued as %+v", out)
	}
}
