package telegram

import (
	"context"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// Telegram Business over HTTP: the poller asks for the business updates,
// keeps each connection with its rights, and a customer's chat with the
// business account is a conversation of its own (apart from their chat
// with the bot), edited and deleted as Telegram says. Replies from it go
// out through the connection, and Telegram's refusal when the account did
// not let the bot reply is the message's failure (or, when botdesk already
// knows, a refusal before anything is queued).
func TestPollerTelegramBusiness(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := e.fake
	owner := telegramtest.User(5600000001, "Olga", "olga_shop")
	f.Inject(testBotID, telegramtest.BusinessConnected("bc-shop", owner, true, true))
	f.Inject(testBotID, telegramtest.BusinessConnected("bc-readonly", bob, false, true))
	direct := f.Inject(testBotID, telegramtest.PrivateText(alice, "Hi bot")).Message
	first := f.Inject(testBotID, telegramtest.BusinessText("bc-shop", alice, "Do you ship to Oslo?")).BusinessMessage
	second := f.Inject(testBotID, telegramtest.BusinessText("bc-shop", alice, "Wrong question")).BusinessMessage
	f.Inject(testBotID, telegramtest.BusinessEdited(*first, "Do you ship to Bergen?"))
	f.Inject(testBotID, telegramtest.BusinessDeleted("bc-shop", second.Chat, second.MessageID))
	last := f.Inject(testBotID, telegramtest.BusinessText("bc-readonly", alice, "Hello Bob's shop")).UpdateID
	e.pollAll(last)

	var conns []models.BusinessConnection
	if err := e.db.Order("id").Find(&conns).Error; err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 || conns[1].ID != "bc-shop" || !conns[1].CanReply || !conns[1].Enabled || conns[1].UserName != "Olga" ||
		conns[0].CanReply || conns[1].ChannelID != e.channel.ID {
		t.Fatalf("business connections %+v", conns)
	}
	if r := conns[1].GrantedRights(); len(r) != 2 || r[0] != "can_read_messages" || r[1] != "can_reply" {
		t.Fatalf("rights %v", r)
	}

	convs := e.conversationsOf(alice.ID, "business_connection_id")
	if len(convs) != 3 || convs[0].BusinessConnectionID != "" || convs[1].BusinessConnectionID != "bc-readonly" || convs[2].BusinessConnectionID != "bc-shop" {
		t.Fatalf("Alice's conversations %+v", convs)
	}
	shop := convs[2]
	rows := e.history(&shop)
	if len(rows) != 2 || rows[0].Text != "Do you ship to Bergen?" || rows[0].EditedAt == nil || rows[1].DeletedAt == nil {
		t.Fatalf("business chat history %+v", rows)
	}
	if m := e.message(alice.ID, int64(direct.MessageID)); m.BusinessConnectionID != "" || m.Text != "Hi bot" {
		t.Fatalf("the bot's own chat message %+v", m)
	}
	row, err := e.st.Conversation(ctx, shop.ID)
	if err != nil || row.BusinessName != "Olga" {
		t.Fatalf("conversation row %+v %v", row, err)
	}

	if m := e.sendAll(e.replyInto(&shop, "Yes, to Bergen too"))[0]; m.Status != "sent" || m.BusinessConnectionID != "bc-shop" {
		t.Fatalf("business reply %+v", m)
	}
	// A connection that does not let the bot reply takes no reply.
	refused := store.OutgoingMessage{Text: "Hello Alice"}
	refused.Into(&convs[1])
	if _, _, err := e.st.QueueOutgoing(ctx, refused); !invalidField(err, "business_connection_id") {
		t.Fatalf("reply through a read-only connection: %v", err)
	}
	// The owner takes the right away after a reply was queued: Telegram's
	// refusal is the message's failure.
	late := e.replyInto(&shop, "And to Oslo")
	f.Inject(testBotID, telegramtest.BusinessConnected("bc-shop", owner, false, true))
	if m := e.sendAll(late)[0]; m.Status != "failed" || m.ErrorDescription != telegramtest.DescBusinessNoReply {
		t.Fatalf("reply without the right to reply %+v", m)
	}
	var sent []string
	for _, m := range f.Sent(testBotID) {
		if m.BusinessConnectionID == "bc-shop" && m.From != nil && m.From.ID == owner.ID {
			sent = append(sent, m.Text)
		}
	}
	if len(sent) != 1 || sent[0] != "Yes, to Bergen too" {
		t.Fatalf("sent on the account's behalf: %q", sent)
	}
}
