package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// Sends into forum topics and on behalf of business accounts, against the
// fake over HTTP, with Telegram's refusals.
func TestClientTopicAndBusinessSends(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	alice := telegramtest.User(5512345678, "Alice", "alice")
	owner := telegramtest.User(5600000001, "Olga", "olga_shop")

	t.Run("forum topic", func(t *testing.T) {
		forum := telegramtest.Forum(-1001000000078, "Acme Forum")
		created := f.srv.Inject(botID, telegramtest.TopicCreated(forum, alice, "Orders")).Message
		_, err := f.client.SendText(ctx, forum.ID, "hello", telegram.SendOptions{ThreadID: int64(created.MessageID) + 100})
		wantAPIError(t, "unknown topic", err, 400, telegramtest.DescThreadNotFound)
		m, err := f.client.SendText(ctx, forum.ID, "hello", telegram.SendOptions{ThreadID: int64(created.MessageID)})
		if err != nil || m.MessageThreadID != created.MessageID || !m.IsTopicMessage {
			t.Fatalf("send into the topic: %+v %v", m, err)
		}
	})

	t.Run("business connection", func(t *testing.T) {
		f.srv.Inject(botID, telegramtest.BusinessConnected("bc-read-only", owner, false, true))
		f.srv.Inject(botID, telegramtest.BusinessConnected("bc-gone", owner, true, false))
		f.srv.Inject(botID, telegramtest.BusinessConnected("bc-ok", owner, true, true))
		in := f.srv.Inject(botID, telegramtest.BusinessText("bc-ok", alice, "Do you ship to Oslo?")).BusinessMessage
		_, err := f.client.SendText(ctx, alice.ID, "hi", telegram.SendOptions{BusinessConnectionID: "bc-read-only"})
		wantAPIError(t, "no right to reply", err, 403, telegramtest.DescBusinessNoReply)
		_, err = f.client.SendText(ctx, alice.ID, "hi", telegram.SendOptions{BusinessConnectionID: "bc-gone"})
		wantAPIError(t, "disabled connection", err, 400, telegramtest.DescBusinessInvalid)
		_, err = f.client.SendText(ctx, alice.ID, "hi", telegram.SendOptions{BusinessConnectionID: "bc-unknown"})
		wantAPIError(t, "unknown connection", err, 400, telegramtest.DescBusinessInvalid)
		m, err := f.client.SendText(ctx, alice.ID, "Yes, we do", telegram.SendOptions{BusinessConnectionID: "bc-ok",
			ReplyTo: int64(in.MessageID)})
		if err != nil {
			t.Fatal(err)
		}
		if m.BusinessConnectionID != "bc-ok" || m.From == nil || m.From.ID != owner.ID || m.ReplyToMessage == nil {
			t.Fatalf("business send: %+v", m)
		}
		if err := f.client.SendTyping(ctx, alice.ID, telegram.SendOptions{BusinessConnectionID: "bc-ok"}); err != nil {
			t.Fatal(err)
		}
	})
}

// Changes to a message sent in a business chat go through its connection:
// editMessageText with business_connection_id, deleteBusinessMessages
// with the right to delete, and no reaction at all (setMessageReaction
// takes no connection). Without the connection Telegram looks in the
// bot's own chats and does not find the message.
func TestClientBusinessChanges(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	alice := telegramtest.User(5512345678, "Alice", "alice")
	owner := telegramtest.User(5600000001, "Olga", "olga_shop")
	f.srv.Inject(botID, telegramtest.BusinessConnected("bc-shop", owner, true, true))
	in := f.srv.Inject(botID, telegramtest.BusinessText("bc-shop", alice, "Do you ship to Oslo?")).BusinessMessage
	sent, err := f.client.SendText(ctx, alice.ID, "Yes, on Mondays", telegram.SendOptions{BusinessConnectionID: "bc-shop"})
	if err != nil {
		t.Fatal(err)
	}
	biz := telegram.Target{ChatID: alice.ID, MessageID: int64(sent.MessageID), BusinessConnectionID: "bc-shop"}
	plain := biz
	plain.BusinessConnectionID = ""

	t.Run("edit", func(t *testing.T) {
		_, err := f.client.EditMessageText(ctx, plain, "Yes, on Tuesdays")
		wantAPIError(t, "edit without the connection", err, 400, telegramtest.DescEditNotFound)
		m, err := f.client.EditMessageText(ctx, biz, "Yes, on Tuesdays")
		if err != nil || m.Text != "Yes, on Tuesdays" || m.BusinessConnectionID != "bc-shop" {
			t.Fatalf("business edit: %+v %v", m, err)
		}
		if got, _ := f.srv.BusinessMessage(botID, "bc-shop", alice.ID, sent.MessageID); got.Text != "Yes, on Tuesdays" {
			t.Fatalf("Telegram has %q", got.Text)
		}
		_, err = f.client.EditMessageText(ctx, telegram.Target{ChatID: alice.ID, MessageID: int64(in.MessageID), BusinessConnectionID: "bc-shop"}, "x")
		wantAPIError(t, "the customer's message", err, 400, telegramtest.DescCantEdit)
	})

	t.Run("react", func(t *testing.T) {
		calls := f.srv.BotCalls(botID, "setMessageReaction")
		err := f.client.SetMessageReaction(ctx, biz, "👍")
		if !errors.Is(err, telegram.ErrBusinessReaction) {
			t.Fatalf("reaction in a business chat: %v", err)
		}
		if plain, ok := telegram.Refusal(err); !ok || !strings.Contains(plain, "does not let bots react") {
			t.Fatalf("in plain words: %q %v", plain, ok)
		}
		if f.srv.BotCalls(botID, "setMessageReaction") != calls {
			t.Fatal("a reaction Telegram cannot take was sent")
		}
	})

	t.Run("delete", func(t *testing.T) {
		err := f.client.DeleteMessage(ctx, biz)
		wantAPIError(t, "without the right to delete", err, 403, telegramtest.DescBusinessNoDelete)
		if plain, _ := telegram.Refusal(err); !strings.Contains(plain, "does not let the bot delete") {
			t.Fatalf("in plain words: %q", plain)
		}
		wantAPIError(t, "deleteMessage in a business chat", f.client.DeleteMessage(ctx, plain), 400, telegramtest.DescDeleteNotFound)
		f.srv.Inject(botID, telegramtest.BusinessConnectedWith("bc-shop", owner,
			telego.BusinessBotRights{CanReply: true, CanDeleteSentMessages: true}, true))
		wantAPIError(t, "the customer's message", f.client.DeleteMessage(ctx,
			telegram.Target{ChatID: alice.ID, MessageID: int64(in.MessageID), BusinessConnectionID: "bc-shop"}), 403, telegramtest.DescBusinessNoDelete)
		if err := f.client.DeleteMessage(ctx, biz); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.srv.BusinessMessage(botID, "bc-shop", alice.ID, sent.MessageID); ok {
			t.Fatal("Telegram still has the deleted business message")
		}
		wantAPIError(t, "deleted twice", f.client.DeleteMessage(ctx, biz), 400, telegramtest.DescDeleteNotFound)
		f.srv.Inject(botID, telegramtest.BusinessConnected("bc-shop", owner, true, false))
		_, err = f.client.EditMessageText(ctx, biz, "x")
		wantAPIError(t, "edit through a disabled connection", err, 400, telegramtest.DescBusinessInvalid)
	})
}
