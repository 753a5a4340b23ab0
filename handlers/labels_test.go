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

func rowLabelNames(doc *goquery.Document, convID int64) []string {
	var out []string
	doc.Find(fmt.Sprintf(`#conv-%d [data-testid="label-chip"]`, convID)).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.Text())
	})
	return out
}

func TestLabels(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	ann := f.conv(t, 1, "Ann")
	bob := f.conv(t, 2, "Bob")
	hidden := f.conv(t, 3, "Hidden", func(c *models.Conversation) { c.InWorkbench = false })
	op := env.userClient(t, models.RoleOperator)
	agent := env.userClient(t, models.RoleAgent)

	t.Run("operators create, agents may not", func(t *testing.T) {
		op.postForm("/labels", url.Values{"name": {"VIP"}, "color": {"purple"}}).wantStatus(t, http.StatusSeeOther)
		op.postForm("/labels", url.Values{"name": {`<b>Refund</b>`}, "color": {"red"}}).wantStatus(t, http.StatusSeeOther)
		r := op.postForm("/labels", url.Values{"name": {"vip"}, "color": {"blue"}}).wantStatus(t, http.StatusUnprocessableEntity)
		if !strings.Contains(r.text(t, "#err-name"), "exists") {
			t.Errorf("duplicate label error %q", r.text(t, "#err-name"))
		}
		op.postForm("/labels", url.Values{"name": {"X"}, "color": {"javascript"}}).wantStatus(t, http.StatusUnprocessableEntity)
		page := op.get("/labels").wantStatus(t, http.StatusOK)
		if strings.Contains(page.Body, "<b>Refund</b>") {
			t.Error("label name rendered as HTML")
		}
		if n := page.doc(t).Find(`[data-testid="label-list"] [data-testid="label-chip"]`).Length(); n != 2 {
			t.Errorf("%d labels listed, want 2", n)
		}
		agent.get("/labels").wantStatus(t, http.StatusForbidden)
		agent.postForm("/labels", url.Values{"name": {"Nope"}}).wantStatus(t, http.StatusForbidden)
		env.wantAudit(t, "label.create", "")
	})

	t.Run("agents label conversations; rows show them; the list filters", func(t *testing.T) {
		r := agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/labels", ann.ID), url.Values{"labels": {"VIP", "<b>refund</b>"}}).wantStatus(t, http.StatusOK)
		if n := r.doc(t).Find(`input[name="labels"]:checked`).Length(); n != 2 {
			t.Errorf("%d boxes ticked after saving, want 2", n)
		}
		agent.postForm(fmt.Sprintf("/workbench/c/%d/labels", bob.ID), url.Values{"labels": {"vip"}}).wantStatus(t, http.StatusSeeOther)
		doc := agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
		if got := rowLabelNames(doc, ann.ID); fmt.Sprint(got) != "[<b>Refund</b> VIP]" {
			t.Errorf("Ann's row labels %v", got)
		}
		filtered := agent.get("/workbench?label="+url.QueryEscape("<b>Refund</b>")).wantStatus(t, http.StatusOK).doc(t)
		if ids := convItemIDs(filtered); fmt.Sprint(ids) != fmt.Sprintf("[%d]", ann.ID) {
			t.Errorf("label filter shows %v, want only Ann", ids)
		}
		if v, _ := filtered.Find(`#wb-label option[selected]`).Attr("value"); v != "<b>Refund</b>" {
			t.Errorf("filter form selected %q", v)
		}
		// Clearing all labels.
		agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/labels", bob.ID), url.Values{}).wantStatus(t, http.StatusOK)
		if got := rowLabelNames(agent.get("/workbench").doc(t), bob.ID); len(got) != 0 {
			t.Errorf("Bob still labelled %v", got)
		}
		agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/labels", ann.ID), url.Values{"labels": {"nope"}}).wantStatus(t, http.StatusUnprocessableEntity)
		agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/labels", hidden.ID), url.Values{"labels": {"VIP"}}).wantStatus(t, http.StatusNotFound)
		env.wantAudit(t, "conversation.labels", fmt.Sprint(ann.ID))
	})

	t.Run("a label change reaches live lists", func(t *testing.T) {
		stream := openSSE(t, agent, "/workbench/events?after=0", "")
		stream.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })
		agent.htmx(http.MethodPost, fmt.Sprintf("/workbench/c/%d/labels", bob.ID), url.Values{"labels": {"VIP"}}).wantStatus(t, http.StatusOK)
		stream.until(t, "rows", func(ev sseEvent) bool {
			return ev.Name == "rows" && strings.Contains(ev.Data, fmt.Sprintf(`id="conv-%d"`, bob.ID)) && strings.Contains(ev.Data, ">VIP<")
		})
	})

	t.Run("API", func(t *testing.T) {
		opKey, agentKey := env.apiKey(t, models.RoleOperator), env.apiKey(t, models.RoleAgent)
		env.api(t, opKey, http.MethodPost, "/api/v1/labels", map[string]string{"name": "Urgent", "color": "orange"}).wantStatus(t, http.StatusCreated)
		env.api(t, agentKey, http.MethodPost, "/api/v1/labels", map[string]string{"name": "Mine"}).wantStatus(t, http.StatusForbidden)
		var labels struct {
			Labels []struct {
				Name, Color string
			} `json:"labels"`
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/labels", nil).wantStatus(t, http.StatusOK).json(t, &labels)
		if len(labels.Labels) != 3 {
			t.Errorf("labels %+v", labels.Labels)
		}
		path := fmt.Sprintf("/api/v1/conversations/%d/labels", ann.ID)
		env.api(t, agentKey, http.MethodPut, path, map[string]any{"labels": []string{"urgent", "VIP"}}).wantStatus(t, http.StatusOK)
		env.api(t, agentKey, http.MethodPut, path, map[string]any{"labels": []string{"ghost"}}).wantStatus(t, http.StatusUnprocessableEntity)
		env.api(t, agentKey, http.MethodPut, fmt.Sprintf("/api/v1/conversations/%d/labels", hidden.ID), map[string]any{"labels": []string{}}).wantStatus(t, http.StatusNotFound)

		if err := env.Store.AssignConversation(t.Context(), bob.ID, &env.user(t, models.RoleAgent).ID); err != nil {
			t.Fatal(err)
		}
		type convs struct {
			Conversations []struct {
				ID       int64    `json:"id"`
				Title    string   `json:"title"`
				Labels   []string `json:"labels"`
				Assignee *string  `json:"assignee"`
			} `json:"conversations"`
			Next *string `json:"next_cursor"`
		}
		var out convs
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?label=urgent", nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Conversations) != 1 || out.Conversations[0].ID != ann.ID || fmt.Sprint(out.Conversations[0].Labels) != "[Urgent VIP]" {
			t.Errorf("by label: %+v", out)
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?assignee=agent@example.test&channel_id="+f.ch.ID, nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Conversations) != 1 || out.Conversations[0].ID != bob.ID || out.Conversations[0].Assignee == nil {
			t.Errorf("by assignee: %+v", out)
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?assignee=none&limit=1", nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Conversations) != 1 || out.Conversations[0].ID != ann.ID || out.Next != nil {
			t.Errorf("unassigned: %+v", out)
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?limit=1", nil).wantStatus(t, http.StatusOK).json(t, &out)
		if out.Next == nil {
			t.Fatal("no next_cursor on a full page")
		}
		first := out.Conversations[0].ID
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?limit=1&after="+url.QueryEscape(*out.Next), nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Conversations) != 1 || out.Conversations[0].ID == first {
			t.Errorf("second page %+v", out)
		}
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?status=bogus", nil).wantStatus(t, http.StatusUnprocessableEntity)
		env.api(t, agentKey, http.MethodGet, "/api/v1/conversations?channel_id=tg-aaaaaaaaaa", nil).wantStatus(t, http.StatusNotFound)
	})
}
