package e2e

import (
	"fmt"
	"testing"
)

// world is what one flow leaves for the next: the click-through is one
// story (the admin creates the operator who creates the channel the agent
// works in), so the flows run in order and share it.
type world struct {
	// accounts is set once flow 1 created the operator and the agent.
	accounts    bool
	channelID   string
	channelName string
	// bot is set once Chatbot Management connected one.
	botID       int64
	botUsername string
	botToken    string
	// keyword is set once Triggered by Keyword was saved with it.
	keyword string
}

// TestConsole is the click-through of the console (docs/guide.md), flow by flow, in the order
// a team meets the features. Flows 1 and 2 create the accounts and the
// channel everything else uses, so a failure there stops the run; the
// later flows each run whatever happened before (a flow that needs a bot
// copes with flow 3 having failed).
func TestConsole(t *testing.T) {
	suite.require(t)
	w := &world{channelName: "Support EU"}
	flows := []struct {
		name     string
		run      func(*testing.T, *world)
		critical bool
	}{
		{"1_admin_signs_in_and_creates_users", flowAdminCreatesUsers, true},
		{"2_operator_creates_and_browses_a_channel", flowOperatorChannel, true},
		{"3_operator_manages_the_chatbot", flowChatbot, false},
		{"3b_operator_configures_the_webhook", flowWebhook, false},
		{"4_agent_answers_in_the_workbench", flowAgentWorkbench, false},
		{"4b_live_list_keeps_loaded_rows", flowAgentLoadMore, false},
		{"4c_operator_reads_reports", flowReports, false},
		{"4d_agent_quotes_sends_a_photo_and_edits", flowAgentRichMessages, false},
		{"4e_agent_workspace_canned_notes_keyboard", flowWorkspace, false},
		{"4f_agent_unread_and_assignment", flowAssignment, false},
		{"4g_agent_replies_in_a_forum_topic", flowAgentRepliesInForumTopic, false},
		{"4h_agent_replies_in_a_business_chat", flowAgentRepliesInBusinessChat, false},
		{"5_admin_deletes_bot_and_channel", flowAdminDeletes, false},
		{"6_agent_turns_on_two_factor", flowAgentTwoFactor, false},
	}
	for _, f := range flows {
		if !t.Run(f.name, func(t *testing.T) { f.run(t, w) }) && f.critical {
			t.Fatalf("flow %s failed; every later flow depends on it and none was run", f.name)
		}
	}
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

// assertDisabled checks a button's disabled state.
func assertDisabled(s *session, sel string, want bool, when string) {
	s.t.Helper()
	s.waitVisible(sel)
	if got := eval[bool](s, fmt.Sprintf(`document.querySelector(%s).disabled`, jsString(sel))); got != want {
		s.fatalf("%s: disabled=%v %s, want %v", sel, got, when, want)
	}
}

// needs skips a flow run on its own (go test -run) when an earlier flow
// did not set up what it uses.
func (w *world) needs(t *testing.T, channel bool) {
	t.Helper()
	if !w.accounts {
		t.Skip("needs flow 1 (the operator and agent accounts): run the whole TestConsole")
	}
	if channel && w.channelID == "" {
		t.Skip("needs flow 2 (the channel): run the whole TestConsole")
	}
}
