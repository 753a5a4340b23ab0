package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Flow 4c, the agent's workspace: an operator saves a canned response; the
// agent opens the customer's conversation, types "/" in the reply box,
// picks the response with the keyboard and gets its text with the
// variables filled in; adds a private note that shows live and never
// reaches Telegram; and puts a label (created by the operator) on it.
func flowWorkspace(t *testing.T, w *world) {
	w.needs(t, false)
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword, so flow 4 has no conversation")
	}
	op := newSession(t, "operator-canned")
	op.signIn(operatorEmail, password)
	if st := op.open("/canned-responses"); st != 200 {
		op.fatalf("operator opening /canned-responses: HTTP %d", st)
	}
	op.a11y("Canned responses (empty)")
	op.fill(`#canned-shortcut`, "refund")
	op.fill(`#canned-text`, "Hi {first_name}, {agent_name} here: your refund is on its way.")
	op.submit("create a canned response", `[data-testid=canned-create]`)
	op.expectText(`[data-testid=canned-row]`, "/refund")
	op.a11y("Canned responses")
	if st := op.open("/labels"); st != 200 {
		op.fatalf("operator opening /labels: HTTP %d", st)
	}
	op.fill(`#label-name`, "VIP")
	op.choose(`#label-color`, "purple")
	op.submit("create a label", `[data-testid=label-create]`)
	op.expectText(`[data-testid=label-list]`, "VIP")
	op.a11y("Labels")

	s := newSession(t, "agent-workspace")
	s.signIn(agentEmail, password)
	if st := s.open("/workbench?q=Maria"); st != 200 {
		s.fatalf("agent opening /workbench: HTTP %d", st)
	}
	s.waitVisible(`[data-testid=wb-list] [data-testid=conv-item]`)
	ok := eval[bool](s, `(function () {
		var a = Array.from(document.querySelectorAll("[data-testid=conv-item]")).find(function (a) { return a.textContent.indexOf("Maria") >= 0; });
		if (a) { a.click(); }
		return !!a;
	})()`)
	if !ok {
		s.fatalf("no conversation of Maria (flow 4) in the workbench")
	}
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.expectText(`#wb-conv-title`, "Maria")
	s.markDocument()

	// "/" opens the list, typing filters it, Enter inserts.
	s.focusKeyboard(`#wb-reply-text`)
	s.do("type /ref", chromedp.SendKeys(chromedp.CSS(`#wb-reply-text`), "/ref"))
	s.waitVisible(`[data-testid=canned-list] [data-testid=canned-option]`)
	s.waitJS("the first option selected", `document.querySelector("#wb-reply-text").getAttribute("aria-activedescendant") === "canned-opt-0"`)
	s.a11y("reply box with the canned responses list")
	s.pressEnter()
	const filled = "Hi Maria, Agent here: your refund is on its way."
	s.waitJS("the filled text in the reply box", `document.querySelector("#wb-reply-text").value === `+jsString(filled))
	if s.exists(`[data-testid=canned-list]:not([hidden])`) {
		s.fatalf("the canned responses list stayed open after choosing")
	}

	// A private note: shown live, styled apart, never sent.
	const note = "VIP customer, refund approved by Sam (internal only)"
	s.fill(`#wb-note-text`, note)
	s.click(`[data-testid=note-add]`)
	s.expectText(`#wb-notes-list [data-testid=note-text]`, note)
	s.sameDocument("adding a note")
	s.a11y("conversation with a private note")
	s.click(`[data-testid=wb-send]`)
	waitSent(s, w.botID, filled)
	// The reply went out after the note was stored: the sender has run.
	for _, m := range suite.tg.Sent(w.botID) {
		if strings.Contains(m.Text, "VIP customer") {
			s.fatalf("the private note reached Telegram: %q", m.Text)
		}
	}

	// A label, then the list filtered by it.
	s.click(`#wb-labels input[value="VIP"]`)
	s.click(`[data-testid=labels-save]`)
	s.waitVisible(`[data-testid=conv-item][aria-current=true] [data-testid=label-chip]`)
	s.expectText(`[data-testid=conv-item][aria-current=true] [data-testid=conv-labels]`, "VIP")
	s.a11y("conversation with a label")
}
