package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// The customer of flow 4f.
var ingrid = telegramtest.User(5550010, "Ingrid", "ingrid_p")

// Flow 4f, unread and assignment: the operator sets the channel to round
// robin; a customer writes while the agent watches the Workbench list, so
// the agent (the only online agent) gets the new conversation with "Assigned
// to you", its row shows one unread message and the page title the new
// total; opening it clears both. The agent then reassigns it to the
// operator, whose own list shows the new assignee and "Assigned to you".
// axe runs on the auto-assignment card, the availability control and the
// reassign form.
func flowAssignment(t *testing.T, w *world) {
	w.needs(t, true)
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword, so no chat can enter the workbench")
	}
	op := newSession(t, "operator-assign")
	op.signIn(operatorEmail, password)
	setAutoAssign(op, w, "round_robin")
	op.expectText(`[data-testid=auto-assign] [data-testid=assign-agents]`, agentEmail)
	op.a11y("the channel's auto-assignment card")
	t.Cleanup(func() { setAutoAssign(op, w, "off") })
	// The operator watches their own list (they are not in the round:
	// none ticked means every agent).
	if st := op.open("/workbench"); st != 200 {
		op.fatalf("operator opening /workbench: HTTP %d", st)
	}
	op.waitVisible(`[data-testid=wb]`)

	s := newSession(t, "agent-assign")
	s.signIn(agentEmail, password)
	if st := s.open("/workbench"); st != 200 {
		s.fatalf("agent opening /workbench: HTTP %d", st)
	}
	s.waitVisible(`[data-testid=availability-form]`)
	s.expectText(`[data-testid=availability]`, "Online")
	s.a11y("Workbench with the availability control")
	before := titleUnread(s)
	s.markDocument()

	suite.tg.Inject(w.botID, telegramtest.PrivateText(ingrid, "Hello, I would like a refund for my parcel"))
	row := waitRow(s, "Ingrid")
	s.expectText(`#wb-notice [data-testid=assigned-notice]`, "Ingrid")
	s.expectText(row+` [data-testid=conv-assignee]`, agentEmail)
	s.expectText(row+` [data-testid=conv-unread]`, "1")
	s.waitJS("the page title counts the new message", fmt.Sprintf(`document.title.indexOf("(%d) ") === 0`, before+1))
	s.sameDocument("a conversation assigned live")
	s.a11y("Workbench with an Assigned to you notice and an unread row")

	// Opening it reads it: the row's count and the title's share go.
	s.click(row)
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.expectText(`#wb-conv-title`, "Ingrid")
	s.waitJS("the row's unread count cleared", fmt.Sprintf(`!document.querySelector(%s)`, jsString(row+` [data-testid=conv-unread]`)))
	if before == 0 {
		s.waitJS("the title without a count", `!/^\(\d+\) /.test(document.title)`)
	} else {
		s.waitJS("the title back to its count", fmt.Sprintf(`document.title.indexOf("(%d) ") === 0`, before))
	}
	s.expectText(`[data-testid=wb-head] [data-testid=conv-assignee]`, agentEmail)

	// Reassign to the operator: the header here, their row and notice there.
	s.waitVisible(`[data-testid=reassign-form]`)
	s.a11y("conversation with the reassign form")
	s.choose(`#wb-reassign`, operatorEmail)
	s.click(`[data-testid=reassign-save]`)
	s.expectText(`[data-testid=wb-head] [data-testid=conv-assignee]`, operatorEmail)
	s.expectText(row+` [data-testid=conv-assignee]`, operatorEmail)
	s.sameDocument("reassigning")
	opRow := waitRow(op, "Ingrid")
	op.expectText(opRow+` [data-testid=conv-assignee]`, operatorEmail)
	op.expectText(`#wb-notice [data-testid=assigned-notice]`, "Ingrid")
	op.a11y("Workbench of the new assignee with Assigned to you")
}

// setAutoAssign saves the channel's auto-assignment mode on its Workbench
// tab (capacity 5, the round left to every agent).
func setAutoAssign(s *session, w *world, mode string) {
	s.t.Helper()
	if st := s.open("/channels/" + w.channelID + "/workbench"); st != 200 {
		s.fatalf("operator opening the channel's Workbench tab: HTTP %d", st)
	}
	s.waitVisible(`[data-testid=auto-assign-form]`)
	s.choose(`#assign-mode`, mode)
	s.fill(`#assign-capacity`, "5")
	s.submit("save auto-assignment", `[data-testid=auto-assign-save]`)
	s.waitJS("auto-assignment saved as "+mode, fmt.Sprintf(`document.querySelector("#assign-mode").value === %s`, jsString(mode)))
}

// titleUnread is the count the page title starts with, 0 without one.
func titleUnread(s *session) int {
	s.t.Helper()
	m := regexp.MustCompile(`^\((\d+)\) `).FindStringSubmatch(eval[string](s, `document.title`))
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// waitRow waits for the list row whose title contains name and returns
// its selector.
func waitRow(s *session, name string) string {
	s.t.Helper()
	find := fmt.Sprintf(`(function () {
		var a = Array.from(document.querySelectorAll("[data-testid=wb-list] [data-testid=conv-item]")).find(function (a) { return a.querySelector(".wb-item-title").textContent.indexOf(%s) >= 0; });
		return a ? a.id : "";
	})()`, jsString(name))
	s.waitJS("a row of "+name, find+` !== ""`)
	return "#" + eval[string](s, find)
}
