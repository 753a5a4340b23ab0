package handlers

import (
	"github.com/botdesk/botdesk/callbacks"

	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// A file received by the bot is relayed through botdesk: the right bytes,
// forced download for non-images, and never the token-bearing URL.
func TestMediaDownloadRelaysThroughServer(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "media")
	tok := env.addBot(7100000001, "media_bot")
	if r := env.connectAPI(t, ch, tok); r.Status != http.StatusCreated {
		t.Fatalf("connect: %d %s", r.Status, r.Body)
	}
	upd := env.tg.Inject(7100000001, telegramtest.Document(telegramtest.PrivateChat(telegramtest.User(42, "Eve", "eve")),
		telegramtest.User(42, "Eve", "eve"), "report\".html", "text/html", 5))
	content := []byte("<script>alert(1)</script>")
	env.tg.SetFileContent(upd.Message.Document.FileID, content)

	// Ingest the update with the real poller.
	ctx := context.Background()
	sup := telegram.NewSupervisor(telegram.SupervisorConfig{Events: callbacks.Payloads{}, Store: env.Store, Sealer: env.Sealer, APIBase: env.tgURL, PollTimeout: 100 * time.Millisecond})
	if err := sup.Start(ctx, 7100000001); err != nil {
		t.Fatal(err)
	}
	var msgID int64
	for deadline := time.Now().Add(20 * time.Second); msgID == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poller did not store the document")
		}
		if rows, err := env.Store.ChannelMessagesAfter(ctx, ch.ID, 0, 10); err == nil && len(rows) > 0 {
			msgID = rows[0].ID
		}
	}
	sup.Stop(7100000001)

	// The channel's workbench is off, so the chat is not in it: agents
	// cannot fetch its files, operators can.
	agent := env.userClient(t, models.RoleAgent)
	if r := agent.get("/workbench/media/" + itoa(msgID)); r.Status != http.StatusNotFound {
		t.Fatalf("agent, chat not in workbench: %d, want 404", r.Status)
	}
	if r := env.userClient(t, models.RoleOperator).get("/workbench/media/" + itoa(msgID)); r.Status != http.StatusOK {
		t.Fatalf("operator: %d %s", r.Status, r.Body)
	}
	env.exec(t, "UPDATE conversations SET in_workbench = TRUE WHERE channel_id = ?", ch.ID)
	r := agent.get("/workbench/media/" + itoa(msgID))
	if r.Status != http.StatusOK {
		t.Fatalf("download: %d %s", r.Status, r.Body)
	}
	if r.Body != string(content) {
		t.Errorf("body = %q, want %q", r.Body, content)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q: HTML from a customer must not be served as a page", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || strings.Contains(cd, `report".html`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("CSP = %q, want sandbox", r.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(r.Body, tok) || strings.Contains(r.Header.Get("Location"), tok) {
		t.Error("token leaked in the download response")
	}

	// After the bot is deleted Telegram will not serve the file: 410, not 500.
	if _, err := env.Store.DeleteBot(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if r := agent.get("/workbench/media/" + itoa(msgID)); r.Status != http.StatusGone {
		t.Errorf("after delete: %d, want 410", r.Status)
	}
	if r := agent.get("/workbench/media/999999"); r.Status != http.StatusNotFound {
		t.Errorf("unknown message: %d, want 404", r.Status)
	}
}
