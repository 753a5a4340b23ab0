package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// openConversation opens, from the workbench list, the conversation whose
// row shows preview, and waits for its view titled title.
func openConversation(s *session, preview, title string) {
	s.t.Helper()
	if st := s.open("/workbench"); st != 200 {
		s.fatalf("agent opening /workbench: HTTP %d", st)
	}
	row := `Array.from(document.querySelectorAll("[data-testid=conv-item]")).find(a => a.textContent.indexOf(` + jsString(preview) + `) >= 0)`
	s.waitJS("the conversation "+title+" in the list", `!!(`+row+`)`)
	eval[chromedp.Void](s, row+`.click()`)
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.waitJS("the conversation view titled "+title, `(document.querySelector("#wb-conv-title") || {}).textContent === `+jsString(title))
}

// Flow 4g: a question arrives in a topic of a forum supergroup the bot is
// in. The workbench shows it as a conversation of its own, titled by the
// topic; the agent's reply reaches Telegram in that topic
// (message_thread_id).
func flowAgentRepliesInForumTopic(t *testing.T, w *world) {
	w.needs(t, false)
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword")
	}
	s := newSession(t, "agent-topic")
	s.signIn(agentEmail, password)
	forum := telegramtest.Forum(-1001570002, "Lamps & Co community")
	buyer := telegramtest.User(5570002, "Piet", "piet_v")
	const topic = "Returns <desk>"
	created := suite.tg.Inject(w.botID, telegramtest.TopicCreated(forum, buyer, topic)).Message
	suite.tg.Inject(w.botID, telegramtest.TopicText(*created, buyer, "I want a refund for the flickering lamp"))

	openConversation(s, "flickering lamp", topic)
	s.waitVisible(`[data-testid=wb-head] [data-testid=conv-topic]`)
	s.expectText(`[data-testid=wb-messages]`, "I want a refund for the flickering lamp")
	s.markDocument()

	const answer = "Sorry about that, Piet: a replacement is on its way"
	s.fill(`#wb-reply-text`, answer)
	s.click(`[data-testid=wb-send]`)
	tm := waitSent(s, w.botID, answer)
	if tm.Chat.ID != forum.ID || tm.MessageThreadID != created.MessageThreadID || !tm.IsTopicMessage {
		s.fatalf("Telegram got the reply in chat %d thread %d, want chat %d thread %d", tm.Chat.ID, tm.MessageThreadID, forum.ID, created.MessageThreadID)
	}
	s.waitJS("the reply is shown as sent", `Array.from(document.querySelectorAll("[data-testid=wb-messages] [data-testid=msg][data-status=sent] [data-testid=msg-text]")).some(e => e.textContent === `+jsString(answer)+`)`)
	s.sameDocument("replying in a forum topic")
	s.a11y("Workbench conversation of a forum topic")
}

// Flow 4h: a customer writes to a business account connected to the bot
// (Telegram Business). The workbench shows the conversation as the
// account's; the agent's reply goes out on the account's behalf
// (business_connection_id), and a reaction, which Telegram does not offer
// bots in business chats, is refused in plain words.
func flowAgentRepliesInBusinessChat(t *testing.T, w *world) {
	w.needs(t, false)
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword")
	}
	s := newSession(t, "agent-business")
	s.signIn(agentEmail, password)
	owner := telegramtest.User(5570003, "Olga", "olga_lamps")
	customer := telegramtest.User(5570004, "Tomas", "tomas_k")
	suite.tg.Inject(w.botID, telegramtest.BusinessConnected("bc-e2e-lamps", owner, true, true))
	suite.tg.Inject(w.botID, telegramtest.BusinessText("bc-e2e-lamps", customer, "Can I get a refund for order 12?"))

	openConversation(s, "order 12", "Tomas")
	s.expectText(`[data-testid=wb-head] [data-testid=conv-business]`, "Business: Olga")
	s.markDocument()

	const answer = "Of course, Tomas: the refund is on its way"
	s.fill(`#wb-reply-text`, answer)
	s.click(`[data-testid=wb-send]`)
	tm := waitSent(s, w.botID, answer)
	if tm.Chat.ID != customer.ID || tm.BusinessConnectionID != "bc-e2e-lamps" || tm.From == nil || tm.From.ID != owner.ID {
		s.fatalf("Telegram got the reply in chat %d through %q from %+v, want chat %d through bc-e2e-lamps from Olga",
			tm.Chat.ID, tm.BusinessConnectionID, tm.From, customer.ID)
	}
	sent := `Array.from(document.querySelectorAll("[data-testid=wb-messages] [data-testid=msg][data-status=sent]")).find(b => (b.querySelector("[data-testid=msg-text]") || {}).textContent === ` + jsString(answer) + `)`
	s.waitJS("the reply is shown as sent", `!!(`+sent+`)`)
	s.sameDocument("replying in a business chat")

	// React: the bubble's React offers emoji; Telegram cannot take one
	// here, and the agent is told so next to the form.
	s.waitJS("htmx wired the reaction form", `!!(`+sent+`).querySelector(".msg-react form")["htmx-internal-data"]`)
	eval[chromedp.Void](s, `(`+sent+`).querySelector("[data-testid=msg-react]").click()`)
	eval[chromedp.Void](s, `(`+sent+`).querySelector(".msg-react button[name=emoji]").click()`)
	s.waitJS("the refusal is shown", `Array.from(document.querySelectorAll("[data-htmx-error-message]")).some(e => e.textContent.indexOf("does not let bots react to messages in a business account") >= 0)`)
	s.sameDocument("a refused reaction")
	s.a11y("Workbench conversation of a business chat")
}
