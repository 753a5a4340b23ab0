package telegram

import (
	"testing"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// The poller asks for message_reaction updates and keeps each user's
// current reactions; service messages are stored as system lines.
func TestPollerReactionsAndServiceMessages(t *testing.T) {
	e := newEnv(t)
	f := e.fake
	q := f.Inject(testBotID, telegramtest.GroupText(super, alice, "Is the shop open today?"))
	react := func(u telego.User, emoji ...string) int {
		var rs []telego.ReactionType
		for _, em := range emoji {
			rs = append(rs, &telego.ReactionTypeEmoji{Type: telego.ReactionEmoji, Emoji: em})
		}
		user := u
		return f.Inject(testBotID, telego.Update{MessageReaction: &telego.MessageReactionUpdated{
			Chat: super, MessageID: q.Message.MessageID, User: &user, NewReaction: rs}}).UpdateID
	}
	react(alice, "👍")
	react(bob, "👍")
	react(bob, "🔥") // bob changes his mind: only 🔥 remains his
	joined := telegramtest.GroupText(super, bob, "")
	joined.Message.NewChatMembers = []telego.User{bob}
	f.Inject(testBotID, joined)
	titled := telegramtest.GroupText(super, alice, "")
	titled.Message.NewChatTitle = "Customers <VIP>"
	f.Inject(testBotID, titled)
	left := telegramtest.GroupText(super, bob, "")
	left.Message.LeftChatMember = &bob
	last := f.Inject(testBotID, left).UpdateID

	e.runSupervisor()
	e.caughtUp(last)

	m := e.message(super.ID, int64(q.Message.MessageID))
	rs, err := e.st.Reactions(t.Context(), []int64{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rs[m.ID] {
		got[r.Emoji] = r.Count
	}
	if len(got) != 2 || got["👍"] != 1 || got["🔥"] != 1 {
		t.Fatalf("reactions %v, want 👍 1 and 🔥 1", rs[m.ID])
	}

	var lines []string
	e.db.Table("messages").Where("chat_id = ? AND type = ?", super.ID, models.MessageService).Order("id").Pluck("text", &lines)
	want := []string{"Bob joined the group", "Alice changed the title to “Customers <VIP>”", "Bob left the group"}
	if len(lines) != len(want) {
		t.Fatalf("service lines %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("service line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}
