package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

func contactTexts(doc *goquery.Document, sel string) []string {
	var out []string
	doc.Find(`[data-testid="wb-contact"] ` + sel).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Text()))
	})
	return out
}

// The contact panel beside a conversation: who the Telegram user is (from
// their latest message), since when and how much they wrote here, their
// private chats with other channels' bots and the groups they wrote in —
// only what the viewer may open.
func TestContactPanel(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	other := newWBFixture(t, env, "Sales")
	const user = 777001
	from := func(name, username, lang string) func(*models.Message) {
		return func(m *models.Message) {
			m.FromID, m.FromName, m.FromUsername, m.FromLanguage = user, name, username, lang
		}
	}
	private := f.conv(t, user, "Maria")
	first := f.msg(t, private, "hello", from("Maria", "maria_old", "de"))
	f.msg(t, private, "still there?", from("Maria", "maria_old", "de"))
	group := f.conv(t, -100500, "Customers group", func(c *models.Conversation) { c.ChatType = "supergroup" })
	f.msg(t, group, "me too", from("Maria", "maria_old", "de"))
	f.msg(t, group, "someone else", func(m *models.Message) { m.FromID = 9 })
	hidden := f.conv(t, -100600, "Staff only group", func(c *models.Conversation) { c.ChatType = "group"; c.InWorkbench = false })
	// Her latest message in the channel names her now.
	f.msg(t, hidden, "psst", from(`<b>Maria</b> K`, "maria_k", "pt-br"))
	elsewhere := other.conv(t, user, "Maria at Sales")
	other.msg(t, elsewhere, "sales question", from("Maria", "maria_k", "pt-br"))
	other.conv(t, user+1, "Somebody else")
	channelPost := f.conv(t, -100700, "Announcements", func(c *models.Conversation) { c.ChatType = "channel" })
	f.msg(t, channelPost, "news", func(m *models.Message) { m.FromID = 0 })

	agent := env.userClient(t, models.RoleAgent)
	op := env.userClient(t, models.RoleOperator)

	t.Run("the private chat's user", func(t *testing.T) {
		r := agent.get(fmt.Sprintf("/workbench/c/%d", private.ID)).wantStatus(t, http.StatusOK)
		if strings.Contains(r.Body, "<b>Maria</b>") {
			t.Error("the contact's name rendered as HTML")
		}
		doc := r.doc(t)
		for sel, want := range map[string]string{
			`[data-testid="contact-name"]`:     "<b>Maria</b> K",
			`[data-testid="contact-username"]`: "@maria_k",
			`[data-testid="contact-language"]`: "pt-br",
			`[data-testid="contact-id"]`:       fmt.Sprint(user),
			`[data-testid="contact-messages"]`: "4", // two here, one in each group of Support
		} {
			if got := contactTexts(doc, sel); len(got) != 1 || got[0] != want {
				t.Errorf("%s = %v, want %q", sel, got, want)
			}
		}
		if at, _ := doc.Find(`[data-testid="contact-first-seen"] time`).Attr("datetime"); at != first.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00") {
			t.Errorf("first seen %q, want the first message's %s", at, first.CreatedAt)
		}
		if got := contactTexts(doc, `[data-testid="contact-conversation"]`); fmt.Sprint(got) != "[Maria at Sales]" {
			t.Errorf("other conversations %v, want the private chat with Sales alone", got)
		}
		if href, _ := doc.Find(`[data-testid="contact-conversation"]`).Attr("href"); !strings.HasPrefix(href, fmt.Sprintf("/workbench/c/%d", elsewhere.ID)) {
			t.Errorf("other conversation links to %q", href)
		}
		// Agents see only the groups the workbench shows them.
		if got := contactTexts(doc, `[data-testid="contact-group"]`); len(got) != 1 || !strings.HasPrefix(got[0], "Customers group") {
			t.Errorf("agent's groups %v, want the workbench group alone", got)
		}
		if strings.Contains(r.Body, "Staff only group") {
			t.Error("an agent sees a group the workbench does not show")
		}
	})

	t.Run("operators also see groups outside the workbench, unlinked", func(t *testing.T) {
		doc := op.get(fmt.Sprintf("/workbench/c/%d", private.ID)).wantStatus(t, http.StatusOK).doc(t)
		got := contactTexts(doc, `[data-testid="contact-group"]`)
		if len(got) != 2 || !strings.HasPrefix(got[0], "Staff only group") || !strings.HasPrefix(got[1], "Customers group") {
			t.Errorf("operator's groups %v, want both, newest first", got)
		}
		if doc.Find(`[data-testid="contact-group"] a`).Length() != 1 {
			t.Error("a group outside the workbench is linked")
		}
	})

	t.Run("a group's contact is its latest sender", func(t *testing.T) {
		f.msg(t, group, "one more", from("Maria", "maria_k", "pt-br"))
		doc := agent.get(fmt.Sprintf("/workbench/c/%d", group.ID)).wantStatus(t, http.StatusOK).doc(t)
		if got := contactTexts(doc, `[data-testid="contact-id"]`); fmt.Sprint(got) != fmt.Sprintf("[%d]", user) {
			t.Errorf("group contact %v", got)
		}
		// Her private chat with this channel's bot is another conversation.
		if got := contactTexts(doc, `[data-testid="contact-conversation"]`); len(got) != 2 {
			t.Errorf("other conversations from the group %v, want Maria (Support) and Maria at Sales", got)
		}
		if doc.Find(`[data-testid="contact-group"]`).Length() != 0 {
			t.Error("the open group is listed among the other groups")
		}
	})

	t.Run("a channel post has no contact", func(t *testing.T) {
		doc := agent.get(fmt.Sprintf("/workbench/c/%d", channelPost.ID)).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find(`[data-testid="wb-contact"]`).Length() != 1 || doc.Find(`[data-testid="contact-name"]`).Length() != 0 {
			t.Error("a channel post shows a contact")
		}
	})
}
