package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// The customer of flow 4, a Telegram user writing to the bot privately.
var customer = telegramtest.User(5550001, "Maria", "maria_k")

// Flow 4: the agent cannot open Users or Channel Management (403), opens
// the Workbench, sees a customer's matching message arrive live (no
// reload), opens it and replies; the reply reaches Telegram and shows as
// sent.
func flowAgentWorkbench(t *testing.T, w *world) {
	w.needs(t, false)
	s := newSession(t, "agent")
	s.signIn(agentEmail, password)
	if s.exists(`nav.sidebar a[href="/users"]`) || s.exists(`nav.sidebar a[href="/channels"]`) {
		t.Errorf("the agent's navigation links to pages agents may not open")
	}
	for _, p := range []string{"/users", "/channels"} {
		if st := s.open(p); st != 403 {
			s.fatalf("agent opening %s: HTTP %d, want 403", p, st)
		}
		s.expectText(`[data-testid=error-page] h1`, "Forbidden")
	}
	s.a11y("403 page")

	if st := s.open("/workbench"); st == 404 {
		t.Fatal("/workbench answers 404")
	} else if st != 200 {
		s.fatalf("agent opening /workbench: HTTP %d", st)
	}
	s.waitVisible(`[data-testid=wb]`)
	s.a11y("Workbench (empty)")
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword, so no chat can enter the workbench")
	}

	// Two customers write; only the message with the keyword enters the
	// workbench (Triggered by Keyword, set in flow 3). The other one is
	// sent first, so it has been ingested when the matching one shows.
	s.markDocument()
	bystander := telegramtest.User(5550002, "Tom", "tom_b")
	suite.tg.Inject(w.botID, telegramtest.PrivateText(bystander, "Just saying hello"))
	suite.tg.Inject(w.botID, telegramtest.PrivateText(customer, "Hi, I need a Refund for order 42"))
	item := `[data-testid=wb-list] [data-testid=conv-item]`
	if err := chromedpWait(s, item); err != nil {
		s.fatalf("the customer's message did not appear in the workbench: %v (the fake Bot API answered %d getUpdates calls of the bot; 0 means no poller runs)",
			err, suite.tg.BotCalls(w.botID, "getUpdates"))
	}
	s.sameDocument("a new conversation arriving")
	s.expectText(item+` [data-testid=conv-preview]`, "Refund for order 42")
	if n := s.count(item); n != 1 {
		s.fatalf("the workbench lists %d conversations, want only the one matching %q", n, workbenchKeyword)
	}
	s.a11y("Workbench with a new conversation")

	// Open it: an htmx swap that pushes the conversation's URL.
	s.click(item)
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.waitJS("conversation URL", `location.pathname.indexOf("/workbench/c/") === 0`)
	s.sameDocument("opening a conversation")
	s.expectText(`[data-testid=wb-messages] [data-testid=msg-text]`, "Refund for order 42")
	s.a11y("Workbench conversation")

	const reply = "Sorry about that, Maria! Your refund for order 42 is on its way."
	s.fill(`#wb-reply-text`, reply)
	s.click(`[data-testid=wb-send]`)
	sent := `[data-testid=wb-messages] [data-testid=msg][data-status=sent]`
	s.waitVisible(sent)
	s.expectText(sent+` [data-testid=msg-text]`, reply)
	s.expectText(sent+` [data-testid=msg-status]`, "Sent")
	s.sameDocument("replying")

	// The reply really reached Telegram, in the customer's chat.
	msgs := waitSent(s, w.botID, reply)
	if got := msgs.Chat.ID; got != customer.ID {
		s.fatalf("the reply went to chat %d, want the customer's chat %d", got, customer.ID)
	}
	s.a11y("Workbench conversation after a reply")
	// The picture shows the whole conversation pane.
	eval[chromedp.Void](s, `document.querySelector("[data-testid=wb]").scrollIntoView({block: "end"})`)
	s.screenshot("workbench.png")
}

// chromedpWait waits for sel to be visible and returns the error instead
// of failing, so the caller can explain what was missing.
func chromedpWait(s *session, sel string) error {
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// waitSent waits until the fake Bot API received a message with text from
// the bot (sending is asynchronous: the outbox worker calls sendMessage).
func waitSent(s *session, botID int64, text string) telego.Message {
	s.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		for _, m := range suite.tg.Sent(botID) {
			if m.Text == text {
				return m
			}
		}
		if time.Now().After(deadline) {
			s.fatalf("Telegram never received the reply %q from bot %d (sent: %d messages)", text, botID, len(suite.tg.Sent(botID)))
		}
		time.Sleep(25 * time.Millisecond) // polling an in-process fake; not an assertion
	}
}

// Flow 4b: with more conversations than one list page, the agent loads
// the older ones with "Load more"; a message arriving live then moves its
// conversation to the top without dropping the rows already loaded.
func flowAgentLoadMore(t *testing.T, w *world) {
	w.needs(t, false)
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword")
	}
	s := newSession(t, "agent-load-more")
	s.signIn(agentEmail, password)
	if st := s.open("/workbench"); st != 200 {
		s.fatalf("agent opening /workbench: HTTP %d", st)
	}
	item := `[data-testid=wb-list] [data-testid=conv-item]`
	before := s.count(item)
	const extra = 55 // more than a page (50) on top of flow 4's chats
	var oldest telego.User
	for i := 0; i < extra; i++ {
		u := telegramtest.User(5560000+int64(i), fmt.Sprintf("Buyer %02d", i), fmt.Sprintf("buyer_%02d", i))
		if i == 0 {
			oldest = u
		}
		suite.tg.Inject(w.botID, telegramtest.PrivateText(u, fmt.Sprintf("Need a %s for parcel %d", workbenchKeyword, i)))
	}
	total := before + extra
	// Each arrival is placed in the open list as it comes, one row at a
	// time, so the list grows past a page without a reload.
	s.waitJS("every new conversation arriving live", fmt.Sprintf(`document.querySelectorAll(%s).length === %d`, jsString(item), total))
	// A fresh load shows the first page and a "Load more" link.
	if st := s.open("/workbench"); st != 200 {
		s.fatalf("agent reloading /workbench: HTTP %d", st)
	}
	s.waitJS("a full first page with Load more", fmt.Sprintf(
		`document.querySelectorAll(%s).length === 50 && !!document.querySelector("[data-testid=wb-load-more]")`, jsString(item)))
	s.click(`[data-testid=wb-load-more]`)
	s.waitJS("every conversation after Load more", fmt.Sprintf(`document.querySelectorAll(%s).length === %d`, jsString(item), total))
	s.markDocument()

	// The first buyer is now the oldest row, loaded by "Load more".
	// Telegram dates have whole seconds and the buyers wrote within the
	// same one: a later date makes the new message the newest for sure.
	news := telegramtest.PrivateText(oldest, "Any news on my parcel?")
	news.Message.Date = time.Now().Add(2 * time.Second).Unix()
	suite.tg.Inject(w.botID, news)
	s.waitJS("the first buyer moved to the top", fmt.Sprintf(
		`(document.querySelector(%s + " [data-testid=conv-preview]") || {}).textContent === "Any news on my parcel?"`, jsString(item)))
	if n := s.count(item); n != total {
		s.fatalf("after a live update the list shows %d conversations, want the %d already loaded", n, total)
	}
	ids := eval[[]string](s, fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).map(a => a.getAttribute("data-conv-id"))`, jsString(item)))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			s.fatalf("conversation %s is listed twice after the live update", id)
		}
		seen[id] = true
	}
	s.sameDocument("a live update after Load more")
	s.a11y("Workbench after Load more and a live update")
}
