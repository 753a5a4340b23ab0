package telegram_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

const botID = 7012345678

type fixture struct {
	srv    *telegramtest.Server
	base   string
	token  string
	client *telegram.Client
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv := telegramtest.New()
	base := srv.Start()
	t.Cleanup(srv.Close)
	tok := srv.AddBot(telegramtest.BotSpec{
		ID: botID, Username: "acme_support_bot", FirstName: "Acme Support",
		CanJoinGroups: true, SupportsInlineQueries: true,
	})
	return &fixture{srv: srv, base: base, token: tok, client: newClient(t, base, tok)}
}

func newClient(t *testing.T, base, token string) *telegram.Client {
	t.Helper()
	tok, err := telegram.ParseToken(token)
	if err != nil {
		t.Fatalf("ParseToken(fake token): %v", err)
	}
	c, err := telegram.NewClient(base, tok, nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// assertNoToken fails if err's message carries any part of the secret.
func assertNoToken(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	_, secret, _ := strings.Cut(token, ":")
	if msg := err.Error(); strings.Contains(msg, token) || strings.Contains(msg, secret[:10]) {
		t.Fatalf("error leaks the token: %s", msg)
	}
}

func TestGetMe(t *testing.T) {
	f := setup(t)
	info, err := f.client.GetMe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := telegram.BotInfo{
		ID: botID, Username: "acme_support_bot", FirstName: "Acme Support",
		CanJoinGroups: true, SupportsInlineQueries: true,
	}
	if info != want {
		t.Fatalf("GetMe = %+v, want %+v", info, want)
	}
	if f.client.BotID() != botID {
		t.Fatalf("BotID = %d", f.client.BotID())
	}
}

func TestRevokedTokenIsUnauthorizedAndRedacted(t *testing.T) {
	f := setup(t)
	newTok := f.srv.IssueToken(botID)
	f.srv.RevokeToken(f.token)

	_, err := f.client.GetMe(context.Background())
	if !errors.Is(err, telegram.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	assertNoToken(t, err, f.token)

	// The other token of the same bot keeps working (Update Token relies on it).
	if _, err := newClient(t, f.base, newTok).GetMe(context.Background()); err != nil {
		t.Fatalf("new token: %v", err)
	}
}

func TestNetworkErrorIsUnavailableAndRedacted(t *testing.T) {
	// A port nobody listens on: net/http's error quotes the full URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	token := "987654321:AAFakeTokenForNetworkErrorTest_1234"
	c := newClient(t, "http://"+addr, token)

	_, err = c.GetMe(context.Background())
	if !errors.Is(err, telegram.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	assertNoToken(t, err, token)
	if !strings.Contains(err.Error(), "connection refused") {
		t.Logf("note: detail = %v", err)
	}
}

func TestFaultsMapToErrorTypes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		fault telegramtest.Fault
		check func(t *testing.T, err error)
	}{
		{"401", telegramtest.Fault{Status: 401}, func(t *testing.T, err error) {
			if !errors.Is(err, telegram.ErrUnauthorized) {
				t.Fatalf("got %v", err)
			}
		}},
		{"404", telegramtest.Fault{Status: 404}, func(t *testing.T, err error) {
			if !errors.Is(err, telegram.ErrUnauthorized) {
				t.Fatalf("got %v", err)
			}
		}},
		{"409 polling", telegramtest.Fault{Status: 409}, func(t *testing.T, err error) {
			var ce *telegram.ConflictError
			if !errors.As(err, &ce) || ce.Webhook {
				t.Fatalf("got %v, want polling ConflictError", err)
			}
		}},
		{"409 webhook", telegramtest.Fault{Status: 409, Description: telegramtest.DescConflictWebhook}, func(t *testing.T, err error) {
			var ce *telegram.ConflictError
			if !errors.As(err, &ce) || !ce.Webhook {
				t.Fatalf("got %v, want webhook ConflictError", err)
			}
		}},
		{"429", telegramtest.Fault{Status: 429, RetryAfter: 7}, func(t *testing.T, err error) {
			var ra *telegram.RetryAfterError
			if !errors.As(err, &ra) || ra.After != 7*time.Second {
				t.Fatalf("got %v, want retry after 7s", err)
			}
		}},
		{"500", telegramtest.Fault{Status: 500}, func(t *testing.T, err error) {
			if !errors.Is(err, telegram.ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
		}},
		{"502", telegramtest.Fault{Status: 502}, func(t *testing.T, err error) {
			if !errors.Is(err, telegram.ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
		}},
		{"400", telegramtest.Fault{Status: 400, Description: "Bad Request: chat not found"}, func(t *testing.T, err error) {
			var ae *telegram.APIError
			if !errors.As(err, &ae) || ae.Code != 400 || ae.Description != "Bad Request: chat not found" {
				t.Fatalf("got %v", err)
			}
		}},
		{"dropped connection", telegramtest.Fault{DropConnection: true}, func(t *testing.T, err error) {
			if !errors.Is(err, telegram.ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"getMe", "getUpdates", "sendMessage"} {
				f.srv.FailNext(botID, method, tt.fault)
				var err error
				switch method {
				case "getMe":
					_, err = f.client.GetMe(ctx)
				case "getUpdates":
					_, err = f.client.GetUpdates(ctx, 0, 10, 0)
				case "sendMessage":
					_, err = f.client.SendMessage(ctx, 42, "hi")
				}
				tt.check(t, err)
				assertNoToken(t, err, f.token)
				var op *telegram.OpError
				if !errors.As(err, &op) || !strings.EqualFold(op.Method, method) {
					t.Fatalf("%s: err %v is not an OpError for the method", method, err)
				}
			}
			// The fault is used up: the next call works.
			if _, err := f.client.GetMe(ctx); err != nil {
				t.Fatalf("after fault: %v", err)
			}
		})
	}
}

func TestFaultByTokenOnlyHitsThatToken(t *testing.T) {
	f := setup(t)
	other := f.srv.IssueToken(botID)
	f.srv.FailNextToken(f.token, "", telegramtest.Fault{Status: 500, Times: 2})
	if _, err := newClient(t, f.base, other).GetMe(context.Background()); err != nil {
		t.Fatalf("other token hit by fault: %v", err)
	}
	for range 2 {
		if _, err := f.client.GetMe(context.Background()); !errors.Is(err, telegram.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if _, err := f.client.GetMe(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestGetUpdatesOffsetSemantics(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	alice := telegramtest.User(5512345678, "Alice", "alice")
	var ids []int
	for _, text := range []string{"one", "two", "three"} {
		ids = append(ids, f.srv.Inject(botID, telegramtest.PrivateText(alice, text)).UpdateID)
	}
	if ids[0] < 2 || ids[1] != ids[0]+1 || ids[2] != ids[1]+1 {
		t.Fatalf("update ids must increase by one: %v", ids)
	}

	got, err := f.client.GetUpdates(ctx, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Message.Text != "one" || got[0].Message.From.ID != alice.ID {
		t.Fatalf("first batch = %+v", got)
	}
	// Without a higher offset nothing is confirmed: a crashed poller sees the
	// same updates again.
	again, err := f.client.GetUpdates(ctx, 0, 0, 0)
	if err != nil || len(again) != 3 || again[0].UpdateID != ids[0] {
		t.Fatalf("redelivery = %d updates, err %v", len(again), err)
	}
	// Offset confirms everything below it.
	rest, err := f.client.GetUpdates(ctx, int64(ids[1]), 0, 0)
	if err != nil || len(rest) != 2 || rest[0].UpdateID != ids[1] {
		t.Fatalf("offset batch = %+v, err %v", rest, err)
	}
	if n := f.srv.Pending(botID); n != 2 {
		t.Fatalf("pending = %d, want 2", n)
	}
	// Limit.
	one, err := f.client.GetUpdates(ctx, int64(ids[1]), 1, 0)
	if err != nil || len(one) != 1 || one[0].UpdateID != ids[1] {
		t.Fatalf("limit 1 = %+v, err %v", one, err)
	}
	none, err := f.client.GetUpdates(ctx, int64(ids[2])+1, 0, 0)
	if err != nil || len(none) != 0 {
		t.Fatalf("after confirming all = %+v, err %v", none, err)
	}
	if n := f.srv.Pending(botID); n != 0 {
		t.Fatalf("pending = %d, want 0", n)
	}
}

func TestGetUpdatesLongPoll(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	t.Run("wakes on injection", func(t *testing.T) {
		go func() {
			time.Sleep(150 * time.Millisecond)
			f.srv.Inject(botID, telegramtest.PrivateText(telegramtest.User(5512345678, "Alice", ""), "hello"))
		}()
		start := time.Now()
		got, err := f.client.GetUpdates(ctx, 0, 0, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Message.Text != "hello" {
			t.Fatalf("got %+v", got)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
			t.Fatalf("returned after %v; want right after the injection", d)
		}
		if _, err := f.client.GetUpdates(ctx, int64(got[0].UpdateID)+1, 0, 0); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("times out empty", func(t *testing.T) {
		start := time.Now()
		got, err := f.client.GetUpdates(ctx, 0, 0, time.Second)
		if err != nil || len(got) != 0 {
			t.Fatalf("got %v, %v", got, err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("returned after %v, before the 1s timeout", d)
		}
	})

	t.Run("returns on cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := f.client.GetUpdates(cctx, 0, 0, 30*time.Second)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("cancel did not end the long poll")
		}
	})
}

func TestConcurrentGetUpdatesConflict(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	older := make(chan error, 1)
	go func() {
		_, err := f.client.GetUpdates(ctx, 0, 0, 20*time.Second)
		older <- err
	}()
	// Wait until the first poll is parked on the server.
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.BotCalls(botID, "getUpdates") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)

	second := newClient(t, f.base, f.srv.IssueToken(botID)) // another program, another token
	if _, err := second.GetUpdates(ctx, 0, 0, time.Second); err != nil {
		t.Fatalf("newer poll: %v", err)
	}
	select {
	case err := <-older:
		var ce *telegram.ConflictError
		if !errors.As(err, &ce) || ce.Webhook {
			t.Fatalf("older poll err = %v, want polling ConflictError", err)
		}
		if ce.Description != telegramtest.DescConflictPolling {
			t.Fatalf("description = %q", ce.Description)
		}
		assertNoToken(t, err, f.token)
	case <-time.After(5 * time.Second):
		t.Fatal("older poll was not terminated")
	}
}

func TestWebhookBlocksPolling(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.srv.SetWebhook(botID, "https://example.com/hook")

	info, err := f.client.GetWebhookInfo(ctx)
	if err != nil || info.URL != "https://example.com/hook" {
		t.Fatalf("info = %+v, err %v", info, err)
	}
	_, err = f.client.GetUpdates(ctx, 0, 0, 0)
	var ce *telegram.ConflictError
	if !errors.As(err, &ce) || !ce.Webhook {
		t.Fatalf("err = %v, want webhook ConflictError", err)
	}

	// A webhook set while a poll is waiting terminates it the same way.
	f.srv.Inject(botID, telegramtest.PrivateText(telegramtest.User(1, "A", ""), "kept"))
	if err := f.client.DeleteWebhook(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Pending(botID); n != 1 {
		t.Fatalf("deleteWebhook dropped pending updates: %d left", n)
	}
	ups, err := f.client.GetUpdates(ctx, 0, 0, 0)
	if err != nil || len(ups) != 1 {
		t.Fatalf("after deleteWebhook: %v, %v", ups, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.client.GetUpdates(ctx, int64(ups[0].UpdateID)+1, 0, 20*time.Second)
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	f.srv.SetWebhook(botID, "https://example.com/other")
	select {
	case err := <-done:
		if !errors.As(err, &ce) || !ce.Webhook {
			t.Fatalf("err = %v, want webhook ConflictError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("setWebhook did not end the poll")
	}
}

func TestSendMessage(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	group := telegramtest.Supergroup(-1001234567890, "Acme customers")
	f.srv.Inject(botID, telegramtest.GroupText(group, telegramtest.User(5512345678, "Alice", ""), "hi all"))

	m1, err := f.client.SendMessage(ctx, group.ID, "Hello from support")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := f.client.SendMessage(ctx, group.ID, "Second")
	if err != nil {
		t.Fatal(err)
	}
	if m1.MessageID == 0 || m2.MessageID != m1.MessageID+1 || m1.MessageID < 2 {
		t.Fatalf("message ids %d, %d: want fresh increasing ids after the incoming one", m1.MessageID, m2.MessageID)
	}
	if m1.Chat.Title != "Acme customers" || m1.From == nil || m1.From.ID != botID {
		t.Fatalf("message = %+v", m1)
	}
	sent := f.srv.Sent(botID)
	if len(sent) != 2 || sent[0].Text != "Hello from support" || sent[0].Chat.ID != group.ID {
		t.Fatalf("Sent = %+v", sent)
	}

	_, err = f.client.SendMessage(ctx, group.ID, "  ")
	var ae *telegram.APIError
	if !errors.As(err, &ae) || ae.Code != 400 {
		t.Fatalf("empty text err = %v, want 400 APIError", err)
	}
	if f.srv.Calls("sendMessage") != 3 {
		t.Fatalf("Calls(sendMessage) = %d", f.srv.Calls("sendMessage"))
	}
}

func TestGetFileAndOpenFile(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	alice := telegramtest.User(5512345678, "Alice", "")
	u := f.srv.Inject(botID, telegramtest.Document(telegramtest.PrivateChat(alice), alice, "invoice.pdf", "application/pdf", 10))
	content := []byte("%PDF-1.7 fake invoice")
	f.srv.SetFileContent(u.Message.Document.FileID, content)

	file, err := f.client.GetFile(ctx, u.Message.Document.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(file.FilePath, ".pdf") || file.FileSize != int64(len(content)) {
		t.Fatalf("file = %+v", file)
	}
	body, err := f.client.OpenFile(ctx, file.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	_ = body.Close()
	if err != nil || string(got) != string(content) || body.Size != int64(len(content)) {
		t.Fatalf("download = %q (size %d), err %v", got, body.Size, err)
	}

	_, err = f.client.GetFile(ctx, "nope")
	var ae *telegram.APIError
	if !errors.As(err, &ae) || ae.Code != 400 {
		t.Fatalf("unknown file err = %v", err)
	}
	_, err = f.client.OpenFile(ctx, "documents/missing.pdf")
	assertNoToken(t, err, f.token)
	if _, err := f.client.OpenFile(ctx, "../../etc/passwd"); err == nil {
		t.Fatal("path traversal accepted")
	}
	f.srv.RevokeToken(f.token)
	_, err = f.client.OpenFile(ctx, file.FilePath)
	if !errors.Is(err, telegram.ErrUnauthorized) {
		t.Fatalf("revoked download err = %v", err)
	}
	assertNoToken(t, err, f.token)
}

func TestSlowModeHonoursContext(t *testing.T) {
	f := setup(t)
	f.srv.SetLatency(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.client.GetMe(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	assertNoToken(t, err, f.token)
	f.srv.SetLatency(0)

	f.srv.FailNext(botID, "getMe", telegramtest.Fault{Delay: 200 * time.Millisecond})
	start := time.Now()
	if _, err := f.client.GetMe(context.Background()); err != nil || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("delayed call: err %v after %v", err, time.Since(start))
	}
}

// TestRealisticUpdatesParse checks that every builder produces JSON telego
// decodes into the fields the poller will read.
func TestRealisticUpdatesParse(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	alice := telegramtest.User(5512345678, "Alice", "alice")
	group := telegramtest.Group(-4012345678, "Team")
	channel := telegramtest.Channel(-1009876543210, "Acme News", "acmenews")
	bot := f.srv.BotUser(botID)

	first := f.srv.Inject(botID, telegramtest.PrivateText(alice, "question"))
	f.srv.Inject(botID, telegramtest.Edited(*first.Message, "question, edited"))
	f.srv.Inject(botID, telegramtest.ReplyTo(*first.Message, alice, "and another"))
	f.srv.Inject(botID, telegramtest.BotAdded(bot, group, alice))
	f.srv.Inject(botID, telegramtest.BotAdded(bot, channel, alice))
	f.srv.Inject(botID, telegramtest.ChannelPost(channel, "news"))
	f.srv.Inject(botID, telegramtest.Photo(group, alice, "look"))
	f.srv.Inject(botID, telegramtest.Sticker(group, alice, "👍"))
	f.srv.Inject(botID, telegramtest.Voice(group, alice, 3*time.Second))
	f.srv.Inject(botID, telegramtest.Location(group, alice, 52.52, 13.405))
	f.srv.Inject(botID, telegramtest.Formatted(telegramtest.PrivateChat(alice), alice,
		telegramtest.Plain("👋 "), telegramtest.Bold("bold"), telegramtest.Plain(" "),
		telegramtest.Code("x := 1"), telegramtest.Plain(" "), telegramtest.TextLink("docs", "https://example.com/docs")))
	f.srv.Inject(botID, telegramtest.BotRemoved(bot, group, alice))

	ups, err := f.client.GetUpdates(ctx, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 12 {
		t.Fatalf("got %d updates", len(ups))
	}
	if e := ups[1].EditedMessage; e == nil || e.MessageID != first.Message.MessageID || e.EditDate == 0 {
		t.Fatalf("edited = %+v", ups[1])
	}
	if r := ups[2].Message; r == nil || r.ReplyToMessage == nil || r.ReplyToMessage.MessageID != first.Message.MessageID {
		t.Fatalf("reply = %+v", ups[2])
	}
	if m := ups[3].MyChatMember; m == nil || m.NewChatMember.MemberStatus() != telego.MemberStatusMember ||
		m.OldChatMember.MemberStatus() != telego.MemberStatusLeft || m.Chat.Type != telego.ChatTypeGroup {
		t.Fatalf("bot added = %+v", ups[3])
	}
	if m := ups[4].MyChatMember; m == nil || m.NewChatMember.MemberStatus() != telego.MemberStatusAdministrator {
		t.Fatalf("bot added to channel = %+v", ups[4])
	}
	if p := ups[5].ChannelPost; p == nil || p.From != nil || p.SenderChat == nil || p.Chat.Username != "acmenews" {
		t.Fatalf("channel post = %+v", ups[5])
	}
	if p := ups[6].Message; p == nil || len(p.Photo) != 3 || p.Caption != "look" {
		t.Fatalf("photo = %+v", ups[6])
	}
	if s := ups[7].Message; s == nil || s.Sticker == nil || s.Sticker.Emoji != "👍" {
		t.Fatalf("sticker = %+v", ups[7])
	}
	if v := ups[8].Message; v == nil || v.Voice == nil || v.Voice.Duration != 3 {
		t.Fatalf("voice = %+v", ups[8])
	}
	if l := ups[9].Message; l == nil || l.Location == nil || l.Location.Latitude != 52.52 {
		t.Fatalf("location = %+v", ups[9])
	}
	fm := ups[10].Message
	if fm == nil || len(fm.Entities) != 3 {
		t.Fatalf("formatted = %+v", ups[10])
	}
	// "👋 " is three UTF-16 units: the emoji is a surrogate pair.
	if e := fm.Entities[0]; e.Type != "bold" || e.Offset != 3 || e.Length != 4 {
		t.Fatalf("bold entity = %+v", e)
	}
	if e := fm.Entities[2]; e.Type != "text_link" || e.URL != "https://example.com/docs" {
		t.Fatalf("link entity = %+v", e)
	}
	if m := ups[11].MyChatMember; m == nil || m.NewChatMember.MemberStatus() != telego.MemberStatusLeft {
		t.Fatalf("bot removed = %+v", ups[11])
	}
	// The photo is downloadable.
	photo := ups[6].Message.Photo[2]
	file, err := f.client.GetFile(ctx, photo.FileID)
	if err != nil {
		t.Fatal(err)
	}
	body, err := f.client.OpenFile(ctx, file.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, body)
	_ = body.Close()
	if n != int64(photo.FileSize) {
		t.Fatalf("downloaded %d bytes, want %d", n, photo.FileSize)
	}
}

func TestNewClientRejectsBadInput(t *testing.T) {
	tok, _ := telegram.ParseToken("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDwxyz")
	if _, err := telegram.NewClient("ftp://x", tok, nil); err == nil {
		t.Fatal("ftp base URL accepted")
	}
	if _, err := telegram.NewClient("", telegram.Token{}, nil); err == nil {
		t.Fatal("zero token accepted")
	}
	if _, err := telegram.NewClient("", tok, &http.Client{}); err != nil {
		t.Fatalf("default base URL: %v", err)
	}
}
