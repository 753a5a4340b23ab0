package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// businessFixture is a channel whose bot (on the fake Bot API) is
// connected to Olga's business account, with Alice's chat with that
// account in the workbench.
type businessFixture struct {
	*changeFixture
	owner telego.User
}

const businessBotID = 7100000001

func newBusinessFixture(t *testing.T, rights telego.BusinessBotRights) *businessFixture {
	t.Helper()
	cf := newChangeFixture(t)
	bf := &businessFixture{changeFixture: cf, owner: telegramtest.User(5600000001, "Olga", "olga_shop")}
	bf.connect(t, rights, true)
	cf.conv = cf.f.conv(t, cf.chatID, "Alice", func(c *models.Conversation) { c.BusinessConnectionID = "bc-shop" })
	return bf
}

// connect announces the connection to the fake and stores it as the
// ingest would.
func (bf *businessFixture) connect(t *testing.T, rights telego.BusinessBotRights, enabled bool) {
	t.Helper()
	bf.be.tg.Inject(businessBotID, telegramtest.BusinessConnectedWith("bc-shop", bf.owner, rights, enabled))
	now := time.Now().UTC()
	bc := models.BusinessConnection{ID: "bc-shop", ChannelID: bf.f.ch.ID, BotTelegramID: businessBotID, UserID: bf.owner.ID,
		UserChatID: bf.owner.ID, UserName: "Olga", CanReply: rights.CanReply, Enabled: enabled, ConnectedAt: now, UpdatedAt: now}
	if err := bf.f.db.Save(&bc).Error; err != nil {
		t.Fatal(err)
	}
}

// sentBusiness sends text into Alice's business chat through the fake
// and stores it as the sender would have.
func (bf *businessFixture) sentBusiness(t *testing.T, text string) *models.Message {
	t.Helper()
	ctx := context.Background()
	tok, err := telegram.ParseToken(bf.token)
	if err != nil {
		t.Fatal(err)
	}
	client, err := telegram.NewClient(bf.be.tgURL, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := client.SendText(ctx, bf.chatID, text, telegram.SendOptions{BusinessConnectionID: "bc-shop"})
	if err != nil {
		t.Fatal(err)
	}
	out := store.OutgoingMessage{Text: text}
	out.Into(bf.conv)
	m, _, err := bf.be.Store.QueueOutgoing(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bf.be.Store.FinishOutgoing(ctx, m.ID, store.SendOutcome{Sent: true, TelegramMessageID: int64(tm.MessageID)}); err != nil {
		t.Fatal(err)
	}
	got := bf.f.message(t, m.ID)
	return &got
}

// In a business chat, edits and deletes of a sent message reach Telegram
// through the business connection (editMessageText with
// business_connection_id, deleteBusinessMessages), from the API and the
// workbench; what Telegram does not allow (reactions there, deleting
// without the right) is said in plain words and changes nothing.
func TestBusinessChatEditDeleteReact(t *testing.T) {
	t.Parallel()
	bf := newBusinessFixture(t, telego.BusinessBotRights{CanReply: true, CanReadMessages: true})
	be, f := bf.be, bf.f
	key := be.apiKey(t, models.RoleAgent)
	m := bf.sentBusiness(t, "Yes, on Mondays")
	tgID := int(*m.TelegramMessageID)
	path := "/api/v1/channels/" + f.ch.ID + "/messages/" + itoa(m.ID)

	be.api(t, key, http.MethodPatch, path, map[string]string{"text": "Yes, on Tuesdays"}).wantStatus(t, http.StatusOK)
	if tm, ok := be.tg.BusinessMessage(businessBotID, "bc-shop", bf.chatID, tgID); !ok || tm.Text != "Yes, on Tuesdays" {
		t.Fatalf("Telegram's business chat has %+v %v", tm, ok)
	}
	if got := f.message(t, m.ID); got.Text != "Yes, on Tuesdays" || got.EditedAt == nil {
		t.Fatalf("stored %+v", got)
	}

	agent := be.userClient(t, models.RoleAgent)
	msgBase := "/workbench/c/" + itoa(bf.conv.ID) + "/m/" + itoa(m.ID)
	t.Run("edit from the workbench", func(t *testing.T) {
		r := agent.htmx(http.MethodPost, msgBase+"/edit", url.Values{"text": {"Yes, on Wednesdays"}}).wantStatus(t, http.StatusOK)
		if got := r.doc(t).Find("[data-testid=msg-text]").Text(); got != "Yes, on Wednesdays" {
			t.Fatalf("edited bubble %q", got)
		}
		if tm, _ := be.tg.BusinessMessage(businessBotID, "bc-shop", bf.chatID, tgID); tm.Text != "Yes, on Wednesdays" {
			t.Fatalf("Telegram has %q", tm.Text)
		}
	})

	t.Run("no reactions in business chats", func(t *testing.T) {
		calls := be.tg.BotCalls(businessBotID, "setMessageReaction")
		r := agent.htmx(http.MethodPost, msgBase+"/react", url.Values{"emoji": {"👍"}}).wantStatus(t, http.StatusConflict)
		if !strings.Contains(r.Body, "does not let bots react to messages in a business account") {
			t.Fatalf("reaction refusal: %s", r.Body)
		}
		if be.tg.BotCalls(businessBotID, "setMessageReaction") != calls {
			t.Fatal("setMessageReaction was called for a business chat")
		}
		if n := be.count(t, "SELECT count(*) FROM message_reactions WHERE message_id = ?", m.ID); n != 0 {
			t.Fatalf("%d reactions stored", n)
		}
	})

	t.Run("delete needs the right to delete", func(t *testing.T) {
		r := be.api(t, key, http.MethodDelete, path, nil).wantStatus(t, http.StatusConflict)
		if _, msg := r.apiError(t); !strings.Contains(msg, "does not let the bot delete messages") {
			t.Fatalf("refused delete: %q", msg)
		}
		r = agent.htmx(http.MethodPost, msgBase+"/delete", nil).wantStatus(t, http.StatusUnprocessableEntity)
		if !strings.Contains(r.Body, "does not let the bot delete messages") {
			t.Fatalf("workbench refused delete: %s", r.Body)
		}
		if got := f.message(t, m.ID); got.DeletedAt != nil {
			t.Fatal("a refused delete was recorded")
		}
		bf.connect(t, telego.BusinessBotRights{CanReply: true, CanDeleteSentMessages: true}, true)
		agent.htmx(http.MethodPost, msgBase+"/delete", nil).wantStatus(t, http.StatusOK)
		if _, ok := be.tg.BusinessMessage(businessBotID, "bc-shop", bf.chatID, tgID); ok {
			t.Fatal("Telegram still has the deleted business message")
		}
		if got := f.message(t, m.ID); got.DeletedAt == nil {
			t.Fatal("deleted_at not set")
		}
	})

	t.Run("disconnected account", func(t *testing.T) {
		later := bf.sentBusiness(t, "One more thing")
		bf.connect(t, telego.BusinessBotRights{CanReply: true}, false)
		r := be.api(t, key, http.MethodPatch, "/api/v1/channels/"+f.ch.ID+"/messages/"+itoa(later.ID),
			map[string]string{"text": "edited"}).wantStatus(t, http.StatusConflict)
		if _, msg := r.apiError(t); !strings.Contains(msg, "disconnected the bot") {
			t.Fatalf("edit through a disabled connection: %q", msg)
		}
	})
}

// POST /api/v1/channels/{id}/messages with business_connection_id sends
// on behalf of the business account into its customer's chat; a
// connection the bot does not have, a disabled one or one without the
// right to reply is a 422 on that field, and nothing is queued.
func TestAPISendIntoBusinessChat(t *testing.T) {
	t.Parallel()
	bf := newBusinessFixture(t, telego.BusinessBotRights{CanReply: true, CanReadMessages: true})
	be, f := bf.be, bf.f
	key := be.apiKey(t, models.RoleAgent)
	path := "/api/v1/channels/" + f.ch.ID + "/messages"
	send := func(body map[string]any) *testResponse {
		return be.api(t, key, http.MethodPost, path, body)
	}
	var out struct {
		MessageID int64  `json:"message_id"`
		Status    string `json:"status"`
	}
	send(map[string]any{"chat_id": bf.chatID, "text": "Your parcel left today", "business_connection_id": "bc-shop"}).
		wantStatus(t, http.StatusAccepted).json(t, &out)
	if got := f.message(t, out.MessageID); got.BusinessConnectionID != "bc-shop" || got.ChatID != bf.chatID || got.Status != "pending" {
		t.Fatalf("queued %+v", got)
	}
	queued := be.count(t, "SELECT count(*) FROM messages WHERE direction = 'out'")

	other := newWBFixture(t, be.testEnv, "Other shop")
	now := time.Now().UTC()
	if err := f.db.Create(&models.BusinessConnection{ID: "bc-other", ChannelID: other.ch.ID, BotTelegramID: 7100000002,
		UserID: 1, UserChatID: 1, CanReply: true, Enabled: true, ConnectedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bc string
		setup    func()
		status   int
		want     string
	}{
		{name: "unknown connection", bc: "bc-nope", status: http.StatusUnprocessableEntity, want: "no business connection with this id"},
		{name: "another channel's connection", bc: "bc-other", status: http.StatusUnprocessableEntity, want: "no business connection with this id"},
		{name: "chat not of the account", bc: "bc-shop", status: http.StatusNotFound, want: "No customer with that chat_id"},
		{name: "no right to reply", bc: "bc-shop", status: http.StatusUnprocessableEntity, want: "does not let the bot reply",
			setup: func() { bf.connect(t, telego.BusinessBotRights{CanReadMessages: true}, true) }},
		{name: "disconnected", bc: "bc-shop", status: http.StatusUnprocessableEntity, want: "disconnected the bot",
			setup: func() { bf.connect(t, telego.BusinessBotRights{CanReply: true}, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			chat := bf.chatID
			if tc.name == "chat not of the account" {
				chat = 999000111
				f.conv(t, chat, "Bob, a customer of the bot itself")
			}
			r := send(map[string]any{"chat_id": chat, "text": "x", "business_connection_id": tc.bc}).wantStatus(t, tc.status)
			code, msg := r.apiError(t)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("answer %s %q, want %q", code, msg, tc.want)
			}
			var body struct{ Error struct{ Field string } }
			r.json(t, &body)
			if tc.status == http.StatusUnprocessableEntity && body.Error.Field != "business_connection_id" {
				t.Fatalf("field %q", body.Error.Field)
			}
		})
	}
	if n := be.count(t, "SELECT count(*) FROM messages WHERE direction = 'out'"); n != queued {
		t.Fatalf("%d messages queued by refused sends", n-queued)
	}
}
