package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var channelIDPattern = regexp.MustCompile(`^tg-[a-z2-7]{10}$`)

// Flow 2: the operator creates a channel (an empty name first), opens it
// by its Channel ID and walks the tabs: htmx swaps with pushed URLs, Back
// returns to the previous tab, and a direct load lands on the right tab.
func flowOperatorChannel(t *testing.T, w *world) {
	w.needs(t, false)
	s := newSession(t, "operator")
	s.signIn(operatorEmail, password)
	s.waitPath("/channels")
	if s.exists(`nav.sidebar a[href="/users"]`) {
		t.Errorf("the operator's navigation links to Users, which only admins may open")
	}

	// Blank name: the browser's `required` accepts spaces, the server
	// does not, and says so next to the field.
	s.fill(`form[action="/channels"] input[name=name]`, "   ")
	s.submit("create a channel with an empty name", `form[action="/channels"] button[type=submit]`)
	s.expectText(`#err-name`, "Enter a channel name.")
	if eval[string](s, `document.querySelector('form[action="/channels"] input[name=name]').getAttribute("aria-invalid")`) != "true" {
		t.Errorf("the name field with an error is not aria-invalid")
	}
	s.a11y("Channel Management with a field error")

	s.fill(`form[action="/channels"] input[name=name]`, w.channelName)
	s.submit("create the channel", `form[action="/channels"] button[type=submit]`)
	s.expectText(`[data-testid=flash]`, "Channel "+w.channelName+" created.")
	w.channelID = s.text(`[data-testid=channel-id]`)
	if !channelIDPattern.MatchString(w.channelID) {
		s.fatalf("channel id %q does not look like tg- + 10 base32 characters", w.channelID)
	}
	if want := "/channels/" + w.channelID + "/chatbot"; s.path() != want {
		s.fatalf("after creating a channel the console shows %s, want %s", s.path(), want)
	}

	// Back to the list, which now shows the channel; open it by its ID.
	s.submit("open Channel Management", `nav.sidebar a[href="/channels"]`)
	link := fmt.Sprintf(`[data-testid=channel-table] a[data-testid=channel-link][href="/channels/%s/overview"]`, w.channelID)
	if got := s.text(link); got != w.channelID {
		s.fatalf("channel link text %q, want the Channel ID %s", got, w.channelID)
	}
	s.a11y("Channel Management with a channel")
	s.submit("open the channel by its Channel ID", link)
	base := "/channels/" + w.channelID
	s.waitPath(base + "/overview")
	s.expectText(`h1`, w.channelName)
	assertTab(s, "overview")
	// The labels operators know from the managed console, in this order.
	tabs := eval[[]string](s, `Array.from(document.querySelectorAll("nav.tabs a")).map(function (a) { return a.textContent.trim(); })`)
	if want := []string{"Overview", "Chatbot Management", "Groups & Channels", "Workbench", "Webhook"}; strings.Join(tabs, "|") != strings.Join(want, "|") {
		s.fatalf("channel tabs %q, want %q", tabs, want)
	}
	s.a11y("channel Overview tab")

	// Each tab is an htmx swap that pushes its URL.
	s.markDocument()
	for _, tab := range []string{"chatbot", "groups", "workbench", "webhook"} {
		s.click("#tab-" + tab)
		s.waitJS("tab "+tab+" shown", fmt.Sprintf(`location.pathname === %s && !!document.querySelector('#tab-%s[aria-current="page"]')`, jsString(base+"/"+tab), tab))
		s.sameDocument("tab " + tab)
		assertTab(s, tab)
		s.a11y("channel " + tab + " tab")
	}

	// Back returns to the previous tab, still without a reload.
	eval[any](s, `history.back()`)
	s.waitJS("Back to the workbench tab", fmt.Sprintf(`location.pathname === %s && !!document.querySelector('#tab-workbench[aria-current="page"]')`, jsString(base+"/workbench")))
	assertTab(s, "workbench")

	// A direct load of a tab URL (reload, shared link) lands on that tab.
	if st := s.open(base + "/groups"); st != 200 {
		s.fatalf("direct load of %s/groups: HTTP %d", base, st)
	}
	assertTab(s, "groups")
	s.expectText(`h1`, w.channelName)
	if st := s.open(base + "/nonsense"); st != 404 {
		t.Errorf("unknown tab: HTTP %d, want 404", st)
	}
}
