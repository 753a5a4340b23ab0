package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Flow 5: the admin deletes the bot (Cancel first; OK stays disabled until
// the @username is typed), then the channel (typed name); the channel list
// no longer shows it.
func flowAdminDeletes(t *testing.T, w *world) {
	w.needs(t, true)
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
