package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// countRows counts a table's rows through the fixture's own connection.
func (f *wbFixture) countRows(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := f.db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPrivateNotes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4242)
	conv := f.conv(t, 55, "Maria")
	f.msg(t, conv, "hello")
	hidden := f.conv(t, 56, "Not in workbench", func(c *models.Conversation) { c.InWorkbench = false })
	agent := env.userClient(t, models.RoleAgent)
	base := fmt.Sprintf("/workbench/c/%d", conv.ID)
	msgs, outbox := f.countRows(t, "messages"), f.countRows(t, "outbox")

	stream := openSSE(t, agent, fmt.Sprintf("/workbench/events?cid=%d&after=0&note=0", conv.ID), "")
	stream.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })

	const hostile = `<script>alert("x")</script> call back at 5`
	r := agent.htmx(http.MethodPost, base+"/notes", url.Values{"text": {hostile}}).wantStatus(t, http.StatusOK)
	if v, _ := r.doc(t).Find("#wb-note-text").Html(); strings.TrimSpace(v) != "" {
		t.Errorf("note box not emptied after adding: %q", v)
	}
	ev, _ := stream.until(t, "note", func(ev sseEvent) bool { return ev.Name == "note" })
	if strings.Contains(ev.Data, "<script>") || !strings.Contains(ev.Data, "&lt;script&gt;") {
		t.Errorf("live note not escaped: %s", ev.Data)
	}
	if !strings.Contains(ev.Data, "agent@example.test") {
		t.Errorf("live note without its author: %s", ev.Data)
	}

	t.Run("listed with the conversation, styled as a note", func(t *testing.T) {
		doc := agent.get(base).wantStatus(t, http.StatusOK).doc(t)
		notes := doc.Find(`[data-testid="wb-notes"] [data-testid="note"]`)
		if notes.Length() != 1 || !strings.Contains(notes.Find(`[data-testid="note-text"]`).Text(), `<script>alert("x")</script>`) {
			t.Fatalf("notes on the page: %d %q", notes.Length(), notes.Text())
		}
		if doc.Find(`[data-testid="wb-messages"] [data-testid="note"]`).Length() != 0 {
			t.Error("a note is shown as a message")
		}
		stream, _ := doc.Find(`[data-testid="wb"]`).Attr("sse-connect")
		if id, _ := notes.Attr("data-note-id"); !strings.Contains(stream, "note="+id) {
			t.Errorf("stream URL %q does not resume after note %s", stream, id)
		}
	})

	t.Run("never a message, outbox event or send", func(t *testing.T) {
		if got := f.countRows(t, "messages"); got != msgs {
			t.Errorf("messages %d → %d after a note", msgs, got)
		}
		if got := f.countRows(t, "outbox"); got != outbox {
			t.Errorf("outbox %d → %d after a note", outbox, got)
		}
		if row := f.convRow(t, conv.ID); strings.Contains(row.LastMessageText, "call back") {
			t.Error("the note became the conversation's last message")
		}
	})

	t.Run("validation and objects", func(t *testing.T) {
		r := agent.htmx(http.MethodPost, base+"/notes", url.Values{"text": {"   "}}).wantStatus(t, http.StatusUnprocessableEntity)
		if r.text(t, "#err-note") == "" {
			t.Error("no error for an empty note")
		}
		agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/notes", hidden.ID), url.Values{"text": {"x"}}).wantStatus(t, http.StatusNotFound)
		agent.postRaw(base+"/notes", url.Values{"text": {"no csrf"}}).wantStatus(t, http.StatusForbidden)
		agent.postForm(base+"/notes", url.Values{"text": {"without JS"}}).wantStatus(t, http.StatusSeeOther)
	})

	t.Run("API", func(t *testing.T) {
		key := env.apiKey(t, models.RoleAgent)
		path := fmt.Sprintf("/api/v1/conversations/%d/notes", conv.ID)
		var n struct {
			ID        int64  `json:"id"`
			Text      string `json:"text"`
			Author    string `json:"author"`
			CreatedAt string `json:"created_at"`
		}
		env.api(t, key, http.MethodPost, path, map[string]string{"text": "from the API"}).wantStatus(t, http.StatusCreated).json(t, &n)
		if n.ID == 0 || n.Text != "from the API" || n.Author != "api:test-agent" || n.CreatedAt == "" {
			t.Errorf("created %+v", n)
		}
		var list struct {
			Notes []struct {
				Text string `json:"text"`
			} `json:"notes"`
		}
		env.api(t, key, http.MethodGet, path, nil).wantStatus(t, http.StatusOK).json(t, &list)
		if len(list.Notes) != 3 || list.Notes[2].Text != "from the API" {
			t.Errorf("listed %+v", list.Notes)
		}
		env.api(t, key, http.MethodGet, fmt.Sprintf("/api/v1/conversations/%d/notes", hidden.ID), nil).wantStatus(t, http.StatusNotFound)
		env.api(t, key, http.MethodPost, path, map[string]string{"text": ""}).wantStatus(t, http.StatusUnprocessableEntity)
		env.api(t, "", http.MethodGet, path, nil).wantStatus(t, http.StatusUnauthorized)
		if got := f.countRows(t, "outbox"); got != outbox {
			t.Errorf("outbox %d → %d after API notes", outbox, got)
		}
	})
}
