package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

// secondAgent signs in another agent than the harness's.
func secondAgent(t *testing.T, env *testEnv, email string) (*models.User, *testClient) {
	t.Helper()
	u, err := env.Store.CreateUser(t.Context(), email, models.RoleAgent, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return u, env.login(t, email, testPassword)
}

// navUnread is the total beside "Workbench" ("" when hidden).
func navUnread(t *testing.T, doc *goquery.Document) string {
	t.Helper()
	b := doc.Find(`#nav-unread`)
	if b.Length() != 1 {
		t.Fatal("no #nav-unread in the navigation")
	}
	if _, hidden := b.Attr("hidden"); hidden {
		return ""
	}
	n, _ := b.Attr("data-unread")
	return n
}

// Unread is each agent's own: opening a conversation clears it for the
// agent who opened it, not for the others; the title and the navigation
// show the total, on every page.
func TestUnreadIsPerAgent(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	ann := f.conv(t, 1, "Ann")
	bob := f.conv(t, 2, "Bob")
	f.msg(t, ann, "one")
	f.msg(t, ann, "two")
	f.msg(t, bob, "three")
	agent := env.userClient(t, models.RoleAgent)
	_, other := secondAgent(t, env, "other@example.test")

	badge := func(doc *goquery.Document, id int64) string {
		return doc.Find(fmt.Sprintf(`#wb-row-%d [data-testid="conv-unread"]`, id)).Text()
	}
	doc := agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	if badge(doc, ann.ID) != "2" || badge(doc, bob.ID) != "1" || navUnread(t, doc) != "3" {
		t.Fatalf("before reading: Ann %q Bob %q total %q", badge(doc, ann.ID), badge(doc, bob.ID), navUnread(t, doc))
	}
	if title := doc.Find("title").Text(); !strings.HasPrefix(title, "(3) Workbench") {
		t.Errorf("title %q, want it to start with (3) Workbench", title)
	}
	agent.get(fmt.Sprintf("/workbench/c/%d", ann.ID)).wantStatus(t, http.StatusOK)

	doc = agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	if badge(doc, ann.ID) != "" || badge(doc, bob.ID) != "1" || navUnread(t, doc) != "1" {
		t.Errorf("after reading Ann: Ann %q Bob %q total %q", badge(doc, ann.ID), badge(doc, bob.ID), navUnread(t, doc))
	}
	doc = other.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	if badge(doc, ann.ID) != "2" || navUnread(t, doc) != "3" {
		t.Errorf("the other agent's counts moved with the first one's read: Ann %q total %q", badge(doc, ann.ID), navUnread(t, doc))
	}
	// Every console page carries the total, not only the workbench.
	doc = other.get("/search").wantStatus(t, http.StatusOK).doc(t)
	if navUnread(t, doc) != "3" || !strings.HasPrefix(doc.Find("title").Text(), "(3) ") {
		t.Errorf("search page: total %q title %q", navUnread(t, doc), doc.Find("title").Text())
	}
	// A new message counts for both, from where each one stands.
	f.msg(t, ann, "four")
	doc = agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	if badge(doc, ann.ID) != "1" || navUnread(t, doc) != "2" {
		t.Errorf("after a new message: Ann %q total %q, want 1 and 2", badge(doc, ann.ID), navUnread(t, doc))
	}
	// Nothing unread: no number in the title.
	agent.get(fmt.Sprintf("/workbench/c/%d", ann.ID)).wantStatus(t, http.StatusOK)
	agent.get(fmt.Sprintf("/workbench/c/%d", bob.ID)).wantStatus(t, http.StatusOK)
	doc = agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	if navUnread(t, doc) != "" || strings.HasPrefix(doc.Find("title").Text(), "(") {
		t.Errorf("all read: total %q title %q", navUnread(t, doc), doc.Find("title").Text())
	}

	// The API: a key is not a reader, so it sees what nobody has read.
	key := env.apiKey(t, models.RoleAgent)
	var out struct {
		Conversations []struct {
			ID     int64 `json:"id"`
			Unread int64 `json:"unread"`
		} `json:"conversations"`
	}
	env.api(t, key, http.MethodGet, "/api/v1/conversations", nil).wantStatus(t, http.StatusOK).json(t, &out)
	got := map[int64]int64{}
	for _, c := range out.Conversations {
		got[c.ID] = c.Unread
	}
	if got[ann.ID] != 0 || got[bob.ID] != 0 {
		t.Errorf("API unread %v, want 0 for both (the agent read them)", got)
	}
	f.msg(t, bob, "five")
	env.api(t, key, http.MethodGet, "/api/v1/conversations", nil).wantStatus(t, http.StatusOK).json(t, &out)
	for _, c := range out.Conversations {
		if c.ID == bob.ID && c.Unread != 1 {
			t.Errorf("API unread of Bob after a new message = %d, want 1", c.Unread)
		}
	}
}

// The live stream keeps an agent's counts current: a new message raises
// the row's badge and the total; reading it in another tab clears both
// in this one, and another agent's read sends this one nothing.
func TestUnreadLive(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	ann := f.conv(t, 1, "Ann")
	bob := f.conv(t, 2, "Bob")
	agent := env.userClient(t, models.RoleAgent)
	_, other := secondAgent(t, env, "other@example.test")
	doc := agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	sse := openSSE(t, agent, streamURL(t, doc), "")
	waitStreams(t, env, 1)

	total := func(ev sseEvent) string {
		b := rowsDoc(t, ev).Find(`#nav-unread[hx-swap-oob]`)
		n, _ := b.Attr("data-unread")
		return n
	}
	f.msg(t, ann, "first")
	f.msg(t, bob, "second")
	sse.until(t, "rows", func(ev sseEvent) bool {
		return ev.Name == "rows" && strings.Contains(ev.Data, "second") && total(ev) == "2"
	})
	// Another agent reads Ann: nothing changes for this one.
	other.get(fmt.Sprintf("/workbench/c/%d", ann.ID)).wantStatus(t, http.StatusOK)
	// This agent reads Bob in another tab: the row and the total drop.
	agent.get(fmt.Sprintf("/workbench/c/%d", bob.ID)).wantStatus(t, http.StatusOK)
	ev, seen := sse.until(t, "rows", func(ev sseEvent) bool {
		return ev.Name == "rows" && rowsDoc(t, ev).Find(fmt.Sprintf("li#wb-row-%d", bob.ID)).Length() == 1 && total(ev) == "1"
	})
	if rowIn(t, ev, bob.ID).Find(`[data-testid="conv-unread"]`).Length() != 0 {
		t.Error("Bob's row still has a badge after this agent read it")
	}
	for _, e := range seen {
		if e.Name == "rows" && rowsDoc(t, e).Find(fmt.Sprintf("li#wb-row-%d", ann.ID)).Length() == 1 && total(e) != "2" {
			t.Errorf("the other agent's read of Ann reached this stream: total %q", total(e))
		}
	}
}
