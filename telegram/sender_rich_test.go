package telegram

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// pngBytes is a tiny but real PNG header followed by filler, so content
// sniffing sees an image.
func pngBytes(n int) []byte {
	b := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n)...)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func (e *env) queueFile(chatID int64, name string, data []byte, caption string, replyTo *int64) int64 {
	e.t.Helper()
	f, err := store.NewOutgoingFile(name, data)
	if err != nil {
		e.t.Fatal(err)
	}
	m, _, err := e.st.QueueOutgoing(context.Background(), store.OutgoingMessage{ChannelID: e.channel.ID, ChatID: chatID,
		Text: caption, File: f, ReplyToMessageID: replyTo})
	if err != nil {
		e.t.Fatal(err)
	}
	return m.ID
}

func TestSenderSendsPhotosAndDocuments(t *testing.T) {
	e := newEnv(t)
	photo := pngBytes(2048)
	doc := []byte("invoice 2026-03\nline two\n")
	big := pngBytes(store.MaxPhotoBytes + 1) // an image over 10 MB goes as a document
	pid := e.queueFile(alice.ID, "me.png", photo, "Here you go", nil)
	did := e.queueFile(alice.ID, "../../etc/invoice <1>.txt", doc, "", nil)
	bid := e.queueFile(super.ID, "huge.png", big, "", nil)
	if n := e.count("outgoing_files", "1=1"); n != 3 {
		t.Fatalf("%d files kept before sending", n)
	}
	s := e.runSender()
	s.Wake()
	for _, c := range []struct {
		id   int64
		kind string
		data []byte
		name string
	}{{pid, "photo", photo, ""}, {did, "document", doc, "invoice <1>.txt"}, {bid, "document", big, "huge.png"}} {
		m := e.waitFinal(c.id)
		if m.Status != "sent" || m.Type != c.kind {
			t.Fatalf("%s: %+v", c.kind, m)
		}
		media, err := models.ParseMedia(m.Media)
		if err != nil || media.FileID == "" {
			t.Fatalf("%s: media %q: %v", c.kind, m.Media, err)
		}
		got, ok := e.fake.Uploads(media.FileID)
		if !ok || !bytes.Equal(got, c.data) {
			t.Fatalf("%s: Telegram got %d bytes, want %d", c.kind, len(got), len(c.data))
		}
		if c.name != "" && media.FileName != c.name {
			t.Errorf("%s: file name %q, want %q", c.kind, media.FileName, c.name)
		}
		if ev := e.statusEvent(c.id); ev.Status != "sent" {
			t.Errorf("%s: status event %+v", c.kind, ev)
		}
	}
	var gotCaption string
	for _, tm := range e.fake.Sent(testBotID) {
		if len(tm.Photo) > 0 {
			gotCaption = tm.Caption
		}
	}
	if gotCaption != "Here you go" {
		t.Errorf("photo caption %q", gotCaption)
	}
	if n := e.count("outgoing_files", "1=1"); n != 0 {
		t.Errorf("%d files kept after sending", n)
	}
	if e.fake.BotCalls(testBotID, "sendPhoto") != 1 || e.fake.BotCalls(testBotID, "sendDocument") != 2 {
		t.Errorf("calls: %d sendPhoto, %d sendDocument", e.fake.BotCalls(testBotID, "sendPhoto"), e.fake.BotCalls(testBotID, "sendDocument"))
	}
}

// A file accepted while no sender runs (or just before a crash) is kept in
// the database and sent by the next process.
func TestSenderFileSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(4096)
	id := e.queueFile(alice.ID, "receipt.png", data, "after the crash", nil)
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: e.dir, DatabaseURL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.st = st
	s := e.runSender()
	s.Wake()
	m := e.waitFinal(id)
	if m.Status != "sent" || m.Text != "after the crash" {
		t.Fatalf("after restart: %+v", m)
	}
	sent := e.fake.Sent(testBotID)
	if len(sent) != 1 || len(sent[0].Photo) != 1 {
		t.Fatalf("Telegram got %+v", sent)
	}
	if got, _ := e.fake.Uploads(sent[0].Photo[0].FileID); !bytes.Equal(got, data) {
		t.Fatal("the photo's bytes changed across the restart")
	}
}

func TestSenderQuotesAndKeepsTopic(t *testing.T) {
	e := newEnv(t)
	in := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "Where is my order?"))
	// The ingest would have stored it; a stored row is what a quote needs.
	e.ingestOne(in.Message.MessageID, alice.ID, "Where is my order?", 0)
	q := int64(in.Message.MessageID)
	m, _, err := e.st.QueueOutgoing(context.Background(), store.OutgoingMessage{ChannelID: e.channel.ID, ChatID: alice.ID,
		Text: "On its way", ReplyToMessageID: &q})
	if err != nil {
		t.Fatal(err)
	}
	topic := telegramtest.Supergroup(-1001000000077, "Forum")
	tin := e.fake.Inject(testBotID, telegramtest.GroupText(topic, alice, "in a topic"))
	e.ingestOne(tin.Message.MessageID, topic.ID, "in a topic", 42)
	tq := int64(tin.Message.MessageID)
	tm, _, err := e.st.QueueOutgoing(context.Background(), store.OutgoingMessage{ChannelID: e.channel.ID, ChatID: topic.ID,
		Text: "answer in the topic", ReplyToMessageID: &tq})
	if err != nil {
		t.Fatal(err)
	}
	if tm.MessageThreadID == nil || *tm.MessageThreadID != 42 {
		t.Fatalf("reply did not take the quoted message's topic: %v", tm.MessageThreadID)
	}
	s := e.runSender()
	s.Wake()
	e.waitFinal(m.ID)
	e.waitFinal(tm.ID)
	for _, sm := range e.fake.Sent(testBotID) {
		switch sm.Text {
		case "On its way":
			if sm.ReplyToMessage == nil || sm.ReplyToMessage.MessageID != in.Message.MessageID {
				t.Errorf("quote not sent: %+v", sm.ReplyToMessage)
			}
		case "answer in the topic":
			if sm.MessageThreadID != 42 || sm.ReplyToMessage == nil {
				t.Errorf("topic reply: thread %d, reply %+v", sm.MessageThreadID, sm.ReplyToMessage)
			}
		}
	}

	unknown := int64(999999)
	_, _, err = e.st.QueueOutgoing(context.Background(), store.OutgoingMessage{ChannelID: e.channel.ID, ChatID: alice.ID,
		Text: "x", ReplyToMessageID: &unknown})
	if v, ok := models.AsValidation(err); !ok || v.Field != "reply_to_message_id" {
		t.Fatalf("quoting an unknown message: %v", err)
	}
}

// ingestOne stores an incoming message as the poller would (through the
// store's ingest), with a forum topic when thread is not 0.
func (e *env) ingestOne(tgID int, chatID int64, text string, thread int64) {
	e.t.Helper()
	chatType := "private"
	if chatID < 0 {
		chatType = "supergroup"
	}
	im := &store.IngestMessage{TelegramMessageID: int64(tgID), ChatID: chatID, ChatType: chatType, Text: text, Type: "text",
		FromID: alice.ID, Date: time.Now()}
	if thread != 0 {
		im.MessageThreadID = &thread
	}
	uid := time.Now().UnixNano()
	_, err := e.st.IngestBatch(context.Background(), store.IngestBatch{BotTelegramID: testBotID, NextOffset: uid + 1,
		Updates: []store.IngestUpdate{{UpdateID: uid, Kind: "message", Message: im}}})
	if err != nil {
		e.t.Fatal(err)
	}
}
