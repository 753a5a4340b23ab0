package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// world is what one flow leaves for the next: the click-through is one
// story (the admin creates the operator who creates the channel the agent
// works in), so the flows run in order and share it.
type world struct {
	channelID   string
	channelName string
	// bot is set once Chatbot Management connected one.
	botID       int64
	botUsername string
	botToken    string
}

// TestConsole is the click-through of issue 7, flow by flow. A failed flow
// stops the run: every later flow depends on what it set up.
func TestConsole(t *testing.T) {
	suite.require(t)
	w := &world{channelName: "Support EU"}
	flows := []struct {
		name string
		run  func(*testing.T, *world)
	}{
		{"1_admin_signs_in_and_creates_users", flowAdminCreatesUsers},
		{"2_operator_creates_and_browses_a_channel", flowOperatorChannel},
		{"3_operator_manages_the_chatbot", flowChatbot},
		{"4_agent_answers_in_the_workbench", flowAgentWorkbench},
		{"5_admin_deletes_bot_and_channel", flowAdminDeletes},
	}
	for _, f := range flows {
		if !t.Run(f.name, func(t *testing.T) { f.run(t, w) }) {
			t.Fatalf("flow %s failed; the later flows depend on it and were not run", f.name)
		}
	}
}

// Flow 1: the first admin signs in (a wrong password first) and creates an
// operator and an agent on the Users page.
func flowAdminCreatesUsers(t *testing.T, w *world) {
	s := newSession(t, "admin")

	// Signed out, the console sends you to the sign-in page.
	s.open("/")
	s.waitPath("/login")
	s.waitVisible(`form[action="/login"]`)
	if !s.activeMatches(`input[name=email]`) {
		t.Errorf("sign-in page: the email field should have the focus, got %s", s.describeActive())
	}
	s.a11y("sign-in page")

	s.fill(`input[name=email]`, adminEmail)
	s.fill(`input[name=password]`, "not the password")
	s.submit("sign in with a wrong password", `form[action="/login"] button[type=submit]`)
	s.expectText(`[data-testid=login-error]`, "Email or password is incorrect.")
	if s.exists(`[data-testid=current-user]`) {
		s.fatalf("a wrong password signed the admin in")
	}
	s.a11y("sign-in page with error")

	s.fill(`input[name=email]`, adminEmail)
	s.fill(`input[name=password]`, password)
	s.submit("sign in as the admin", `form[action="/login"] button[type=submit]`)
	s.waitPath("/channels")
	s.expectText(`[data-testid=current-user]`, adminEmail)
	s.expectText(`h1`, "Channel Management")
	s.a11y("Channel Management (empty)")

	// To Users through the navigation, as an admin would.
	s.submit("open Users from the navigation", `nav.sidebar a[href="/users"]`)
	s.waitPath("/users")
	s.expectText(`h1`, "Users")
	s.a11y("Users")

	// A password that is too short is refused next to its field.
	s.fill(`form[action="/users"] input[name=email]`, operatorEmail)
	s.choose(`form[action="/users"] select[name=role]`, "operator")
	s.fill(`form[action="/users"] input[name=password]`, "short")
	s.submit("create a user with a short password", `form[action="/users"] button[type=submit]`)
	s.expectText(`#err-password`, "at least")
	s.a11y("Users with a field error")

	for _, u := range []struct{ email, role string }{{operatorEmail, "operator"}, {agentEmail, "agent"}} {
		s.fill(`form[action="/users"] input[name=email]`, u.email)
		s.choose(`form[action="/users"] select[name=role]`, u.role)
		s.fill(`form[action="/users"] input[name=password]`, password)
		s.submit("create the "+u.role, `form[action="/users"] button[type=submit]`)
		s.waitPath("/users")
		s.expectText(`[data-testid=flash]`, fmt.Sprintf("User %s created as %s.", u.email, u.role))
		row := rowText(s, `[data-testid=users-table]`, u.email)
		if row == "" {
			s.fatalf("the users table has no row for %s", u.email)
		}
		if !strings.Contains(row, u.role) || !strings.Contains(row, "Active") {
			s.fatalf("users table row for %s: %q, want role %s and Active", u.email, row, u.role)
		}
	}
	s.a11y("Users with three accounts")
}

// rowText returns the text of the table row whose first cell is exactly
// first, or "" when there is none.
func rowText(s *session, table, first string) string {
	s.t.Helper()
	return eval[string](s, fmt.Sprintf(`(function () {
		var rows = Array.from(document.querySelectorAll(%s + " tbody tr"));
		var r = rows.find(function (tr) { return tr.cells[0] && tr.cells[0].textContent.trim() === %s; });
		return r ? r.textContent.replace(/\s+/g, " ").trim() : "";
	})()`, jsString(table), jsString(first)))
}

var channelIDPattern = regexp.MustCompile(`^tg-[a-z2-7]{10}$`)

// Flow 2: the operator creates a channel (an empty name first), opens it
// by its Channel ID and walks the tabs: htmx swaps with pushed URLs, Back
// returns to the previous tab, and a direct load lands on the right tab.
func flowOperatorChannel(t *testing.T, w *world) {
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
	s.screenshot("channels.png")
	s.submit("open the channel by its Channel ID", link)
	base := "/channels/" + w.channelID
	s.waitPath(base + "/overview")
	s.expectText(`h1`, w.channelName)
	assertTab(s, "overview")
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

// assertTab checks that exactly the tab slug is current and its panel is
// shown.
func assertTab(s *session, slug string) {
	s.t.Helper()
	s.waitVisible(`[data-testid="panel-` + slug + `"]`)
	cur := eval[[]string](s, `Array.from(document.querySelectorAll('nav.tabs [aria-current="page"]')).map(function (a) { return a.id; })`)
	if len(cur) != 1 || cur[0] != "tab-"+slug {
		s.fatalf("current tabs %v, want exactly [tab-%s]", cur, slug)
	}
}

func flowChatbot(t *testing.T, w *world) {
	t.Skip("waiting for Chatbot Management")
}

func flowAgentWorkbench(t *testing.T, w *world) {
	t.Skip("waiting for the Workbench")
}

func flowAdminDeletes(t *testing.T, w *world) {
	t.Skip("not written yet")
}
