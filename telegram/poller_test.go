package telegram

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

var (
	alice = telegramtest.User(5512345678, "Alice", "alice")
	bob   = telegramtest.User(5587654321, "Bob", "")
	group = telegramtest.Group(-4000000001, "Support group")
	super = telegramtest.Supergroup(-1001000000001, "Customers")
	chann = telegramtest.Channel(-1001000000002, "News", "acme_news")
)

func (e *env) message(chatID, tgID int64) models.Message {
	e.t.Helper()
	var m models.Message
	if err := e.db.Take(&m, "chat_id = ? AND telegram_message_id = ? AND direction = 'in'", chatID, tgID).Error; err != nil {
		e.t.Fatalf("message %d/%d: %v", chatID, tgID, err)
	}
	return m
}

func media(t *testing.T, m models.Message) models.Media {
	t.Helper()
	var md models.Media
	if err := json.Unmarshal([]byte(m.Media), &md); err != nil {
		t.Fatalf("media %q: %v", m.Media, err)
	}
	return md
}

func TestIngestEveryKind(t *testing.T) {
	e := newEnv(t)
	f := e.fake
	botUser := f.BotUser(testBotID)

	private := f.Inject(testBotID, telegramtest.PrivateText(alice, "hello there"))
	f.Inject(testBotID, telegramtest.BotAdded(botUser, group, alice))
	inGroup := f.Inject(testBotID, telegramtest.GroupText(group, bob, "group hi"))
	f.Inject(testBotID, telegramtest.BotAdded(botUser, super, alice))
	inSuper := f.Inject(testBotID, telegramtest.GroupText(super, alice, "super hi"))
	post := f.Inject(testBotID, telegramtest.ChannelPost(chann, "launch day"))
	f.Inject(testBotID, telegramtest.BotAdded(botUser, chann, alice))
	edited := f.Inject(testBotID, telegramtest.Edited(*private.Message, "hello there, edited"))
	photo := f.Inject(testBotID, telegramtest.Photo(telegramtest.PrivateChat(alice), alice, "look"))
	doc := f.Inject(testBotID, telegramtest.Document(telegramtest.PrivateChat(alice), alice, "invoice.pdf", "application/pdf", 2048))
	stickerU := telegramtest.Sticker(telegramtest.PrivateChat(alice), alice, "")
	stickerU.Message.Sticker.Emoji, stickerU.Message.Sticker.Width, stickerU.Message.Sticker.Height = "👍", 512, 512
	sticker := f.Inject(testBotID, stickerU)
	voice := f.Inject(testBotID, telegramtest.Voice(telegramtest.PrivateChat(alice), alice, 7*time.Second))
	loc := f.Inject(testBotID, telegramtest.Location(telegramtest.PrivateChat(alice), alice, 52.52, 13.405))
	formatted := f.Inject(testBotID, telegramtest.Formatted(telegramtest.PrivateChat(alice), alice,
		telegramtest.Plain("🙂 see "), telegramtest.Bold("this"), telegramtest.Plain(" "), telegramtest.TextLink("link", "https://example.com")))
	reply := f.Inject(testBotID, telegramtest.ReplyTo(*inGroup.Message, alice, "answering"))
	f.Inject(testBotID, telegramtest.BotRemoved(botUser, group, alice))
	last := f.Inject(testBotID, telegramtest.PrivateText(bob, "last"))

	e.runSupervisor()
	e.caughtUp(last.UpdateID)

	t.Run("private text with sender", func(t *testing.T) {
		m := e.message(alice.ID, int64(private.Message.MessageID))
		if m.ChatType != "private" || m.FromID != alice.ID || m.FromUsername != "alice" || m.FromName != "Alice" || m.FromLanguage != "en" ||
			m.Type != "text" || m.UpdateID == nil || *m.UpdateID != int64(private.UpdateID) || m.Status != "received" || m.TelegramDate == nil {
			t.Fatalf("private = %+v", m)
		}
	})
	t.Run("edit keeps the old text", func(t *testing.T) {
		m := e.message(alice.ID, int64(edited.EditedMessage.MessageID))
		if m.Text != "hello there, edited" || m.EditedAt == nil {
			t.Fatalf("edited = %+v", m)
		}
		var edits []models.MessageEdit
		e.db.Where("message_id = ?", m.ID).Find(&edits)
		if len(edits) != 1 || edits[0].Text != "hello there" {
			t.Fatalf("edits = %+v", edits)
		}
		if n := e.count("messages", "chat_id = ? AND telegram_message_id = ?", alice.ID, edited.EditedMessage.MessageID); n != 1 {
			t.Fatalf("edit stored as a new message too: %d rows", n)
		}
	})
	t.Run("group, supergroup and channel post", func(t *testing.T) {
		g := e.message(group.ID, int64(inGroup.Message.MessageID))
		s := e.message(super.ID, int64(inSuper.Message.MessageID))
		p := e.message(chann.ID, int64(post.ChannelPost.MessageID))
		if g.ChatType != "group" || g.FromID != bob.ID || g.FromName != "Bob" || s.ChatType != "supergroup" || s.Text != "super hi" {
			t.Fatalf("group = %+v super = %+v", g, s)
		}
		if p.ChatType != "channel" || p.FromID != 0 || p.FromName != "News" || p.Text != "launch day" {
			t.Fatalf("channel post = %+v", p)
		}
	})
	t.Run("synced chats", func(t *testing.T) {
		chats, err := e.st.ListChats(context.Background(), e.channel.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]models.Chat{}
		for _, c := range chats {
			got[c.ChatID] = c
		}
		if _, ok := got[group.ID]; ok {
			t.Fatal("group is still listed after the bot was removed")
		}
		s, c := got[super.ID], got[chann.ID]
		if len(got) != 2 || s.Type != "supergroup" || s.Title != "Customers" || s.MemberStatus != "member" || s.MessageCount != 1 ||
			s.LastMessageAt == nil {
			t.Fatalf("chats = %+v", got)
		}
		if c.Type != "channel" || c.Username != "acme_news" || c.MemberStatus != "administrator" || c.MessageCount != 1 {
			t.Fatalf("channel chat = %+v", c)
		}
	})
	t.Run("media", func(t *testing.T) {
		ph := e.message(alice.ID, int64(photo.Message.MessageID))
		largest := photo.Message.Photo[2]
		if md := media(t, ph); ph.Type != "photo" || ph.Text != "look" || md.FileID != largest.FileID ||
			md.FileUniqueID != largest.FileUniqueID || md.Width != 1280 || md.Height != 960 || md.FileSize != int64(largest.FileSize) {
			t.Fatalf("photo = %+v %+v", ph, md)
		}
		d := e.message(alice.ID, int64(doc.Message.MessageID))
		if md := media(t, d); d.Type != "document" || md.FileName != "invoice.pdf" || md.MimeType != "application/pdf" || md.FileSize != 2048 {
			t.Fatalf("document = %+v", md)
		}
		s := e.message(alice.ID, int64(sticker.Message.MessageID))
		if md := media(t, s); s.Type != "sticker" || md.Emoji != "👍" || md.Width != 512 || md.FileID == "" {
			t.Fatalf("sticker = %+v", md)
		}
		v := e.message(alice.ID, int64(voice.Message.MessageID))
		if md := media(t, v); v.Type != "voice" || md.Duration != 7 || md.MimeType != "audio/ogg" {
			t.Fatalf("voice = %+v", md)
		}
		l := e.message(alice.ID, int64(loc.Message.MessageID))
		if md := media(t, l); l.Type != "location" || md.Latitude != 52.52 || md.Longitude != 13.405 {
			t.Fatalf("location = %+v", md)
		}
	})
	t.Run("entities and reply", func(t *testing.T) {
		m := e.message(alice.ID, int64(formatted.Message.MessageID))
		var ents []telego.MessageEntity
		if err := json.Unmarshal([]byte(m.Entities), &ents); err != nil || len(ents) != 2 ||
			ents[0].Type != "bold" || ents[0].Offset != 7 || ents[1].URL != "https://example.com" {
			t.Fatalf("entities %q: %v", m.Entities, err)
		}
		r := e.message(group.ID, int64(reply.Message.MessageID))
		if r.ReplyToMessageID == nil || *r.ReplyToMessageID != int64(inGroup.Message.MessageID) {
			t.Fatalf("reply = %+v", r)
		}
	})
	t.Run("conversations, workbench off", func(t *testing.T) {
		var convs []models.Conversation
		e.db.Order("chat_id").Find(&convs)
		if len(convs) != 5 { // alice, bob, group, supergroup, channel
			t.Fatalf("conversations = %+v", convs)
		}
		var a models.Conversation
		e.db.Take(&a, "chat_id = ?", alice.ID)
		// private + photo + document + sticker + voice + location + formatted (the edit is not a new message)
		if a.InWorkbench || a.Unread != 7 || a.Title != "Alice" || a.ChatType != "private" || a.LastMessageText == "" {
			t.Fatalf("alice's conversation = %+v", a)
		}
	})
	t.Run("one mo event per new message and per edit", func(t *testing.T) {
		msgs := e.count("messages", "direction = 'in'")
		if mo := e.count("outbox", "kind = 'mo'"); mo != msgs+1 || msgs != 12 {
			t.Fatalf("%d messages, %d mo events (want one more, for the edit)", msgs, mo)
		}
		var edits []models.OutboxEvent
		e.db.Where("kind = 'mo' AND payload LIKE ?", `%"edited":true%`).Find(&edits)
		if len(edits) != 1 {
			t.Fatalf("%d edited mo events, want 1", len(edits))
		}
		var em callbacks.MOEvent
		if err := json.Unmarshal([]byte(edits[0].Payload), &em); err != nil {
			t.Fatal(err)
		}
		orig := e.message(alice.ID, int64(private.Message.MessageID))
		if em.Text != "hello there, edited" || em.MessageID != itoa(orig.ID) || em.UpdateID != int64(edited.UpdateID) || em.EditDate == 0 {
			t.Fatalf("edited mo = %+v", em)
		}
		var ev models.OutboxEvent
		e.db.Where("kind = 'mo'").Order("id").First(&ev)
		var mo callbacks.MOEvent
		if err := json.Unmarshal([]byte(ev.Payload), &mo); err != nil {
			t.Fatal(err)
		}
		first := e.message(alice.ID, int64(private.Message.MessageID))
		if mo.Type != "mo" || mo.ChatID != alice.ID || mo.ChannelID != e.channel.ID || mo.UpdateID != int64(private.UpdateID) ||
			mo.From == nil || mo.From.Username != "alice" || mo.MessageType != "text" || mo.Timestamp == 0 ||
			mo.MessageID != itoa(first.ID) || ev.OrderingKey != itoa(alice.ID) {
			t.Fatalf("mo = %+v key %q", mo, ev.OrderingKey)
		}
	})
	t.Run("every update recorded, state polling", func(t *testing.T) {
		if n := e.count("ingested_updates", "bot_telegram_id = ?", testBotID); n != 17 {
			t.Fatalf("ingested_updates = %d", n)
		}
		b := e.bot()
		if b.State != models.BotPolling || b.LastUpdateAt == nil || b.StateDetail != "" {
			t.Fatalf("bot = %+v", b)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
