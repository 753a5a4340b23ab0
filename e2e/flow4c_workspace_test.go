package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Flow 4e, the agent's workspace: an operator saves a canned response; the
// agent opens the customer's conversation, types "/" in the reply box,
// picks the response with the keyboard and gets its text with the
// variables filled in; adds a private note that shows live and never
// reaches Telegram; puts a label (created by the operator) on it and
// filters the list by it; moves with j, resolves with e and opens the
// shortcuts with ?; and finds the customer's message with Search, whose
// hit opens the conversation at it.
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
	// The contact panel: who she is in Telegram.
	s.expectText(`[data-testid=contact-username]`, "@maria_k")
	s.expectText(`[data-testid=contact-language]`, "en")
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

	// The list filtered by the label (and no text): Maria's alone, though
	// the earlier flows left other conversations in the list.
	eval[chromedp.Void](s, `document.querySelector("#wb-q").value = ""`)
	s.choose(`#wb-label`, "VIP")
	s.click(`[data-testid=wb-filter] button[type=submit]`)
	s.waitJS("the list filtered by VIP", `location.search.indexOf("label=VIP") >= 0 && !document.querySelector("[data-testid=wb-conversation]")`)
	s.waitVisible(`[data-testid=wb-list] [data-testid=conv-item]`)
	if n := s.count(`[data-testid=wb-list] [data-testid=conv-item]`); n != 1 {
		s.fatalf("the VIP filter lists %d conversations, want Maria's alone", n)
	}
	s.expectText(`[data-testid=wb-list] [data-testid=conv-item]`, "Maria")
	s.sameDocument("filtering by label")
	s.a11y("Workbench filtered by a label")

	// Keyboard: j opens the first conversation, e resolves it, ? lists the
	// shortcuts (Esc closes them), none of it while typing in a field.
	s.focusKeyboard(`[data-testid=wb-filter] button[type=submit]`)
	s.key("j")
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.expectText(`#wb-conv-title`, "Maria")
	s.expectText(`[data-testid=conv-status]`, "Open")
	s.focusKeyboard(`#wb-note-text`)
	s.key("e")
	if got := eval[string](s, `document.querySelector("#wb-note-text").value`); got != "e" {
		s.fatalf("typing e in the note box gave %q: a shortcut fired while typing", got)
	}
	if s.text(`[data-testid=conv-status]`) != "Open" {
		s.fatalf("e typed in a field resolved the conversation")
	}
	eval[chromedp.Void](s, `document.querySelector("#wb-note-text").value = ""; document.activeElement.blur()`)
	s.key("e")
	s.expectText(`[data-testid=conv-status]`, "Resolved")
	s.key("?")
	s.waitJS("the shortcuts dialog open", `(function(){var d=document.querySelector("#kbd-help"); return !!d && d.open && d.contains(document.activeElement);})()`)
	s.expectText(`#kbd-help`, "Next conversation")
	s.a11y("keyboard shortcuts dialog")
	s.key(kb.Escape)
	s.waitJS("the shortcuts dialog closed", `!document.querySelector("#kbd-help").open`)
	s.sameDocument("the keyboard shortcuts")

	// Search: the customer's words find her message (the buyers of flow 4b
	// need a refund for a parcel, not an order); the hit opens the
	// conversation with that message on the page.
	if st := s.open("/search?q=" + url.QueryEscape("need refund order")); st != 200 {
		s.fatalf("agent opening /search: HTTP %d", st)
	}
	s.waitVisible(`[data-testid=search-hit]`)
	if n := s.count(`[data-testid=search-hit]`); n != 1 {
		s.fatalf("%d search hits for \"need refund order\", want Maria's message alone", n)
	}
	if got := eval[string](s, `Array.from(document.querySelectorAll("[data-testid=search-snippet] mark")).map(function (m) { return m.textContent; }).join(" ")`); got != "need Refund order" {
		s.fatalf("highlighted words %q, want need Refund order", got)
	}
	s.a11y("Search results")
	s.markDocument()
	s.click(`[data-testid=search-hit-link]`)
	s.waitNewDocument("opening a search hit")
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.expectText(`#wb-conv-title`, "Maria")
	s.waitJS("the hit's message on the page", `!!document.querySelector(location.hash) && document.querySelector(location.hash).textContent.indexOf("need a Refund") >= 0`)
}
