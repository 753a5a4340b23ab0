package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

// A forum's topics are separate conversations: each shows only its own
// messages, says it is a topic, and a reply from it is queued into the
// topic. A message of another topic cannot be changed through it.
func TestWorkbenchForumTopicConversations(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4343)
	const forum = -1001000000099
	general := f.conv(t, forum, "Acme Forum", func(c *models.Conversation) { c.ChatType = "supergroup" })
	billing := f.conv(t, forum, "Billing", func(c *models.Conversation) { c.ChatType = "supergroup"; c.ThreadID = 5 })
	f.msg(t, general, "Hello all", func(m *models.Message) { m.TelegramMessageID = ptrInt64(3) })
	inTopic := f.msg(t, billing, "Charged twice", func(m *models.Message) {
		m.TelegramMessageID, m.MessageThreadID = ptrInt64(6), ptrInt64(5)
	})
	agent := env.userClient(t, models.RoleAgent)

	texts := func(id int64) (string, []string) {
		doc := agent.get(fmt.Sprintf("/workbench/c/%d", id)).wantStatus(t, http.StatusOK).doc(t)
		var out []string
		doc.Find(`[data-testid="wb-messages"] [data-testid="msg-text"]`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimSpace(s.Text()))
		})
		return doc.Find(`[data-testid="conv-topic"]`).Text(), out
	}
	if topic, got := texts(billing.ID); topic != "Forum topic" || len(got) != 1 || got[0] != "Charged twice" {
		t.Fatalf("Billing topic shows %q, topic label %q", got, topic)
	}
	if topic, got := texts(general.ID); topic != "" || len(got) != 1 || got[0] != "Hello all" {
		t.Fatalf("General shows %q, topic label %q", got, topic)
	}

	base := fmt.Sprintf("/workbench/c/%d", billing.ID)
	agent.htmx(http.MethodPost, base+"/reply", url.Values{"text": {"Refund is on its way"}}).wantStatus(t, http.StatusOK)
	var out models.Message
	if err := f.db.Take(&out, "direction = 'out' AND text = ?", "Refund is on its way").Error; err != nil {
		t.Fatal(err)
	}
	if out.ChatID != forum || out.MessageThreadID == nil || *out.MessageThreadID != 5 {
		t.Fatalf("reply queued to chat %d thread %v, want %d thread 5", out.ChatID, out.MessageThreadID, forum)
	}
	// The reply belongs to Billing's history only.
	if _, got := texts(general.ID); len(got) != 1 {
		t.Fatalf("General shows the topic's reply: %q", got)
	}
	// Billing's message is not General's to react to.
	agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/m/%d/react", general.ID, inTopic.ID), url.Values{"emoji": {"👍"}}).
		wantStatus(t, http.StatusNotFound)
}
