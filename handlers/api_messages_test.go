package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

type apiMessagesPage struct {
	Messages []struct {
		MessageID int64           `json:"message_id"`
		ChatID    int64           `json:"chat_id"`
		Direction string          `json:"direction"`
		Text      string          `json:"text"`
		Status    string          `json:"status"`
		Entities  any             `json:"entities"`
		Media     map[string]any  `json:"media"`
		From      *map[string]any `json:"from"`
	} `json:"messages"`
	NextCursor int64 `json:"next_cursor"`
}

func TestAPIMessagesListCursor(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	g := newWBFixture(t, env, "Other")
	c := f.conv(t, 7, "Ann")
	oc := g.conv(t, 8, "Bob")
	var ids []int64
	for i := 0; i < 7; i++ {
		ids = append(ids, f.msg(t, c, fmt.Sprint("m", i)).ID)
		g.msg(t, oc, "other channel")
	}
	f.msg(t, c, "photo", func(m *models.Message) {
		m.Type, m.Media, m.Entities = "photo", `{"file_id":"x","width":10}`, "not json"
	})
	key := env.apiKey(t, models.RoleOperator)
	path := "/api/v1/channels/" + f.ch.ID + "/messages"
	// Agents see the workbench, not the channel's whole history.
	env.api(t, env.apiKey(t, models.RoleAgent), http.MethodGet, path, nil).wantStatus(t, http.StatusForbidden)

	var got []int64
	cursor := int64(0)
	for i := 0; i < 10; i++ {
		var p apiMessagesPage
		env.api(t, key, http.MethodGet, fmt.Sprintf("%s?after=%d&limit=3", path, cursor), nil).wantStatus(t, http.StatusOK).json(t, &p)
		if len(p.Messages) == 0 {
			if p.NextCursor != cursor {
				t.Errorf("empty page moved the cursor %d → %d", cursor, p.NextCursor)
			}
			break
		}
		for _, m := range p.Messages {
			got = append(got, m.MessageID)
			if m.Direction == "in" && m.From == nil {
				t.Error("incoming message without from")
			}
			if m.Text == "photo" && (m.Media["width"] != float64(10) || m.Entities != nil) {
				t.Errorf("media/entities passthrough: %+v", m)
			}
		}
		cursor = p.NextCursor
	}
	if len(got) != 8 || fmt.Sprint(got[:7]) != fmt.Sprint(ids) {
		t.Errorf("paged ids %v, want %v + photo (oldest first, this channel only)", got, ids)
	}

	for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?after=-1", "?after=abc"} {
		r := env.api(t, key, http.MethodGet, path+q, nil).wantStatus(t, http.StatusUnprocessableEntity)
		if code, _ := r.apiError(t); code != "invalid" {
			t.Errorf("%s: code %q", q, code)
		}
	}
	env.api(t, key, http.MethodGet, "/api/v1/channels/tg-aaaaaaaaaa/messages", nil).wantStatus(t, http.StatusNotFound)
	env.api(t, "", http.MethodGet, path, nil).wantStatus(t, http.StatusUnauthorized)
}

func TestAPIMessagesSend(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	key := env.apiKey(t, models.RoleAgent)
	path := "/api/v1/channels/" + f.ch.ID + "/messages"
	f.conv(t, 123, "Ann") // in the workbench: agents may answer it

	r := env.api(t, key, http.MethodPost, path, map[string]any{"chat_id": 123, "text": "hi"}).wantStatus(t, http.StatusConflict)
	if code, _ := r.apiError(t); code != "no_bot" {
		t.Errorf("no bot: code %q", code)
	}
	f.bot(t, 4242)
	var out struct {
		MessageID int64  `json:"message_id"`
		Status    string `json:"status"`
	}
	env.api(t, key, http.MethodPost, path, map[string]any{"chat_id": 123, "text": "hi"}).wantStatus(t, http.StatusAccepted).json(t, &out)
	if out.MessageID == 0 || out.Status != "pending" {
		t.Errorf("send answered %+v", out)
	}

	// Idempotency-Key: a retry returns the first message, nothing new is queued.
	send := func(k string) int64 {
		req, _ := http.NewRequest(http.MethodPost, env.URL+path, jsonBody(`{"chat_id": 123, "text": "once"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", k)
		var o struct {
			MessageID int64 `json:"message_id"`
		}
		doTestRequest(t, http.DefaultClient, req).wantStatus(t, http.StatusAccepted).json(t, &o)
		return o.MessageID
	}
	a, b := send("order-1"), send("order-1")
	if a != b || a == out.MessageID {
		t.Errorf("idempotent sends gave %d and %d", a, b)
	}
	if c := send("order-2"); c == a {
		t.Error("a new key returned the old message")
	}

	for name, body := range map[string]any{
		"empty text":    map[string]any{"chat_id": 123, "text": "  "},
		"no chat":       map[string]any{"text": "x"},
		"chat not int":  map[string]any{"chat_id": "abc", "text": "x"},
		"chat fraction": map[string]any{"chat_id": 1.5, "text": "x"},
		"not json":      "{",
	} {
		t.Run(name, func(t *testing.T) {
			r := env.api(t, key, http.MethodPost, path, body).wantStatus(t, http.StatusUnprocessableEntity)
			if code, _ := r.apiError(t); code != "invalid" {
				t.Errorf("%s: code %q", name, code)
			}
		})
	}
	env.api(t, "", http.MethodPost, path, map[string]any{"chat_id": 1, "text": "x"}).wantStatus(t, http.StatusUnauthorized)
}

func jsonBody(s string) *strings.Reader { return strings.NewReader(s) }

// TestAPISendOnlyIntoVisibleChats: a key sends as the bot, so it may not
// pick any chat id. Unknown chats are 404 for every role; agents reach only
// the conversations the workbench shows them, as in the console.
func TestAPISendOnlyIntoVisibleChats(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4242)
	f.conv(t, 100, "In the workbench")
	f.conv(t, 200, "Kept out", func(c *models.Conversation) { c.InWorkbench = false })
	if err := f.db.Exec("INSERT INTO chats(channel_id, chat_id, type, title, added_at) VALUES (?, ?, 'supergroup', 'Group', ?)", f.ch.ID, -300, time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/channels/" + f.ch.ID + "/messages"
	for _, tc := range []struct {
		role models.Role
		chat int64
		want int
	}{
		{models.RoleAgent, 100, http.StatusAccepted},
		{models.RoleAgent, 200, http.StatusNotFound},
		{models.RoleAgent, -300, http.StatusNotFound},
		{models.RoleAgent, 999, http.StatusNotFound},
		{models.RoleOperator, 200, http.StatusAccepted},
		{models.RoleOperator, -300, http.StatusAccepted},
		{models.RoleOperator, 999, http.StatusNotFound},
		{models.RoleAdmin, 999, http.StatusNotFound},
	} {
		t.Run(fmt.Sprintf("%s to %d", tc.role, tc.chat), func(t *testing.T) {
			r := env.api(t, env.apiKey(t, tc.role), http.MethodPost, path, map[string]any{"chat_id": tc.chat, "text": "hello"})
			r.wantStatus(t, tc.want)
			if tc.want == http.StatusNotFound {
				if code, _ := r.apiError(t); code != "not_found" {
					t.Errorf("code %q, want not_found", code)
				}
			}
		})
	}
	var n int64
	f.db.Raw("SELECT COUNT(*) FROM messages WHERE direction = 'out' AND chat_id IN (200, -300, 999) AND sent_by IS NULL AND text = 'hello'").Scan(&n)
	if n != 2 { // the operator's two
		t.Errorf("%d outgoing messages queued into guarded chats, want only the operator's 2", n)
	}
}
