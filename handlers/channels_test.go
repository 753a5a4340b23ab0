package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

func channelCount(t *testing.T, env *testEnv) int64 {
	t.Helper()
	l, err := env.Store.ListChannels(context.Background(), "", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	return l.Total
}

func TestChannelCreateViaForm(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	r := op.postForm("/channels", url.Values{"name": {"  Support EU  "}}).wantStatus(t, http.StatusSeeOther)
	loc := r.location()
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/channels/"), "/chatbot")
	if !models.ValidChannelID(id) || loc != "/channels/"+id+"/chatbot" {
		t.Fatalf("redirect to %q, want /channels/<id>/chatbot", loc)
	}
	page := op.get(loc).wantStatus(t, http.StatusOK)
	if got := page.text(t, `[data-testid="flash"]`); !strings.Contains(got, "Support EU") {
		t.Errorf("flash after create = %q", got)
	}
	if v, _ := page.doc(t).Find(`[data-testid="tab-chatbot"]`).Attr("aria-current"); v != "page" {
		t.Error("the Chatbot Management tab is not the current one after create")
	}
	list := op.get("/channels").wantStatus(t, http.StatusOK)
	if got := list.text(t, `[data-testid="channel-link"]`); got != id {
		t.Errorf("channel list shows %q, want %q", got, id)
	}
	if !strings.Contains(list.text(t, `[data-testid="channel-table"]`), "Support EU") {
		t.Error("channel name (trimmed) not in the list")
	}
	env.wantAudit(t, "channel.create", id)
}

func TestChannelCreateBadInput(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	env.createChannel(t, "Existing")
	tests := []struct {
		name, input, msg string
	}{
		{"empty", "", "Enter a channel name."},
		{"blank", "   ", "Enter a channel name."},
		{"overlong", strings.Repeat("n", models.MaxChannelName+1), "at most 64"},
		{"duplicate", "existing", "already exists"},
		{"control characters", "bad\x01name", "control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				var r *testResponse
				if htmx {
					r = op.htmx(http.MethodPost, "/channels", url.Values{"name": {tc.input}})
				} else {
					r = op.postForm("/channels", url.Values{"name": {tc.input}})
				}
				r.wantStatus(t, http.StatusUnprocessableEntity)
				doc := r.doc(t)
				if got := doc.Find("#err-name").Text(); !strings.Contains(got, tc.msg) {
					t.Errorf("htmx=%v: inline error %q, want it to contain %q", htmx, got, tc.msg)
				}
				if v, _ := doc.Find("input#name").Attr("aria-invalid"); v != "true" {
					t.Errorf("htmx=%v: name input not marked aria-invalid", htmx)
				}
				if v, _ := doc.Find("input#name").Attr("value"); v != tc.input {
					t.Errorf("htmx=%v: typed value %q not kept (got %q)", htmx, tc.input, v)
				}
			}
		})
	}
	if n := channelCount(t, env); n != 1 {
		t.Errorf("%d channels after bad input, want 1", n)
	}
}

func TestChannelListSearchAndPagination(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	var target *models.Channel
	for i := 1; i <= 25; i++ {
		ch := env.createChannel(t, fmt.Sprintf("Channel %02d", i))
		if i == 7 {
			target = ch
		}
	}
	rows := func(r *testResponse) int { return r.doc(t).Find(`[data-testid="channel-link"]`).Length() }

	p1 := op.get("/channels").wantStatus(t, http.StatusOK)
	p2 := op.get("/channels?page=2").wantStatus(t, http.StatusOK)
	if a, b := rows(p1), rows(p2); a != channelsPerPage || a+b != 25 {
		t.Errorf("pages hold %d + %d rows, want %d + %d", a, b, channelsPerPage, 25-channelsPerPage)
	}
	if !strings.Contains(p1.text(t, "nav.pagination"), "Page 1 of 2") {
		t.Errorf("pagination text %q", p1.text(t, "nav.pagination"))
	}
	if href, ok := p1.doc(t).Find(`nav.pagination a[rel=next]`).Attr("href"); !ok || href != "/channels?page=2" {
		t.Errorf("next link %q", href)
	}
	// Out-of-range and junk pages do not error.
	op.get("/channels?page=99").wantStatus(t, http.StatusOK)
	op.get("/channels?page=-1").wantStatus(t, http.StatusOK)
	op.get("/channels?page=abc").wantStatus(t, http.StatusOK)

	for q, want := range map[string]int{"Channel 07": 1, target.ID: 1, "channel 1": 10, "nothing-like-this": 0, "%": 0} {
		r := op.get("/channels?q="+url.QueryEscape(q)).wantStatus(t, http.StatusOK)
		if got := rows(r); got != want {
			t.Errorf("search %q: %d rows, want %d", q, got, want)
		}
		if v, _ := r.doc(t).Find("input#q").Attr("value"); v != q {
			t.Errorf("search box shows %q, want %q", v, q)
		}
		if want == 0 && r.doc(t).Find(`[data-testid="channels-empty"]`).Length() != 1 {
			t.Errorf("search %q: no empty-state message", q)
		}
	}
	// Search results paginate with the query kept in the links.
	for i := 26; i <= 50; i++ {
		env.createChannel(t, fmt.Sprintf("Other %02d", i))
	}
	r := op.get("/channels?q=Other").wantStatus(t, http.StatusOK)
	if href, _ := r.doc(t).Find(`nav.pagination a[rel=next]`).Attr("href"); href != "/channels?page=2&q=Other" {
		t.Errorf("next link of a search = %q", href)
	}
}

func TestChannelUnknownIDsAre404(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	ch := env.createChannel(t, "Real")
	for _, path := range []string{
		"/channels/tg-aaaaaaaaaa",
		"/channels/tg-aaaaaaaaaa/overview",
		"/channels/tg-aaaaaaaaaa/groups",
		"/channels/not-an-id/overview",
		"/channels/" + url.PathEscape("tg-aaaaaaaaaa' OR '1'='1") + "/overview",
		"/channels/" + ch.ID + "/no-such-tab",
	} {
		r := admin.get(path).wantStatus(t, http.StatusNotFound)
		if r.doc(t).Find(`[data-testid="error-page"]`).Length() != 1 {
			t.Errorf("%s: 404 without the error page", path)
		}
	}
	admin.postForm("/channels/tg-aaaaaaaaaa/delete", url.Values{"confirm": {"x"}}).wantStatus(t, http.StatusNotFound)
	// An htmx tab click on a deleted channel gets the 404 too.
	admin.htmx(http.MethodGet, "/channels/tg-aaaaaaaaaa/groups", nil).wantStatus(t, http.StatusNotFound)
}

func TestChannelTabsDirectLoadAndPartial(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	ch := env.createChannel(t, "Tabs")

	r := op.get("/channels/"+ch.ID).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/channels/"+ch.ID+"/overview" {
		t.Errorf("/channels/:id redirects to %q", r.location())
	}

	for _, tab := range []string{"overview", "chatbot", "groups", "workbench", "webhook"} {
		full := op.get("/channels/"+ch.ID+"/"+tab).wantStatus(t, http.StatusOK)
		doc := full.doc(t)
		if doc.Find("html").Length() != 1 || doc.Find("nav.sidebar").Length() != 1 {
			t.Errorf("%s: direct load is not a full page", tab)
		}
		if doc.Find(`[data-testid="channel-id"]`).Text() != ch.ID {
			t.Errorf("%s: channel id not shown", tab)
		}
		current := doc.Find(`#channel-body nav.tabs a[aria-current="page"]`)
		if current.Length() != 1 || current.AttrOr("data-testid", "") != "tab-"+tab {
			t.Errorf("%s: current tab is %q (%d marked)", tab, current.AttrOr("data-testid", ""), current.Length())
		}
		if doc.Find(`[data-testid="panel-`+tab+`"]`).Length() != 1 {
			t.Errorf("%s: panel missing", tab)
		}

		part := op.htmx(http.MethodGet, "/channels/"+ch.ID+"/"+tab, nil).wantStatus(t, http.StatusOK)
		if strings.Contains(strings.ToLower(part.Body), "<html") || strings.Contains(part.Body, "<body") {
			t.Errorf("%s: htmx response contains the whole page", tab)
		}
		if !strings.HasPrefix(strings.TrimSpace(part.Body), `<div id="channel-body"`) {
			t.Errorf("%s: htmx response is not the #channel-body partial: %q", tab, truncateForLog(part.Body, 120))
		}
		pd := part.doc(t)
		if pd.Find(`a[aria-current="page"]`).AttrOr("data-testid", "") != "tab-"+tab {
			t.Errorf("%s: partial marks the wrong tab current", tab)
		}
		// Tab links push the URL, so a reload lands on the same tab.
		if pd.Find(`nav.tabs a[hx-push-url="true"]`).Length() != 5 {
			t.Errorf("%s: tab links without hx-push-url", tab)
		}
	}
}

func TestChannelDeleteRequiresTypedName(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.userClient(t, models.RoleAdmin)
	ch := env.createChannel(t, "Doomed")
	ctx := context.Background()

	overview := admin.get("/channels/"+ch.ID+"/overview").wantStatus(t, http.StatusOK)
	if v, _ := overview.doc(t).Find(`dialog#delete-channel-dialog input[name=confirm]`).Attr("data-confirm-text"); v != "Doomed" {
		t.Errorf("delete dialog confirm text = %q", v)
	}

	for _, wrong := range []string{"", "doomed", "Doomed ", "Other"} {
		r := admin.postForm("/channels/"+ch.ID+"/delete", url.Values{"confirm": {wrong}}).wantStatus(t, http.StatusSeeOther)
		if r.location() != "/channels/"+ch.ID+"/overview" {
			t.Errorf("wrong name %q: redirect %q", wrong, r.location())
		}
		if _, err := env.Store.Channel(ctx, ch.ID); err != nil {
			t.Fatalf("channel deleted with confirmation %q", wrong)
		}
	}
	if msg := admin.get("/channels/"+ch.ID+"/overview").text(t, `[data-testid="flash"]`); !strings.Contains(msg, "not deleted") {
		t.Errorf("no clear message after a wrong name: %q", msg)
	}

	// Operators cannot delete at all, and see no Delete button.
	op := env.userClient(t, models.RoleOperator)
	if op.get("/channels/"+ch.ID+"/overview").doc(t).Find("#delete-channel-dialog").Length() != 0 {
		t.Error("operator sees the delete dialog")
	}
	op.postForm("/channels/"+ch.ID+"/delete", url.Values{"confirm": {"Doomed"}}).wantStatus(t, http.StatusForbidden)

	r := admin.postForm("/channels/"+ch.ID+"/delete", url.Values{"confirm": {"Doomed"}}).wantStatus(t, http.StatusSeeOther)
	if r.location() != "/channels" {
		t.Errorf("after delete: redirect %q", r.location())
	}
	if _, err := env.Store.Channel(ctx, ch.ID); err == nil {
		t.Fatal("channel still exists after a confirmed delete")
	}
	env.wantAudit(t, "channel.delete", ch.ID)
	admin.get("/channels/"+ch.ID+"/overview").wantStatus(t, http.StatusNotFound)
}

func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	big := strings.Repeat("a", 1<<20+1)
	r := op.postForm("/channels", url.Values{"name": {big}})
	r.wantStatus(t, http.StatusRequestEntityTooLarge)
	if msg := r.text(t, `[data-testid="error-page"]`); !strings.Contains(msg, "too large") {
		t.Errorf("413 message unclear: %q", msg)
	}
	r = env.api(t, env.apiKey(t, models.RoleAdmin), http.MethodPost, "/api/v1/channels", `{"name":"`+big+`"}`)
	r.wantStatus(t, http.StatusRequestEntityTooLarge)
	if code, msg := r.apiError(t); code != "too_large" || !strings.Contains(msg, "too large") {
		t.Errorf("API 413: %s %q", code, msg)
	}
	if n := channelCount(t, env); n != 0 {
		t.Errorf("%d channels after oversized requests", n)
	}
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	r := op.postForm("/channels", url.Values{"name": {"Durable"}}).wantStatus(t, http.StatusSeeOther)
	key := env.apiKey(t, models.RoleOperator)

	env.restart(t)
	op.rebase()

	// The session, the channel and the API key survive the restart.
	if got := op.get(r.location()).wantStatus(t, http.StatusOK).text(t, ".page-head h1"); got != "Durable" {
		t.Errorf("channel page heading %q after restart", got)
	}
	env.api(t, key, http.MethodGet, "/api/v1/channels?q=Durable", nil).wantStatus(t, http.StatusOK)
	op.postForm("/channels", url.Values{"name": {"After restart"}}).wantStatus(t, http.StatusSeeOther)
	if n := channelCount(t, env); n != 2 {
		t.Errorf("%d channels after restart, want 2", n)
	}
}

// TestChannelTableNeverStale: the rendered table is shared until the next
// commit (store.Cached); a channel created in the console, a bot written by
// another connection and a deletion all show on the very next load.
func TestChannelTableNeverStale(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.userClient(t, models.RoleOperator)
	for range 2 {
		if body := op.get("/channels").wantStatus(t, http.StatusOK).Body; !strings.Contains(body, `data-testid="channels-empty"`) {
			t.Fatal("empty state missing")
		}
	}
	ch := env.createChannel(t, "Cached Desk")
	if body := op.get("/channels").wantStatus(t, http.StatusOK).Body; !strings.Contains(body, "Cached Desk") {
		t.Fatal("new channel missing after the first loads were cached")
	}
	f := newWBFixture(t, env, "Other Desk") // its own connection to the file
	if err := f.db.Exec(`INSERT INTO bots (channel_id, telegram_id, username, first_name, token_enc, token_hint, state, connected_at, updated_at)
		VALUES (?, 77, 'cachedesk_bot', 'B', ?, '1:••', 'polling', ?, ?)`, ch.ID, []byte{1}, time.Now().UTC(), time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	if body := op.get("/channels").wantStatus(t, http.StatusOK).Body; !strings.Contains(body, "@cachedesk_bot") {
		t.Fatal("bot connected by another connection missing")
	}
	if err := f.db.Exec(`DELETE FROM bots WHERE channel_id = ?`, ch.ID).Error; err != nil {
		t.Fatal(err)
	}
	if body := op.get("/channels").wantStatus(t, http.StatusOK).Body; strings.Contains(body, "@cachedesk_bot") {
		t.Fatal("deleted bot still listed")
	}
}
