package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

func TestCannedResponsesConsole(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	other := env.createChannel(t, "Sales")
	op := env.userClient(t, models.RoleOperator)

	t.Run("operator creates global and per-channel responses", func(t *testing.T) {
		r := op.postForm("/canned-responses", url.Values{"shortcut": {"/Thanks"}, "text": {"Thanks {first_name} (@{username}), {agent_name} here."}})
		r.wantStatus(t, http.StatusSeeOther)
		op.postForm("/canned-responses", url.Values{"shortcut": {"refund"}, "text": {"Refund on its way."}, "channel_id": {f.ch.ID}}).wantStatus(t, http.StatusSeeOther)
		op.postForm("/canned-responses", url.Values{"shortcut": {"sales"}, "text": {"Sales only."}, "channel_id": {other.ID}}).wantStatus(t, http.StatusSeeOther)
		doc := op.get("/canned-responses").wantStatus(t, http.StatusOK).doc(t)
		if n := doc.Find(`[data-testid="canned-row"]`).Length(); n != 3 {
			t.Fatalf("%d rows, want 3", n)
		}
		if got := doc.Find(`[data-testid="canned-row"] code`).First().Text(); got != "/refund" {
			t.Errorf("first row %q, want /refund (sorted by shortcut)", got)
		}
		env.wantAudit(t, "canned.create", "")
	})

	t.Run("validation errors stay next to the field", func(t *testing.T) {
		r := op.postForm("/canned-responses", url.Values{"shortcut": {"thanks"}, "text": {"again"}}).wantStatus(t, http.StatusUnprocessableEntity)
		if got := strings.TrimSpace(r.text(t, "#err-shortcut")); !strings.Contains(got, "already used") {
			t.Errorf("duplicate shortcut error %q", got)
		}
		r = op.postForm("/canned-responses", url.Values{"shortcut": {"bad key!"}, "text": {"x"}}).wantStatus(t, http.StatusUnprocessableEntity)
		if r.text(t, "#err-shortcut") == "" {
			t.Error("no error for a bad shortcut")
		}
		op.postForm("/canned-responses", url.Values{"shortcut": {"x"}, "text": {"x"}, "channel_id": {"tg-aaaaaaaaaa"}}).wantStatus(t, http.StatusUnprocessableEntity)
	})

	t.Run("agents may not manage them", func(t *testing.T) {
		agent := env.userClient(t, models.RoleAgent)
		agent.get("/canned-responses").wantStatus(t, http.StatusForbidden)
		agent.postForm("/canned-responses", url.Values{"shortcut": {"x"}, "text": {"x"}}).wantStatus(t, http.StatusForbidden)
		if doc := agent.get("/workbench").doc(t); doc.Find(`nav.sidebar a[href="/canned-responses"]`).Length() != 0 {
			t.Error("agent's navigation links to Canned responses")
		}
	})

	t.Run("the picker fills the variables for the conversation and escapes them", func(t *testing.T) {
		conv := f.conv(t, 77, "Maria")
		f.msg(t, conv, "hello", func(m *models.Message) { m.FromName = `<img src=x onerror=alert(1)> Lee`; m.FromUsername = "maria_k" })
		agent := env.userClient(t, models.RoleAgent)
		r := agent.htmx(http.MethodGet, fmt.Sprintf("/workbench/c/%d/canned", conv.ID), nil).wantStatus(t, http.StatusOK)
		if strings.Contains(r.Body, "<img") {
			t.Fatalf("hostile name rendered as HTML:\n%s", r.Body)
		}
		doc := r.doc(t)
		fills := map[string]string{}
		doc.Find(`[data-testid="canned-option"]`).Each(func(_ int, s *goquery.Selection) {
			fills[s.AttrOr("data-shortcut", "")] = s.AttrOr("data-fill", "")
		})
		if len(fills) != 2 || fills["sales"] != "" {
			t.Fatalf("options %v: want the global and Support's own, not Sales'", fills)
		}
		if want := "Thanks <img (@maria_k), Agent here."; fills["thanks"] != want {
			t.Errorf("filled text %q, want %q", fills["thanks"], want)
		}
		hidden := f.conv(t, 78, "Hidden", func(c *models.Conversation) { c.InWorkbench = false })
		agent.htmx(http.MethodGet, fmt.Sprintf("/workbench/c/%d/canned", hidden.ID), nil).wantStatus(t, http.StatusNotFound)
	})

	t.Run("edit and delete", func(t *testing.T) {
		list, err := env.Store.ListCanned(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		id := list[0].ID
		op.postForm(fmt.Sprintf("/canned-responses/%d", id), url.Values{"shortcut": {"refund2"}, "text": {"New text"}}).wantStatus(t, http.StatusSeeOther)
		got, err := env.Store.CannedResponse(t.Context(), id)
		if err != nil || got.Shortcut != "refund2" || got.ChannelID != nil {
			t.Fatalf("after edit: %+v, %v (want refund2, global)", got, err)
		}
		op.postForm(fmt.Sprintf("/canned-responses/%d/delete", id), nil).wantStatus(t, http.StatusSeeOther)
		if _, err := env.Store.CannedResponse(t.Context(), id); err == nil {
			t.Error("still there after delete")
		}
		op.postForm("/canned-responses/999999/delete", nil).wantStatus(t, http.StatusNotFound)
		env.wantAudit(t, "canned.delete", fmt.Sprint(id))
	})
}

func TestCannedResponsesAPI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ch := env.createChannel(t, "Support")
	opKey, agentKey := env.apiKey(t, models.RoleOperator), env.apiKey(t, models.RoleAgent)

	r := env.api(t, opKey, http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "hi", "text": "Hello {first_name}", "channel_id": ch.ID})
	r.wantStatus(t, http.StatusCreated)
	var created struct {
		ID        int64   `json:"id"`
		Shortcut  string  `json:"shortcut"`
		Text      string  `json:"text"`
		ChannelID *string `json:"channel_id"`
	}
	r.json(t, &created)
	if created.ID == 0 || created.Shortcut != "hi" || created.ChannelID == nil || *created.ChannelID != ch.ID {
		t.Fatalf("created %+v", created)
	}
	env.api(t, opKey, http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "bye", "text": "Bye"}).wantStatus(t, http.StatusCreated)
	if code, _ := env.api(t, opKey, http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "bye", "text": "again"}).wantStatus(t, http.StatusUnprocessableEntity).apiError(t); code != "invalid" {
		t.Errorf("duplicate: code %q", code)
	}

	t.Run("agents list, filtered by channel", func(t *testing.T) {
		var out struct {
			Canned []struct {
				Shortcut  string  `json:"shortcut"`
				ChannelID *string `json:"channel_id"`
			} `json:"canned_responses"`
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/canned-responses?channel_id="+ch.ID, nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Canned) != 2 {
			t.Fatalf("channel list %+v, want global + channel's", out.Canned)
		}
		other := env.createChannel(t, "Other")
		env.api(t, agentKey, http.MethodGet, "/api/v1/canned-responses?channel_id="+other.ID, nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Canned) != 1 || out.Canned[0].Shortcut != "bye" || out.Canned[0].ChannelID != nil {
			t.Errorf("other channel sees %+v, want only the global one", out.Canned)
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/canned-responses?channel_id=tg-aaaaaaaaaa", nil).wantStatus(t, http.StatusNotFound)
	})

	t.Run("agents may not change them", func(t *testing.T) {
		env.api(t, agentKey, http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "x", "text": "x"}).wantStatus(t, http.StatusForbidden)
		env.api(t, agentKey, http.MethodPut, fmt.Sprintf("/api/v1/canned-responses/%d", created.ID), map[string]any{"shortcut": "x", "text": "x"}).wantStatus(t, http.StatusForbidden)
		env.api(t, agentKey, http.MethodDelete, fmt.Sprintf("/api/v1/canned-responses/%d", created.ID), nil).wantStatus(t, http.StatusForbidden)
	})

	t.Run("operators update and delete", func(t *testing.T) {
		env.api(t, opKey, http.MethodPut, fmt.Sprintf("/api/v1/canned-responses/%d", created.ID), map[string]any{"shortcut": "hello", "text": "Hi!"}).wantStatus(t, http.StatusOK).json(t, &created)
		if created.Shortcut != "hello" || created.ChannelID != nil {
			t.Errorf("after PUT %+v (channel_id omitted = global)", created)
		}
		env.api(t, opKey, http.MethodDelete, fmt.Sprintf("/api/v1/canned-responses/%d", created.ID), nil).wantStatus(t, http.StatusNoContent)
		env.api(t, opKey, http.MethodDelete, fmt.Sprintf("/api/v1/canned-responses/%d", created.ID), nil).wantStatus(t, http.StatusNotFound)
		env.api(t, opKey, http.MethodPut, "/api/v1/canned-responses/999999", map[string]any{"shortcut": "a", "text": "b"}).wantStatus(t, http.StatusNotFound)
	})
}
