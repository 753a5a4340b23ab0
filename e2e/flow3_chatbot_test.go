package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

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
	w.needs(t, true)
	s := newSession(t, "operator")
	s.signIn(operatorEmail, password)
	base := "/channels/" + w.channelID
	s.open(base + "/chatbot")
	assertTab(s, "chatbot")
	if !s.exists(`[data-testid=chatbot-panel]`) {
		t.Fatal("the Chatbot Management tab has no bot panel")
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
