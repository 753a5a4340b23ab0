package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// wantAPIError checks err is Telegram's refusal with that description.
func wantAPIError(t *testing.T, what string, err error, code int, desc string) {
	t.Helper()
	var api *telegram.APIError
	if !errors.As(err, &api) || api.Code != code || api.Description != desc {
		t.Fatalf("%s: got %v, want %d %q", what, err, code, desc)
	}
}

// Each rich method against the fake over HTTP: what it does when Telegram
// accepts, and the refusals botdesk must turn into plain language.
func TestClientRichMethods(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	user := telegramtest.User(5512345678, "Alice", "alice")
	in := f.srv.Inject(botID, telegramtest.PrivateText(user, "hello"))
	inID := int64(in.Message.MessageID)

	t.Run("sendPhoto and sendDocument", func(t *testing.T) {
		img := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
		m, err := f.client.SendPhoto(ctx, user.ID, "a.png", img, "cap", telegram.SendOptions{ReplyTo: inID})
		if err != nil || len(m.Photo) == 0 || m.Caption != "cap" || m.ReplyToMessage == nil || m.ReplyToMessage.MessageID != int(inID) {
			t.Fatalf("sendPhoto: %+v, %v", m, err)
		}
		if got, _ := f.srv.Uploads(m.Photo[0].FileID); !bytes.Equal(got, img) {
			t.Fatal("sendPhoto: bytes differ")
		}
		d, err := f.client.SendDocument(ctx, user.ID, "notes.txt", []byte("text"), "", telegram.SendOptions{ThreadID: 9})
		if err != nil || d.Document == nil || d.Document.FileName != "notes.txt" || d.MessageThreadID != 9 {
			t.Fatalf("sendDocument: %+v, %v", d, err)
		}
		_, err = f.client.SendPhoto(ctx, user.ID, "big.png", make([]byte, telegramtest.MaxPhotoBytes+1), "", telegram.SendOptions{})
		wantAPIError(t, "photo over 10 MB", err, 400, telegramtest.DescPhotoTooBig)
		_, err = f.client.SendDocument(ctx, user.ID, "big.bin", make([]byte, telegramtest.MaxDocumentBytes+1), "", telegram.SendOptions{})
		wantAPIError(t, "file over 50 MB", err, 413, telegramtest.DescTooBig)
		_, err = f.client.SendDocument(ctx, user.ID, "c.txt", []byte("x"), strings.Repeat("c", 1025), telegram.SendOptions{})
		wantAPIError(t, "caption too long", err, 400, telegramtest.DescCaptionTooLong)
		_, err = f.client.SendText(ctx, user.ID, "quoting nothing", telegram.SendOptions{ReplyTo: 4242})
		wantAPIError(t, "reply to an unknown message", err, 400, telegramtest.DescReplyNotFound)
	})

	t.Run("editMessageText", func(t *testing.T) {
		sent, err := f.client.SendText(ctx, user.ID, "first", telegram.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := int64(sent.MessageID)
		m, err := f.client.EditMessageText(ctx, telegram.Target{ChatID: user.ID, MessageID: id}, "second")
		if err != nil || m.Text != "second" || m.EditDate == 0 {
			t.Fatalf("edit: %+v, %v", m, err)
		}
		if got, _ := f.srv.Message(botID, user.ID, int(id)); got.Text != "second" {
			t.Fatalf("fake holds %q", got.Text)
		}
		_, err = f.client.EditMessageText(ctx, telegram.Target{ChatID: user.ID, MessageID: id}, "second")
		wantAPIError(t, "same text", err, 400, telegramtest.DescNotModified)
		_, err = f.client.EditMessageText(ctx, telegram.Target{ChatID: user.ID, MessageID: inID}, "not mine")
		wantAPIError(t, "someone else's message", err, 400, telegramtest.DescCantEdit)
		_, err = f.client.EditMessageText(ctx, telegram.Target{ChatID: user.ID, MessageID: 99999}, "x")
		wantAPIError(t, "unknown message", err, 400, telegramtest.DescEditNotFound)
		doc, _ := f.client.SendDocument(ctx, user.ID, "d.txt", []byte("x"), "", telegram.SendOptions{})
		_, err = f.client.EditMessageText(ctx, telegram.Target{ChatID: user.ID, MessageID: int64(doc.MessageID)}, "x")
		wantAPIError(t, "a file without text", err, 400, telegramtest.DescNoText)
	})

	t.Run("deleteMessage", func(t *testing.T) {
		sent, _ := f.client.SendText(ctx, user.ID, "oops", telegram.SendOptions{})
		id := int64(sent.MessageID)
		if err := f.client.DeleteMessage(ctx, telegram.Target{ChatID: user.ID, MessageID: id}); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.srv.Message(botID, user.ID, int(id)); ok {
			t.Fatal("the fake still has the deleted message")
		}
		wantAPIError(t, "deleted twice", f.client.DeleteMessage(ctx, telegram.Target{ChatID: user.ID, MessageID: id}), 400, telegramtest.DescDeleteNotFound)
		old, _ := f.client.SendText(ctx, user.ID, "old", telegram.SendOptions{})
		f.srv.SetMessageDate(botID, user.ID, old.MessageID, time.Now().Add(-telegramtest.DeleteWindow-time.Minute))
		wantAPIError(t, "older than 48 h", f.client.DeleteMessage(ctx, telegram.Target{ChatID: user.ID, MessageID: int64(old.MessageID)}), 400, telegramtest.DescCantDelete)
	})

	t.Run("setMessageReaction", func(t *testing.T) {
		if err := f.client.SetMessageReaction(ctx, telegram.Target{ChatID: user.ID, MessageID: inID}, "👍"); err != nil {
			t.Fatal(err)
		}
		if got := f.srv.Reactions(botID, user.ID, int(inID)); len(got) != 1 || got[0] != "👍" {
			t.Fatalf("reactions %v", got)
		}
		if err := f.client.SetMessageReaction(ctx, telegram.Target{ChatID: user.ID, MessageID: inID}, ""); err != nil {
			t.Fatal(err)
		}
		if got := f.srv.Reactions(botID, user.ID, int(inID)); len(got) != 0 {
			t.Fatalf("reactions after removing: %v", got)
		}
		wantAPIError(t, "not a reaction emoji", f.client.SetMessageReaction(ctx, telegram.Target{ChatID: user.ID, MessageID: inID}, "🦖"), 400, telegramtest.DescReactionInvalid)
		wantAPIError(t, "unknown message", f.client.SetMessageReaction(ctx, telegram.Target{ChatID: user.ID, MessageID: 99999}, "👍"), 400, telegramtest.DescReactionNotFound)
	})

	t.Run("sendChatAction", func(t *testing.T) {
		if err := f.client.SendTyping(ctx, user.ID, telegram.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := f.srv.ChatActions(botID, user.ID); len(got) != 1 || got[0] != "typing" {
			t.Fatalf("actions %v", got)
		}
	})
}
