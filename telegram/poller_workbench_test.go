package telegram

import (
	"context"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// resolve marks a conversation resolved, as an agent would.
func (e *env) resolve(chatID int64) {
	e.t.Helper()
	db := pgtest.OpenGorm(e.t, e.st.Path())
	if err := db.Exec("UPDATE conversations SET status = 'resolved', unread = 0 WHERE chat_id = ?", chatID).Error; err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) conv(chatID int64) models.Conversation {
	e.t.Helper()
	var c models.Conversation
	if err := e.db.Take(&c, "chat_id = ?", chatID).Error; err != nil {
		e.t.Fatalf("conversation %d: %v", chatID, err)
	}
	return c
}

func TestKeywordWorkbench(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.st.SetWorkbench(ctx, e.channel.ID, models.WorkbenchKeyword, []string{"refund", "order status"}); err != nil {
		t.Fatal(err)
	}
	carol := telegramtest.User(5511111111, "Carol", "")
	f := e.fake
	f.Inject(testBotID, telegramtest.PrivateText(alice, "hello"))                        // no match
	f.Inject(testBotID, telegramtest.PrivateText(bob, "I want a REFUND please"))         // match
	f.Inject(testBotID, telegramtest.PrivateText(bob, "thanks"))                         // follows
	f.Inject(testBotID, telegramtest.PrivateText(carol, "refunded already?"))            // whole word only: no match
	f.Inject(testBotID, telegramtest.GroupText(super, alice, "what is my order status")) // phrase match
	last := f.Inject(testBotID, telegramtest.PrivateText(alice, "still hello"))
	e.runSupervisor()
	e.caughtUp(last.UpdateID)

	for _, c := range []struct {
		chat int64
		in   bool
	}{{alice.ID, false}, {bob.ID, true}, {carol.ID, false}, {super.ID, true}} {
		if got := e.conv(c.chat); got.InWorkbench != c.in || got.Status != "open" {
			t.Errorf("chat %d: in_workbench=%v status=%s, want %v", c.chat, got.InWorkbench, got.Status, c.in)
		}
	}
	if b := e.conv(bob.ID); b.Unread != 2 || b.LastMessageText != "thanks" {
		t.Errorf("bob = %+v", b)
	}
	// Every message is stored and has its mo event, in the workbench or not.
	if m, mo := e.count("messages", ""), e.count("outbox", "kind = 'mo'"); m != 6 || mo != 6 {
		t.Fatalf("messages %d, mo %d", m, mo)
	}

	// Resolved: a non-matching message leaves it resolved, a matching one
	// reopens it.
	e.resolve(bob.ID)
	u := f.Inject(testBotID, telegramtest.PrivateText(bob, "ok bye"))
	e.caughtUp(u.UpdateID)
	if b := e.conv(bob.ID); b.Status != "resolved" || !b.InWorkbench {
		t.Fatalf("after a non-matching message: %+v", b)
	}
	u = f.Inject(testBotID, telegramtest.PrivateText(bob, "refund again"))
	e.caughtUp(u.UpdateID)
	if b := e.conv(bob.ID); b.Status != "open" || !b.InWorkbench {
		t.Fatalf("after a matching message: %+v", b)
	}
}

func TestAllAndOffWorkbenchModes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := e.fake
	u := f.Inject(testBotID, telegramtest.PrivateText(alice, "hi"))
	e.runSupervisor()
	e.caughtUp(u.UpdateID)
	if c := e.conv(alice.ID); c.InWorkbench {
		t.Fatal("mode off put a chat in the workbench")
	}
	if _, err := e.st.SetWorkbench(ctx, e.channel.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	u = f.Inject(testBotID, telegramtest.PrivateText(alice, "anything"))
	e.caughtUp(u.UpdateID)
	if c := e.conv(alice.ID); !c.InWorkbench || c.Status != "open" {
		t.Fatalf("mode all: %+v", c)
	}
	e.resolve(alice.ID)
	u = f.Inject(testBotID, telegramtest.PrivateText(alice, "me again"))
	e.caughtUp(u.UpdateID)
	if c := e.conv(alice.ID); c.Status != "open" || c.Unread != 1 {
		t.Fatalf("mode all must reopen a resolved chat: %+v", c)
	}
	if _, err := e.st.SetWorkbench(ctx, e.channel.ID, models.WorkbenchOff, nil); err != nil {
		t.Fatal(err)
	}
	e.resolve(alice.ID)
	u = f.Inject(testBotID, telegramtest.PrivateText(alice, "off now"))
	e.caughtUp(u.UpdateID)
	if c := e.conv(alice.ID); c.Status != "resolved" || !c.InWorkbench {
		t.Fatalf("mode off must leave the conversation as it is: %+v", c)
	}
}
