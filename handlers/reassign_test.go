package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

// TestReassign: an agent hands an open conversation to another agent from
// the side panel; the change is audited, refused without CSRF, for users
// who may not take it and for conversations outside the workbench or
// resolved, and reaches the new assignee live with "Assigned to you".
func TestReassign(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	conv := f.conv(t, 7, "Ann")
	hidden := f.conv(t, 8, "Hidden", func(c *models.Conversation) { c.InWorkbench = false })
	agent := env.userClient(t, models.RoleAgent)
	me := env.user(t, models.RoleAgent)
	bob, bobClient := secondAgent(t, env, "bob@example.test")
	gone, _ := secondAgent(t, env, "gone@example.test")
	if _, err := env.Store.UpdateUser(context.Background(), gone.ID, models.RoleAgent, false); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/workbench/c/%d", conv.ID)

	page := agent.get(base).wantStatus(t, http.StatusOK).doc(t)
	form := page.Find(`[data-testid="reassign-form"]`)
	if form.Length() != 1 {
		t.Fatal("no reassign form on an open conversation")
	}
	sel := form.Find(`select[name="assignee"]`)
	if id, _ := sel.Attr("id"); id == "" || form.Find(`label[for="`+id+`"]`).Length() != 1 {
		t.Error("the assignee select has no visible label")
	}
	var options []string
	sel.Find("option").Each(func(_ int, o *goquery.Selection) { options = append(options, o.AttrOr("value", "")) })
	if !slices.Contains(options, bob.Email) || !slices.Contains(options, me.Email) || slices.Contains(options, gone.Email) {
		t.Errorf("options %v: want the active agents, not the deactivated one", options)
	}

	// The new assignee's list stream, open before the change.
	bobSSE := openSSE(t, bobClient, streamURL(t, bobClient.get("/workbench").wantStatus(t, http.StatusOK).doc(t)), "")
	waitStreams(t, env, 1)

	agent.postRaw(base+"/reassign", url.Values{"assignee": {bob.Email}}).wantStatus(t, http.StatusForbidden)
	if f.convRow(t, conv.ID).AssignedTo != nil {
		t.Fatal("reassigned without a CSRF token")
	}
	for _, bad := range []string{gone.Email, "nobody@example.test", ""} {
		r := agent.htmx(http.MethodPost, base+"/reassign", url.Values{"assignee": {bad}}).wantStatus(t, http.StatusUnprocessableEntity)
		if r.doc(t).Find(`#wb-assign .field-error`).Length() != 1 {
			t.Errorf("refusing %q shows no error in the panel: %s", bad, r.Body)
		}
		if f.convRow(t, conv.ID).AssignedTo != nil {
			t.Fatalf("assigned to %q", bad)
		}
	}
	agent.postForm(fmt.Sprintf("/workbench/c/%d/reassign", hidden.ID), url.Values{"assignee": {bob.Email}}).wantStatus(t, http.StatusNotFound)

	r := agent.htmx(http.MethodPost, base+"/reassign", url.Values{"assignee": {bob.Email}}).wantStatus(t, http.StatusOK)
	d := r.doc(t)
	if got := d.Find(`#wb-head[hx-swap-oob] [data-testid="conv-assignee"]`).Text(); got != bob.Email {
		t.Errorf("the header swapped out of band names %q, want %s", got, bob.Email)
	}
	if got := d.Find(`#wb-assign option[selected]`).AttrOr("value", ""); got != bob.Email {
		t.Errorf("the panel selects %q, want %s", got, bob.Email)
	}
	if row := f.convRow(t, conv.ID); row.AssignedTo == nil || *row.AssignedTo != bob.ID {
		t.Fatalf("assigned to %v, want bob %d", row.AssignedTo, bob.ID)
	}
	if e := env.wantAudit(t, "conversation.assign", fmt.Sprint(conv.ID)); e.Detail != "to=bob@example.test from=nobody" || e.Actor != me.Email {
		t.Errorf("audit row %+v", e)
	}
	ev, _ := bobSSE.until(t, "rows", func(ev sseEvent) bool {
		return ev.Name == "rows" && rowsDoc(t, ev).Find(`#wb-notice [data-testid=assigned-notice]`).Length() == 1
	})
	if got := rowsDoc(t, ev).Find(fmt.Sprintf(`#wb-row-%d [data-testid="conv-assignee"]`, conv.ID)).Text(); got != bob.Email {
		t.Errorf("bob's list row names %q: %s", got, ev.Data)
	}

	// Taking it back with "Assign to me" goes through the same rule and
	// audit; a resolved conversation is reopened first.
	agent.htmx(http.MethodPost, base+"/assign", nil).wantStatus(t, http.StatusOK)
	if e := env.wantAudit(t, "conversation.assign", fmt.Sprint(conv.ID)); e.Detail != "to=agent@example.test from=bob@example.test" {
		t.Errorf("assign to me audited as %q", e.Detail)
	}
	agent.postForm(base+"/resolve", nil).wantStatus(t, http.StatusSeeOther)
	page = agent.get(base).wantStatus(t, http.StatusOK).doc(t)
	if page.Find(`[data-testid="reassign-form"]`).Length() != 0 || page.Find(`[data-testid="conv-assign"]`).Length() != 0 {
		t.Error("a resolved conversation still offers assignment")
	}
	r = agent.postForm(base+"/reassign", url.Values{"assignee": {bob.Email}}).wantStatus(t, http.StatusSeeOther)
	if row := f.convRow(t, conv.ID); *row.AssignedTo != me.ID {
		t.Error("a resolved conversation was reassigned")
	}
	if !strings.Contains(agent.get(r.location()).Body, "Reopen the conversation before assigning it.") {
		t.Error("no flash says why the resolved conversation was not reassigned")
	}
}

// TestReassignAPI: PUT /api/v1/conversations/{id}/assignee, object- and
// target-checked like the console.
func TestReassignAPI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	conv := f.conv(t, 7, "Ann")
	hidden := f.conv(t, 8, "Hidden", func(c *models.Conversation) { c.InWorkbench = false })
	key := env.apiKey(t, models.RoleAgent)
	op := env.user(t, models.RoleOperator)
	path := fmt.Sprintf("/api/v1/conversations/%d/assignee", conv.ID)

	var out struct {
		ID       int64  `json:"id"`
		Assignee string `json:"assignee"`
	}
	env.api(t, key, http.MethodPut, path, map[string]string{"assignee": "OPERATOR@example.test"}).wantStatus(t, http.StatusOK).json(t, &out)
	if out.ID != conv.ID || out.Assignee != op.Email {
		t.Errorf("answer %+v", out)
	}
	if row := f.convRow(t, conv.ID); row.AssignedTo == nil || *row.AssignedTo != op.ID {
		t.Errorf("assigned to %v, want the operator", row.AssignedTo)
	}
	env.wantAudit(t, "conversation.assign", fmt.Sprint(conv.ID))
	env.api(t, key, http.MethodPut, path, map[string]string{"assignee": "ghost@example.test"}).wantStatus(t, http.StatusUnprocessableEntity)
	env.api(t, key, http.MethodPut, fmt.Sprintf("/api/v1/conversations/%d/assignee", hidden.ID), map[string]string{"assignee": op.Email}).wantStatus(t, http.StatusNotFound)
	env.anonClient(t).do(http.MethodPut, path, strings.NewReader(`{"assignee":"x"}`), http.Header{"Content-Type": {"application/json"}}).wantStatus(t, http.StatusUnauthorized)
}
