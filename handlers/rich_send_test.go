package handlers

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// multipartBody encodes fields and, when name is not "", a "file" part.
func multipartBody(t *testing.T, fields map[string]string, name string, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" {
		fw, err := w.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

func (env *testEnv) apiMultipart(t *testing.T, key, path string, fields map[string]string, name string, data []byte) *testResponse {
	t.Helper()
	body, ct := multipartBody(t, fields, name, data)
	req, err := http.NewRequest(http.MethodPost, env.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+key)
	return doTestRequest(t, http.DefaultClient, req)
}

func testPNG(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n)...) }

func (f *wbFixture) message(t *testing.T, id int64) models.Message {
	t.Helper()
	var m models.Message
	if err := f.db.Take(&m, "id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAPISendFiles(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4242)
	c := f.conv(t, 123, "Ann")
	f.msg(t, c, "Can you send the invoice?", func(m *models.Message) { m.TelegramMessageID = ptrInt64(77) })
	path := "/api/v1/channels/" + f.ch.ID + "/messages"
	agent := env.apiKey(t, models.RoleAgent)

	var out struct {
		MessageID int64  `json:"message_id"`
		Status    string `json:"status"`
	}
	cases := []struct {
		name, file, kind string
		data             []byte
	}{
		{"photo", "cat.png", "photo", testPNG(1000)},
		{"document", "invoice.pdf", "document", []byte("%PDF-1.4 not really")},
		{"big image as document", "huge.png", "document", testPNG(store.MaxPhotoBytes + 10)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env.apiMultipart(t, agent, path, map[string]string{"chat_id": "123", "caption": "<b>for you</b>", "reply_to_message_id": "77"},
				tc.file, tc.data).wantStatus(t, http.StatusAccepted).json(t, &out)
			m := f.message(t, out.MessageID)
			if out.Status != "pending" || m.Type != tc.kind || m.Text != "<b>for you</b>" || m.ReplyToMessageID == nil || *m.ReplyToMessageID != 77 {
				t.Fatalf("stored %+v (answer %+v)", m, out)
			}
			file, err := env.Store.OutgoingFileOf(context.Background(), m.ID)
			if err != nil || !bytes.Equal(file.Data, tc.data) || file.Name != tc.file {
				t.Fatalf("kept file: %v (%d bytes, %q)", err, len(file.Data), file.Name)
			}
		})
	}

	t.Run("limits and errors", func(t *testing.T) {
		r := env.apiMultipart(t, agent, path, map[string]string{"chat_id": "123"}, "huge.bin", make([]byte, store.MaxDocumentBytes+2<<20))
		r.wantStatus(t, http.StatusRequestEntityTooLarge)
		if code, _ := r.apiError(t); code != "too_large" {
			t.Errorf("too big: code %q", code)
		}
		for name, fields := range map[string]map[string]string{
			"no chat":       {},
			"bad quote":     {"chat_id": "123", "reply_to_message_id": "abc"},
			"unknown quote": {"chat_id": "123", "reply_to_message_id": "9999"},
			"long caption":  {"chat_id": "123", "caption": strings.Repeat("x", store.MaxCaption+1)},
		} {
			t.Run(name, func(t *testing.T) {
				r := env.apiMultipart(t, agent, path, fields, "a.txt", []byte("hello"))
				if r.Status != http.StatusUnprocessableEntity {
					t.Errorf("%s: status %d", name, r.Status)
				}
			})
		}
		env.apiMultipart(t, agent, path, map[string]string{"chat_id": "123"}, "empty.txt", nil).wantStatus(t, http.StatusUnprocessableEntity)
	})

	t.Run("agents only into workbench conversations", func(t *testing.T) {
		env.apiMultipart(t, agent, path, map[string]string{"chat_id": "555"}, "a.txt", []byte("x")).wantStatus(t, http.StatusNotFound)
		env.api(t, agent, http.MethodPost, path, map[string]any{"chat_id": 555, "text": "hi"}).wantStatus(t, http.StatusNotFound)
		f.conv(t, 556, "Outside", func(c *models.Conversation) { c.InWorkbench = false })
		env.apiMultipart(t, agent, path, map[string]string{"chat_id": "556"}, "a.txt", []byte("x")).wantStatus(t, http.StatusNotFound)
		// Integrations (operator keys) may message any chat of the channel.
		env.apiMultipart(t, env.apiKey(t, models.RoleOperator), path, map[string]string{"chat_id": "556"}, "a.txt", []byte("x")).
			wantStatus(t, http.StatusAccepted)
	})

	t.Run("json quote and topic", func(t *testing.T) {
		env.api(t, agent, http.MethodPost, path, map[string]any{"chat_id": 123, "text": "see above", "reply_to_message_id": 77, "message_thread_id": 5}).
			wantStatus(t, http.StatusAccepted).json(t, &out)
		m := f.message(t, out.MessageID)
		if m.ReplyToMessageID == nil || *m.ReplyToMessageID != 77 || m.MessageThreadID == nil || *m.MessageThreadID != 5 {
			t.Fatalf("stored %+v", m)
		}
		env.api(t, agent, http.MethodPost, path, map[string]any{"chat_id": 123, "text": "x", "reply_to_message_id": 78}).
			wantStatus(t, http.StatusUnprocessableEntity)
	})
}

func ptrInt64(v int64) *int64 { return &v }

func TestWorkbenchReplyWithFileAndQuote(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4242)
	c := f.conv(t, 123, "Ann")
	f.msg(t, c, `<script>alert(1)</script> quote me`, func(m *models.Message) { m.TelegramMessageID = ptrInt64(77) })
	agent := env.userClient(t, models.RoleAgent)
	base := "/workbench/c/" + itoa64(c.ID)

	page := agent.get(base).wantStatus(t, http.StatusOK)
	doc := page.doc(t)
	if doc.Find(`[data-testid=msg-quote-action]`).Length() != 1 {
		t.Fatal("no Quote action on the incoming message")
	}
	if doc.Find(`#wb-reply input[type=file][name=file]`).Length() != 1 || doc.Find(`label[for=wb-reply-file]`).Length() != 1 {
		t.Fatal("reply box has no labelled file input")
	}
	if enc, _ := doc.Find("#wb-reply").Attr("enctype"); enc != "multipart/form-data" {
		t.Fatalf("reply form enctype %q", enc)
	}

	// Quote: the reply box comes back with the quoted message, escaped.
	r := agent.htmx(http.MethodGet, base+"/reply?reply_to=77", nil).wantStatus(t, http.StatusOK)
	if !strings.Contains(r.Body, "&lt;script&gt;") || strings.Contains(r.Body, "<script>alert") {
		t.Fatalf("quote not escaped: %s", r.Body)
	}
	if v, _ := r.doc(t).Find(`input[name=reply_to_message_id]`).Attr("value"); v != "77" {
		t.Fatalf("quote field %q", v)
	}
	// A direct load with ?reply_to= shows the same quote (no JS).
	if agent.get(base+"?reply_to=77").doc(t).Find(`[data-testid=reply-quote]`).Length() != 1 {
		t.Fatal("direct load lost the quote")
	}

	body, ct := multipartBody(t, map[string]string{"text": "the photo", "reply_to_message_id": "77"}, "shot.png", testPNG(500))
	agent.do(http.MethodPost, base+"/reply", body, http.Header{"Content-Type": {ct}, "Hx-Request": {"true"}, "X-Csrf-Token": {agent.csrfToken()}}).
		wantStatus(t, http.StatusOK)
	var m models.Message
	if err := f.db.Where("direction = 'out'").Order("id DESC").Take(&m).Error; err != nil {
		t.Fatal(err)
	}
	if m.Type != "photo" || m.Text != "the photo" || m.ReplyToMessageID == nil || *m.ReplyToMessageID != 77 || m.SentBy == nil {
		t.Fatalf("queued %+v", m)
	}

	// The bubble shows the quote and the file's name while it is sent.
	doc = agent.get(base).doc(t)
	bubble := doc.Find("#msg-" + itoa64(m.ID))
	if bubble.Find(`[data-testid=msg-quote]`).Length() != 1 || !strings.Contains(bubble.Find(`[data-testid=msg-media]`).Text(), "shot.png") {
		t.Fatalf("bubble: %s", bubble.Text())
	}

	// Without the CSRF token nothing is queued.
	body, ct = multipartBody(t, map[string]string{"text": "x"}, "a.png", testPNG(10))
	agent.do(http.MethodPost, base+"/reply", body, http.Header{"Content-Type": {ct}}).wantStatus(t, http.StatusForbidden)
}
