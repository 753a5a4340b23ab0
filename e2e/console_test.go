package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/telegram/telegramtest"
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
	// keyword is set once Triggered by Keyword was saved with it.
	keyword string
}

// TestConsole is the click-through of issue 7, flow by flow, in the order
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
		{"5_admin_deletes_bot_and_channel", flowAdminDeletes, false},
	}
	for _, f := range flows {
		if !t.Run(f.name, func(t *testing.T) { f.run(t, w) }) && f.critical {
			t.Fatalf("flow %s failed; every later flow depends on it and none was run", f.name)
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

// The bots of the click-through, registered on the fake Bot API.
var (
	supportBot = telegramtest.BotSpec{ID: 7012345678, Username: "acme_support_bot", FirstName: "Acme Support",
		CanJoinGroups: true, CanReadAllGroupMessages: false, SupportsInlineQueries: false}
	otherBot = telegramtest.BotSpec{ID: 7087654321, Username: "acme_sales_bot", FirstName: "Acme Sales"}
)

// workbenchKeyword routes chats into the workbench in flow 4.
const workbenchKeyword = "refund"

// Flow 3: Chatbot Management. The Create Bot guide, then Connect Existing
// Bot with a malformed, a revoked and finally a valid token; the bot info
// with the token masked; Update Token refused for another bot's token and
// accepted for the same bot's new one; Message Workbench Settings →
// Triggered by Keyword.
func flowChatbot(t *testing.T, w *world) {
	s := newSession(t, "operator")
	s.signIn(operatorEmail, password)
	base := "/channels/" + w.channelID
	s.open(base + "/chatbot")
	assertTab(s, "chatbot")
	if !s.exists(`[data-testid=chatbot-panel]`) {
		t.Skip("waiting for Chatbot Management (the tab still shows a placeholder)")
	}

	// Create Bot: the @BotFather steps with a t.me link, then the form.
	s.expectText(`[data-testid=create-bot] h2`, "Create Bot")
	if n := s.count(`[data-testid=create-bot] ol.steps li`); n < 3 {
		t.Errorf("Create Bot shows %d @BotFather steps, want the guide (at least 3)", n)
	}
	s.waitVisible(`[data-testid=create-bot] a[href="https://t.me/BotFather"]`)
	s.waitVisible(`[data-testid=connect-form-create] input[name=token]`)
	s.expectText(`[data-testid=connect-bot] h2`, "Connect Existing Bot")
	s.a11y("Chatbot Management without a bot")

	token := suite.tg.AddBot(supportBot)
	revoked := suite.tg.IssueToken(supportBot.ID)
	suite.tg.RevokeToken(revoked)

	form := `[data-testid=connect-form-connect]`
	connect := func(tok string) {
		s.t.Helper()
		s.fill(form+` input[name=token]`, tok)
		s.click(form + ` button[type=submit]`)
	}
	s.markDocument()
	connect("12345:not-a-token")
	s.waitVisible(`#connect-feedback [data-testid=form-error][data-code=malformed_token]`)
	s.expectText(`#connect-feedback [data-testid=form-error]`, "This is not a bot token.")
	s.a11y("Connect Existing Bot with a malformed token")

	connect(revoked)
	s.waitVisible(`#connect-feedback [data-testid=form-error][data-code=token_rejected]`)
	s.expectText(`#connect-feedback [data-testid=form-error]`, "Telegram rejected this token")
	if s.exists(`[data-testid=bot-info]`) {
		s.fatalf("a revoked token connected a bot")
	}

	connect(token)
	s.waitVisible(`[data-testid=bot-info]`)
	s.sameDocument("Connect")
	s.expectText(`[data-testid=panel-notice]`, "Bot @"+supportBot.Username+" connected.")
	w.botID, w.botUsername, w.botToken = supportBot.ID, supportBot.Username, token
	assertBotInfo(s, supportBot, token)
	// The poller started: the state fragment (refreshed by htmx) turns
	// to Polling once getUpdates answered.
	s.expectText(`[data-testid=bot-state-text]`, "Receiving updates from Telegram.")
	s.a11y("Chatbot Management with a bot")

	// Update Token: the dialog takes the focus and gives it back on Esc.
	const opener, dialog = `button[data-dialog-open="update-token-dialog"]`, `#update-token-dialog`
	s.dialogOpens(opener, dialog)
	s.a11y("Update Token dialog")
	s.dialogEscapes(opener, dialog)

	s.dialogOpens(opener, dialog)
	s.fill(dialog+` input[name=token]`, suite.tg.AddBot(otherBot))
	s.click(dialog + ` button[type=submit]`)
	s.waitVisible(`#update-token-feedback [data-testid=form-error][data-code=different_bot]`)
	s.expectText(`#update-token-feedback [data-testid=form-error]`, "belongs to a different bot")
	if !eval[bool](s, `document.querySelector("#update-token-dialog").open`) {
		s.fatalf("the Update Token dialog closed although the token was refused")
	}
	s.a11y("Update Token dialog with an error")
	assertBotInfo(s, supportBot, token) // the old token is kept

	newToken := suite.tg.IssueToken(supportBot.ID)
	s.fill(dialog+` input[name=token]`, newToken)
	s.click(dialog + ` button[type=submit]`)
	s.expectText(`[data-testid=panel-notice]`, "Token of @"+supportBot.Username+" updated")
	s.waitJS("Update Token dialog closed", `!document.querySelector("#update-token-dialog") || !document.querySelector("#update-token-dialog").open`)
	assertBotInfo(s, supportBot, newToken)
	w.botToken = newToken

	// Message Workbench Settings → Triggered by Keyword.
	const wbOpener, wbDialog = `button[data-dialog-open="workbench-dialog"]`, `#workbench-dialog`
	s.dialogOpens(wbOpener, wbDialog)
	s.dialogEscapes(wbOpener, wbDialog)
	s.dialogOpens(wbOpener, wbDialog)
	s.expectText(wbDialog+` label[for="wb-mode-keyword"]`, "Triggered by Keyword")
	s.expectText(wbDialog+` label[for="wb-mode-all"]`, "Enable Message Workbench")
	s.click(`#wb-mode-keyword`)
	s.fill(wbDialog+` input#wb-keywords`, workbenchKeyword)
	s.pressEnter()
	s.expectText(wbDialog+` .chips .chip`, workbenchKeyword)
	s.a11y("Message Workbench Settings dialog")
	s.click(wbDialog + ` .modal-footer button[type=submit]`)
	s.expectText(`[data-testid=panel-notice]`, "Message Workbench Settings saved: Triggered by Keyword.")
	s.expectText(`[data-testid=workbench-mode]`, "Triggered by Keyword")
	s.expectText(`[data-testid=workbench-keywords]`, workbenchKeyword)
	s.a11y("Chatbot Management after saving the workbench settings")
	w.keyword = workbenchKeyword

	// A reload shows the same, from the database.
	s.open(base + "/chatbot")
	assertBotInfo(s, supportBot, newToken)
	s.expectText(`[data-testid=workbench-mode]`, "Triggered by Keyword")
	s.expectText(`[data-testid=bot-state-text]`, "Receiving updates from Telegram.")
	s.screenshot("chatbot.png")

	// Channel Management lists the bot and its state.
	s.open("/channels")
	row := rowText(s, `[data-testid=channel-table]`, w.channelID)
	if !strings.Contains(row, "@"+supportBot.Username) || !strings.Contains(row, "Polling") {
		s.fatalf("Channel Management row %q, want the bot @%s and its state Polling", row, supportBot.Username)
	}
	s.screenshot("channels.png")
}

// assertBotInfo checks the bot panel: name, @username, id and the masked
// token, and that the full token is nowhere in the page's HTML.
func assertBotInfo(s *session, b telegramtest.BotSpec, token string) {
	s.t.Helper()
	s.expectText(`[data-testid=bot-info] h2`, b.FirstName)
	if got := s.text(`[data-testid=bot-username]`); got != "@"+b.Username {
		s.fatalf("bot username %q, want @%s", got, b.Username)
	}
	if got, want := s.text(`[data-testid=bot-id]`), strconv.FormatInt(b.ID, 10); got != want {
		s.fatalf("bot id %q, want %s", got, want)
	}
	masked := s.text(`[data-testid=bot-token]`)
	if want := strconv.FormatInt(b.ID, 10) + ":••••••••" + token[len(token)-4:]; masked != want {
		s.fatalf("masked token %q, want %q", masked, want)
	}
	secret := token[strings.IndexByte(token, ':')+1:]
	if page := s.html(); strings.Contains(page, secret) {
		s.fatalf("the page HTML contains the bot token's secret part")
	}
}

// Flow 3b: Configure Webhook. Validation errors (a required URL left
// empty with HTTP Protocol on; a private http:// address), then the
// loopback URLs of a local receiver are saved; the queue names' Copy
// buttons work from the keyboard; Send test event reaches the receiver
// and shows the result. When Chatbot Management offers the Configure
// Webhook button, its dialog is checked for focus handling too.
func flowWebhook(t *testing.T, w *world) {
	s := newSession(t, "operator")
	s.signIn(operatorEmail, password)
	s.allowClipboard()
	base := "/channels/" + w.channelID

	if s.open(base + "/chatbot"); s.exists(`[data-testid=configure-webhook-button]`) {
		const opener, dialog = `[data-testid=configure-webhook-button]`, `#configure-webhook-dialog`
		s.dialogOpens(opener, dialog)
		s.expectText(dialog+` h2`, "Configure Webhook")
		s.a11y("Configure Webhook dialog")
		s.dialogEscapes(opener, dialog)
		// A refused form keeps the dialog open with the errors in it.
		s.dialogOpens(opener, dialog)
		if !eval[bool](s, `document.querySelector("#whd-http_enabled").checked`) {
			s.click(`#whd-http_enabled`)
		}
		s.click(dialog + ` button[type=submit]`)
		s.expectText(dialog+` #err-status_url`, "required when HTTP Protocol is on")
		if !eval[bool](s, `!!document.querySelector("#configure-webhook-dialog") && document.querySelector("#configure-webhook-dialog").open`) {
			s.fatalf("the Configure Webhook dialog closed although the form was refused")
		}
		s.a11y("Configure Webhook dialog with errors")
		s.click(dialog + ` button[data-dialog-close]`)
		s.dialogClosed(opener, dialog, "Cancel")
	} else {
		t.Log("Chatbot Management has no Configure Webhook button yet; using the Webhook tab")
	}

	s.open(base + "/webhook")
	assertTab(s, "webhook")
	if !s.exists(`[data-testid=webhook-config]`) {
		t.Skip("waiting for Configure Webhook (the Webhook tab still shows a placeholder)")
	}
	form := `#webhook-config`
	for _, label := range []string{"HTTP Protocol", "Message Queue Monitoring"} {
		if !eval[bool](s, fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).some(function (l) { return l.textContent.trim() === %s; })`, jsString(form+" legend"), jsString(label))) {
			t.Errorf("Configure Webhook has no %q section", label)
		}
	}
	for id, label := range map[string]string{
		"wh-status_url": "Status Report Callback URL", "wh-mo_url": "MO Message Callback URL", "wh-notify_url": "Notification Callback URL",
		"wh-queue-status": "Message Receipt Queue", "wh-queue-mo": "MO Message Queue", "wh-queue-notify": "Notification Queue",
	} {
		s.expectText(fmt.Sprintf(`label[for=%q]`, id), label)
	}
	s.a11y("Webhook tab")

	// HTTP Protocol on with no URLs: each URL is required.
	if !eval[bool](s, `document.querySelector("#wh-http_enabled").checked`) {
		s.click(`#wh-http_enabled`)
	}
	s.click(form + ` button[type=submit]`)
	s.expectText(`#err-status_url`, "required when HTTP Protocol is on")
	s.expectText(`#err-mo_url`, "required when HTTP Protocol is on")
	s.a11y("Configure Webhook with required-field errors")

	// A private address over http:// is refused at save.
	s.fill(`#wh-status_url`, "http://10.0.0.1/botdesk/status")
	s.click(form + ` button[type=submit]`)
	s.expectText(`#err-status_url`, "This URL")
	if got := s.text(`#err-status_url`); strings.Contains(got, "required") {
		s.fatalf("http://10.0.0.1 was reported as %q, want it refused as unsafe", got)
	}
	if eval[string](s, `document.querySelector("#wh-status_url").getAttribute("aria-invalid")`) != "true" {
		t.Errorf("the refused URL field is not aria-invalid")
	}

	// A local receiver on loopback (allowed by BOTDESK_ALLOW_PRIVATE_CALLBACKS=1).
	rcv := newReceiver(t)
	urls := map[string]string{"status_url": rcv.URL + "/status", "mo_url": rcv.URL + "/mo", "notify_url": rcv.URL + "/notify"}
	for name, u := range urls {
		s.fill(`#wh-`+name, u)
	}
	if !eval[bool](s, `document.querySelector("#wh-queue_enabled").checked`) {
		s.click(`#wh-queue_enabled`)
	}
	s.click(form + ` button[type=submit]`)
	s.waitVisible(`[data-testid=webhook-saved]`)
	if s.exists(form + ` .field-error[id^="err-"]`) {
		s.fatalf("saving valid loopback URLs left field errors: %s", s.text(form+` .field-error[id^="err-"]`))
	}
	s.a11y("Configure Webhook saved")
	s.open(base + "/webhook") // saved for real: a reload shows the values
	for name, u := range urls {
		if got := eval[string](s, fmt.Sprintf(`document.querySelector("#wh-%s").value`, name)); got != u {
			s.fatalf("after a reload %s is %q, want %q", name, got, u)
		}
	}

	// The read-only queue names, copied with the keyboard.
	for _, kind := range []string{"status", "mo", "notify"} {
		want := "botdesk-" + w.channelID + "-" + kind
		if got := eval[string](s, fmt.Sprintf(`document.querySelector("#wh-queue-%s").value`, kind)); got != want {
			s.fatalf("queue name %q, want %q", got, want)
		}
	}
	copyBtn := `button[data-copy-target="#wh-queue-mo"]`
	s.focusKeyboard(copyBtn)
	s.pressEnter()
	s.expectText(copyBtn, "Copied")
	if got := run(s, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); got != "botdesk-"+w.channelID+"-mo" {
		t.Errorf("clipboard after Copy: %q, want the MO queue name", got)
	}

	// Send test event posts a signed sample to the URL and says how it went.
	s.focusKeyboard(`[data-testid=test-status]`)
	s.pressEnter()
	s.expectText(`#wh-test-status [data-testid=test-result]`, "Delivered: HTTP 200")
	req := rcv.waitFor(t, "/status")
	if req.signature == "" || !strings.Contains(req.body, `"test":true`) {
		t.Errorf("test event at the receiver: signature %q body %s; want a signed test event", req.signature, req.body)
	}
	s.a11y("Webhook tab after a test event")

	// The signing secret now exists; its Rotate dialog behaves like the others.
	s.open(base + "/webhook")
	if s.exists(`[data-dialog-open="rotate-secret-dialog"]`) {
		const opener, dialog = `button[data-dialog-open="rotate-secret-dialog"]`, `#rotate-secret-dialog`
		s.dialogOpens(opener, dialog)
		s.a11y("Rotate signing secret dialog")
		s.dialogEscapes(opener, dialog)
	} else {
		t.Errorf("after a test event the Webhook tab offers no Rotate for the signing secret")
	}
}

// allowClipboard lets the page use the async clipboard API, as a user
// who accepted the browser prompt would.
func (s *session) allowClipboard() {
	s.t.Helper()
	c := chromedp.FromContext(s.ctx)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: suite.baseURL, BrowserContextID: c.BrowserContextID,
		})
		cancel()
		if err != nil {
			s.fatalf("grant %s: %v", name, err)
		}
	}
}

// receiver is a local callback endpoint that records what it is sent.
type receiver struct {
	*httptest.Server
	got chan receivedCallback
}

type receivedCallback struct {
	path, signature, body string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan receivedCallback, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		select {
		case r.got <- receivedCallback{path: req.URL.Path, signature: req.Header.Get("webhook-signature"), body: string(b)}:
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitFor returns the first callback received on path.
func (r *receiver) waitFor(t *testing.T, path string) receivedCallback {
	t.Helper()
	timeout := time.After(stepTimeout)
	for {
		select {
		case c := <-r.got:
			if c.path == path {
				return c
			}
		case <-timeout:
			t.Fatalf("the callback receiver got nothing on %s", path)
		}
	}
}

// The customer of flow 4, a Telegram user writing to the bot privately.
var customer = telegramtest.User(5550001, "Maria", "maria_k")

// Flow 4: the agent cannot open Users or Channel Management (403), opens
// the Workbench, sees a customer's matching message arrive live (no
// reload), opens it and replies; the reply reaches Telegram and shows as
// sent.
func flowAgentWorkbench(t *testing.T, w *world) {
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
		t.Skip("waiting for the Workbench (/workbench answers 404)")
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

// Flow 5: the admin deletes the bot (Cancel first; OK stays disabled until
// the @username is typed), then the channel (typed name); the channel list
// no longer shows it.
func flowAdminDeletes(t *testing.T, w *world) {
	s := newSession(t, "admin")
	s.signIn(adminEmail, password)
	base := "/channels/" + w.channelID

	if w.botUsername == "" {
		t.Log("no bot was connected (flow 3 skipped): only the channel is deleted")
	} else {
		s.open(base + "/chatbot")
		s.waitVisible(`[data-testid=bot-info]`)
		const opener, dialog = `button[data-dialog-open="delete-bot-dialog"]`, `#delete-bot-dialog`
		const ok = dialog + ` button[data-confirm-submit]`
		s.dialogOpens(opener, dialog)
		s.expectText(dialog+` h2`, "@"+w.botUsername)
		s.expectText(dialog+` [data-testid=delete-bot-losses]`, "synced groups/channels")
		assertDisabled(s, ok, true, "before typing the @username")
		s.a11y("Delete bot dialog")
		s.click(dialog + ` button[data-dialog-close]`)
		s.dialogClosed(opener, dialog, "Cancel")
		s.waitVisible(`[data-testid=bot-info]`)
		s.dialogOpens(opener, dialog)
		s.dialogEscapes(opener, dialog)

		s.dialogOpens(opener, dialog)
		s.fill(dialog+` input[data-confirm-text]`, "@"+w.botUsername[:len(w.botUsername)-1])
		assertDisabled(s, ok, true, "with part of the @username typed")
		s.fill(dialog+` input[data-confirm-text]`, "@"+w.botUsername)
		assertDisabled(s, ok, false, "with the @username typed")
		s.click(ok)
		s.expectText(`[data-testid=panel-notice]`, "Bot @"+w.botUsername+" deleted")
		s.waitVisible(`[data-testid=bot-empty]`)
		s.a11y("Chatbot Management after deleting the bot")
		s.open(base + "/chatbot")
		s.waitVisible(`[data-testid=bot-empty]`)
	}

	s.open(base + "/overview")
	const opener, dialog = `button[data-dialog-open="delete-channel-dialog"]`, `#delete-channel-dialog`
	const ok = dialog + ` button[data-confirm-submit]`
	s.dialogOpens(opener, dialog)
	s.expectText(dialog+` h2`, w.channelName)
	assertDisabled(s, ok, true, "before typing the channel name")
	s.a11y("Delete channel dialog")
	s.dialogEscapes(opener, dialog)
	s.dialogOpens(opener, dialog)
	s.click(dialog + ` button[data-dialog-close]`)
	s.dialogClosed(opener, dialog, "Cancel")

	s.dialogOpens(opener, dialog)
	s.fill(dialog+` input[data-confirm-text]`, strings.ToLower(w.channelName))
	assertDisabled(s, ok, true, "with the name typed in the wrong case")
	s.fill(dialog+` input[data-confirm-text]`, w.channelName)
	assertDisabled(s, ok, false, "with the channel name typed")
	s.submit("delete the channel", ok)
	s.waitPath("/channels")
	s.expectText(`[data-testid=flash]`, "Channel "+w.channelName+" deleted.")
	if s.exists(fmt.Sprintf(`a[href^="/channels/%s"]`, w.channelID)) {
		s.fatalf("Channel Management still links to the deleted channel %s", w.channelID)
	}
	if rowText(s, `[data-testid=channel-table]`, w.channelID) != "" {
		s.fatalf("Channel Management still lists the deleted channel %s", w.channelID)
	}
	s.a11y("Channel Management after deleting the channel")
	if st := s.open(base + "/overview"); st != 404 {
		t.Errorf("the deleted channel's page answers HTTP %d, want 404", st)
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
