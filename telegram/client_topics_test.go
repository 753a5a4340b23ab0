package telegram_test

import (
	"context"
	"testing"

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
