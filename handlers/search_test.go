package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := newWBFixture(t, env, "Alpha")
	b := newWBFixture(t, env, "Beta")
	ann := a.conv(t, 1, "Ann")
	older := a.msg(t, ann, "my parcel is late")
	for i := 0; i < 3; i++ {
		a.msg(t, ann, fmt.Sprintf("filler %d", i))
	}
	hostile := b.conv(t, 2, "Bob")
	b.msg(t, hostile, `<img src=x onerror=alert(1)> parcel & "quotes"`)
	hidden := b.conv(t, 3, "Hidden", func(c *models.Conversation) { c.InWorkbench = false })
	b.msg(t, hidden, "parcel outside the workbench")
	agent := env.userClient(t, models.RoleAgent)

	t.Run("console: highlighted, escaped, linked", func(t *testing.T) {
		r := agent.get("/search?q="+url.QueryEscape("Parcel")).wantStatus(t, http.StatusOK)
		if strings.Contains(r.Body, "<img src=x") {
			t.Fatal("hostile message text rendered as HTML")
		}
		doc := r.doc(t)
		hits := doc.Find(`[data-testid="search-hit"]`)
		if hits.Length() != 2 {
			t.Fatalf("%d hits, want 2 (the workbench's, not the hidden one)", hits.Length())
		}
		if got := hits.First().Find("mark").Text(); got != "parcel" {
			t.Errorf("highlight %q", got)
		}
		if !strings.Contains(hits.First().Find(`[data-testid="search-snippet"]`).Text(), `<img src=x onerror=alert(1)>`) {
			t.Errorf("snippet text %q", hits.First().Text())
		}
		href, _ := hits.Last().Find(`[data-testid="search-hit-link"]`).Attr("href")
		want := fmt.Sprintf("/workbench/c/%d?status=all&before=%d#msg-%d", ann.ID, older.ID+1, older.ID)
		if href != want {
			t.Fatalf("link %q, want %q", href, want)
		}
		// The link opens the conversation with the message on the page.
		page := agent.get(strings.Split(href, "#")[0]).wantStatus(t, http.StatusOK).doc(t)
		if page.Find(fmt.Sprintf(`[data-msg-id="%d"]`, older.ID)).Length() != 1 {
			t.Error("the linked message is not on the conversation page")
		}
		r = agent.get("/search?q=parcel&channel_id="+a.ch.ID).wantStatus(t, http.StatusOK)
		if n := r.doc(t).Find(`[data-testid="search-hit"]`).Length(); n != 1 {
			t.Errorf("channel filter: %d hits, want 1", n)
		}
		agent.get("/search?q=parcel&channel_id=tg-aaaaaaaaaa").wantStatus(t, http.StatusNotFound)
		if doc := agent.get("/search").wantStatus(t, http.StatusOK).doc(t); doc.Find(`[data-testid="search-form"]`).Length() != 1 {
			t.Error("no search form on the empty page")
		}
		env.anonClient(t).get("/search?q=parcel").wantStatus(t, http.StatusSeeOther)
	})

	t.Run("API", func(t *testing.T) {
		key := env.apiKey(t, models.RoleAgent)
		var out struct {
			Results []struct {
				MessageID      int64  `json:"message_id"`
				ConversationID int64  `json:"conversation_id"`
				ChannelID      string `json:"channel_id"`
				Snippet        string `json:"snippet"`
				CreatedAt      string `json:"created_at"`
			} `json:"results"`
		}
		env.api(t, key, http.MethodGet, "/api/v1/search?q=parcel&limit=10", nil).wantStatus(t, http.StatusOK).json(t, &out)
		if len(out.Results) != 2 {
			t.Fatalf("results %+v", out.Results)
		}
		first := out.Results[0]
		if first.ConversationID != hostile.ID || first.ChannelID != b.ch.ID || first.CreatedAt == "" {
			t.Errorf("first %+v", first)
		}
		if want := `&lt;img src=x onerror=alert(1)&gt; <mark>parcel</mark> &amp; &#34;quotes&#34;`; first.Snippet != want {
			t.Errorf("snippet %q, want %q", first.Snippet, want)
		}
		env.api(t, key, http.MethodGet, "/api/v1/search?q=", nil).wantStatus(t, http.StatusUnprocessableEntity)
		env.api(t, key, http.MethodGet, "/api/v1/search?q=x&limit=500", nil).wantStatus(t, http.StatusUnprocessableEntity)
		env.api(t, "", http.MethodGet, "/api/v1/search?q=x", nil).wantStatus(t, http.StatusUnauthorized)
	})
}
