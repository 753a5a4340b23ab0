package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

func convItemIDs(doc *goquery.Document) []string {
	var ids []string
	doc.Find(`[data-testid="conv-item"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-conv-id")
		ids = append(ids, id)
	})
	return ids
}

func TestWorkbenchListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := newWBFixture(t, env, "Alpha")
	b := newWBFixture(t, env, "Beta")
	b.clock = a.clock.Add(-time.Hour) // Beta's chats are all older than Alpha's
	var alpha []string
	for i := 0; i < 55; i++ {
		c := a.conv(t, int64(100+i), fmt.Sprintf("Alpha chat %02d", i))
		alpha = append([]string{strconv.FormatInt(c.ID, 10)}, alpha...)
	}
	resolved := b.conv(t, 1, "Beta resolved", func(c *models.Conversation) { c.Status = "resolved" })
	b.conv(t, 2, "Beta hidden", func(c *models.Conversation) { c.InWorkbench = false })
	findMe := b.conv(t, 3, "Beta open")
	b.clock = a.clock
	b.msg(t, findMe, "where is my parcel #4711?")
	agent := env.userClient(t, models.RoleAgent)

	page := agent.get("/workbench").wantStatus(t, http.StatusOK)
	doc := page.doc(t)
	ids := convItemIDs(doc)
	// Newest activity first: Beta's open chat got a message just now.
	if len(ids) != 50 || ids[0] != strconv.FormatInt(findMe.ID, 10) || ids[1] != alpha[0] {
		t.Fatalf("first page: %d items starting %v", len(ids), ids[:2])
	}
	if strings.Contains(page.Body, "Beta hidden") || strings.Contains(page.Body, "Beta resolved") {
		t.Error("default list shows a conversation outside the workbench or a resolved one")
	}
	if got := doc.Find(`[data-testid="conv-unread"]`).First().Text(); got != "1" {
		t.Errorf("unread badge of the newest = %q, want 1", got)
	}
	more, ok := doc.Find(`[data-testid="wb-load-more"]`).Attr("hx-get")
	if !ok {
		t.Fatal("no Load more on a full first page")
	}
	rest := agent.htmx(http.MethodGet, more, nil).wantStatus(t, http.StatusOK)
	restIDs := convItemIDs(rest.doc(t))
	if want := alpha[49:]; fmt.Sprint(restIDs) != fmt.Sprint(want) {
		t.Errorf("second page = %v, want %v", restIDs, want)
	}
	if strings.Contains(rest.Body, "wb-load-more") {
		t.Error("Load more on the last page")
	}
	// The no-JS link renders the older page as a full page.
	href, _ := doc.Find(`[data-testid="wb-load-more"]`).Attr("href")
	if got := convItemIDs(agent.get(href).wantStatus(t, http.StatusOK).doc(t)); fmt.Sprint(got) != fmt.Sprint(restIDs) {
		t.Errorf("no-JS older page = %v, want %v", got, restIDs)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"status=resolved", []string{strconv.FormatInt(resolved.ID, 10)}},
		{"channel=" + b.ch.ID, []string{strconv.FormatInt(findMe.ID, 10)}},
		{"channel=" + b.ch.ID + "&status=all", []string{strconv.FormatInt(findMe.ID, 10), strconv.FormatInt(resolved.ID, 10)}},
		{"q=" + url.QueryEscape("parcel #4711"), []string{strconv.FormatInt(findMe.ID, 10)}},
		{"q=" + url.QueryEscape("Alpha chat 07"), []string{alpha[54-7]}},
		{"q=nothing-matches", nil},
	}
	for _, tt := range tests {
		got := convItemIDs(agent.get("/workbench?"+tt.query).wantStatus(t, http.StatusOK).doc(t))
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("/workbench?%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	// htmx filter requests get just the live part.
	part := agent.htmx(http.MethodGet, "/workbench", url.Values{"status": {"resolved"}}).wantStatus(t, http.StatusOK)
	if strings.Contains(part.Body, "<html") || part.doc(t).Find(`#wb[sse-connect]`).Length() != 1 {
		t.Errorf("htmx filter answer is not the #wb partial:\n%s", truncateForLog(part.Body, 500))
	}
	agent.get("/workbench?before=not-a-cursor").wantStatus(t, http.StatusUnprocessableEntity)
}

func TestWorkbenchAccess(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	c := f.conv(t, 7, "Ann")
	outside := f.conv(t, 8, "Not in workbench", func(c *models.Conversation) { c.InWorkbench = false })
	anon := env.anonClient(t)
	for _, p := range []string{"/workbench", fmt.Sprintf("/workbench/c/%d", c.ID), "/workbench/events"} {
		r := anon.get(p).wantStatus(t, http.StatusSeeOther)
		if !strings.HasPrefix(r.location(), "/login") {
			t.Errorf("anonymous %s → %q, want /login", p, r.location())
		}
	}
	anon.postForm(fmt.Sprintf("/workbench/c/%d/resolve", c.ID), nil).wantStatus(t, http.StatusSeeOther)
	if f.convRow(t, c.ID).Status != "open" {
		t.Error("anonymous resolve changed the conversation")
	}
	for _, role := range []models.Role{models.RoleAgent, models.RoleOperator, models.RoleAdmin} {
		cl := env.userClient(t, role)
		cl.get("/workbench").wantStatus(t, http.StatusOK)
		cl.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK)
		cl.get(fmt.Sprintf("/workbench/c/%d", outside.ID)).wantStatus(t, http.StatusNotFound)
		cl.get("/workbench/c/999999").wantStatus(t, http.StatusNotFound)
		cl.get("/workbench/c/abc").wantStatus(t, http.StatusNotFound)
	}
	// Every workbench route is registered with the agent rule.
	for k, a := range env.Srv.Policies() {
		if strings.HasPrefix(strings.SplitN(k, " ", 2)[1], "/workbench") && (a.Public || a.MinRole != models.RoleAgent) {
			t.Errorf("%s has access rule %+v, want agent", k, a)
		}
	}
}

func TestWorkbenchConversationHistoryAndUnread(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	c := f.conv(t, 7, "Ann")
	var ids []int64
	for i := 0; i < 60; i++ {
		ids = append(ids, f.msg(t, c, fmt.Sprintf("message %02d", i)).ID)
	}
	if f.convRow(t, c.ID).Unread != 60 {
		t.Fatal("fixture did not count unread")
	}
	agent := env.userClient(t, models.RoleAgent)
	page := agent.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK)
	doc := page.doc(t)
	bubbles := doc.Find(`#wb-messages [data-testid="msg"]`)
	if bubbles.Length() != 50 {
		t.Fatalf("%d bubbles, want the newest 50", bubbles.Length())
	}
	if first, last := bubbles.First().AttrOr("data-msg-id", ""), bubbles.Last().AttrOr("data-msg-id", ""); first != fmt.Sprint(ids[10]) || last != fmt.Sprint(ids[59]) {
		t.Errorf("history runs %s..%s, want %d..%d (newest at the bottom)", first, last, ids[10], ids[59])
	}
	if f.convRow(t, c.ID).Unread != 0 {
		t.Error("opening the conversation did not reset unread")
	}
	if v, _ := doc.Find(fmt.Sprintf(`#conv-%d`, c.ID)).Attr("aria-current"); v != "true" {
		t.Error("the open conversation is not marked current in the list")
	}
	if doc.Find(`#wb-reply textarea[name="text"]`).Length() != 1 || doc.Find(`label[for="wb-reply-text"]`).Length() != 1 {
		t.Error("reply box without its labelled textarea")
	}
	earlier, _ := doc.Find(`[data-testid="wb-earlier"]`).Attr("hx-get")
	older := agent.htmx(http.MethodGet, earlier, nil).wantStatus(t, http.StatusOK).doc(t)
	var got []string
	older.Find(`[data-testid="msg"]`).Each(func(_ int, s *goquery.Selection) { got = append(got, s.AttrOr("data-msg-id", "")) })
	if len(got) != 10 || got[0] != fmt.Sprint(ids[0]) || got[9] != fmt.Sprint(ids[9]) {
		t.Errorf("Load earlier gave %v, want ids %d..%d", got, ids[0], ids[9])
	}
	if older.Find(`[data-testid="wb-earlier"]`).Length() != 0 {
		t.Error("Load earlier offered past the first message")
	}
	// Without JS, the same link renders a full page of older history.
	href, _ := doc.Find(`[data-testid="wb-earlier"]`).Attr("href")
	full := agent.get(href).wantStatus(t, http.StatusOK).doc(t)
	if n := full.Find(`#wb-messages [data-testid="msg"]`).Length(); n != 10 {
		t.Errorf("no-JS older page has %d bubbles, want 10", n)
	}
	if _, live := full.Find(`#wb-messages`).Attr("sse-swap"); live {
		t.Error("an older history page must not append live messages after old ones")
	}
}

func TestWorkbenchActions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	c := f.conv(t, 7, "Ann")
	agent := env.userClient(t, models.RoleAgent)
	base := fmt.Sprintf("/workbench/c/%d", c.ID)
	agent.get(base).wantStatus(t, http.StatusOK)

	// CSRF: a form without the token is refused and changes nothing.
	agent.postRaw(base+"/resolve", url.Values{}).wantStatus(t, http.StatusForbidden)
	if f.convRow(t, c.ID).Status != "open" {
		t.Fatal("resolve without CSRF token went through")
	}
	r := agent.postForm(base+"/resolve?status=all", nil).wantStatus(t, http.StatusSeeOther)
	if r.location() != base+"?status=all" {
		t.Errorf("resolve redirects to %q, want back to the conversation with the filter", r.location())
	}
	if f.convRow(t, c.ID).Status != "resolved" {
		t.Error("not resolved")
	}
	env.wantAudit(t, "conversation.resolve", fmt.Sprint(c.ID))
	head := agent.htmx(http.MethodPost, base+"/reopen", nil).wantStatus(t, http.StatusOK)
	if got := head.text(t, `[data-testid="conv-status"]`); got != "Open" {
		t.Errorf("htmx reopen answered status %q", got)
	}
	head = agent.htmx(http.MethodPost, base+"/assign", nil).wantStatus(t, http.StatusOK)
	if got := head.text(t, `[data-testid="conv-assignee"]`); got != "agent@example.test" {
		t.Errorf("assignee after Assign to me = %q", got)
	}
	if head.doc(t).Find(`[data-testid="conv-assign"]`).Length() != 0 {
		t.Error("Assign to me still offered to the assignee")
	}
	if row := f.convRow(t, c.ID); row.Status != "open" || row.AssignedTo == nil || *row.AssignedTo != env.user(t, models.RoleAgent).ID {
		t.Errorf("row after reopen+assign: %+v", row.Conversation)
	}
}

func TestWorkbenchReplyValidationAndNoBot(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	c := f.conv(t, 7, "Ann")
	agent := env.userClient(t, models.RoleAgent)
	base := fmt.Sprintf("/workbench/c/%d", c.ID)
	r := agent.htmx(http.MethodPost, base+"/reply", url.Values{"text": {"hello"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if !strings.Contains(r.text(t, ".field-error"), "no connected bot") {
		t.Errorf("no-bot reply error = %q", r.text(t, ".field-error"))
	}
	if got := r.doc(t).Find("textarea").Text(); got != "hello" {
		t.Errorf("the typed reply was lost: %q", got)
	}
	f.bot(t, 555)
	r = agent.htmx(http.MethodPost, base+"/reply", url.Values{"text": {"   "}}).wantStatus(t, http.StatusUnprocessableEntity)
	if v, _ := r.doc(t).Find("textarea").Attr("aria-invalid"); v != "true" {
		t.Error("empty reply not marked invalid")
	}
	// Full-page fallback: redirect back with a flash.
	r = agent.postForm(base+"/reply", url.Values{"text": {strings.Repeat("x", store.MaxMessageText+1)}}).wantStatus(t, http.StatusSeeOther)
	if !strings.Contains(agent.get(r.location()).text(t, `[data-testid="flash"]`), "4096") {
		t.Error("over-long reply without the limit in the flash")
	}
}

func TestWorkbenchSettingsTab(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.setMode(t, models.WorkbenchKeyword, "refund", "broken")
	open := f.conv(t, 7, "Ann <needs help>")
	f.conv(t, 8, "Resolved Bob", func(c *models.Conversation) { c.Status = "resolved" })
	op := env.userClient(t, models.RoleOperator)
	doc := op.get("/channels/"+f.ch.ID+"/workbench").wantStatus(t, http.StatusOK).doc(t)
	if got := doc.Find(`[data-testid="wb-mode"]`).Text(); got != "Triggered by Keyword" {
		t.Errorf("mode = %q", got)
	}
	if got := doc.Find(`[data-testid="wb-keywords"] li`).Length(); got != 2 {
		t.Errorf("%d keyword chips, want 2", got)
	}
	if doc.Find(`a[href="/channels/`+f.ch.ID+`/chatbot"]`).Length() == 0 {
		t.Error("no link to Chatbot Management (where the settings dialog lives)")
	}
	list := doc.Find(`[data-testid="wb-open-list"]`).Text()
	if !strings.Contains(list, "Ann <needs help>") || strings.Contains(list, "Resolved Bob") {
		t.Errorf("open conversations list = %q", list)
	}
	if doc.Find(fmt.Sprintf(`a[href^="/workbench/c/%d"]`, open.ID)).Length() != 1 {
		t.Error("open conversation not linked to the workbench")
	}
}

func TestWorkbenchKeywordHighlightAndMessageKinds(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.setMode(t, models.WorkbenchKeyword, "refund")
	c := f.conv(t, 7, "Ann")
	orig := f.msg(t, c, "I want a Refund 😀", func(m *models.Message) {
		tg := int64(11)
		m.TelegramMessageID = &tg
		m.Entities = `[{"type":"bold","offset":9,"length":6}]`
	})
	photo := f.msg(t, c, "look", func(m *models.Message) {
		m.Type = "photo"
		m.Media = `{"file_id":"AgAD","file_size":2048,"width":800,"height":600}`
		tg := int64(11)
		m.ReplyToMessageID = &tg
	})
	edited := f.msg(t, c, "new text")
	if err := f.db.Create(&models.MessageEdit{MessageID: edited.ID, Text: "old text", EditedAt: f.tick()}).Error; err != nil {
		t.Fatal(err)
	}
	if err := f.db.Model(&models.Message{}).Where("id = ?", edited.ID).Update("edited_at", f.tick()).Error; err != nil {
		t.Fatal(err)
	}
	agent := env.userClient(t, models.RoleAgent)
	doc := agent.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK).doc(t)
	first := doc.Find(fmt.Sprintf("#msg-%d", orig.ID))
	if got := first.Find("strong mark").Text(); got != "Refund" {
		t.Errorf("bold keyword highlight = %q; bubble: %s", got, first.Find(".msg-text").Text())
	}
	p := doc.Find(fmt.Sprintf("#msg-%d", photo.ID))
	if got := p.Find(`[data-testid="msg-media"]`).Text(); got != "Photo · 800×600 · 2 KB" {
		t.Errorf("media placeholder = %q", got)
	}
	if href, _ := p.Find(`[data-testid="msg-download"]`).Attr("href"); href != fmt.Sprintf("/workbench/media/%d", photo.ID) {
		t.Errorf("download link = %q", href)
	}
	if got := p.Find(`[data-testid="msg-quote"]`).Text(); !strings.Contains(got, "I want a Refund") {
		t.Errorf("quote = %q", got)
	}
	e := doc.Find(fmt.Sprintf("#msg-%d", edited.ID)).Find(`[data-testid="msg-edits"]`)
	if !strings.Contains(e.Find("summary").Text(), "edited") || !strings.Contains(e.Text(), "old text") {
		t.Errorf("edit history = %q", e.Text())
	}
	// In "all" mode nothing is highlighted.
	f.setMode(t, models.WorkbenchAll)
	doc = agent.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK).doc(t)
	if doc.Find("#wb-messages mark").Length() != 0 {
		t.Error("keywords highlighted outside keyword mode")
	}
}

// TestWorkbenchHostileMessagesInert renders hostile Telegram input in the
// page and checks the parsed DOM of the message log.
func TestWorkbenchHostileMessagesInert(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.setMode(t, models.WorkbenchKeyword, "img", "script")
	c := f.conv(t, 7, `"><script>alert('title')</script>`)
	hostile := []struct{ text, entities, media, from string }{
		{`<script>alert(1)</script>`, "", "", `<img src=x onerror=alert(2)>`},
		{`"><img src=x onerror=alert(1)>`, `[{"type":"italic","offset":0,"length":30}]`, "", ""},
		{`click here`, `[{"type":"text_link","offset":0,"length":5,"url":"javascript:alert(document.cookie)"}]`, "", ""},
		{`😀😀 boom <b>`, `[{"type":"bold","offset":1,"length":5},{"type":"code","offset":3,"length":400},{"type":"text_link","offset":0,"length":2,"url":"JAVASCRIPT:x"}]`, "", ""},
		{"line1\rid: 999999\revent: list\ndata: <script>x</script>", "", "", ""},
		{"", "", `{"file_name":"<script>x</script>.pdf","mime_type":"\"><img onerror=alert(3)>"}`, ""},
	}
	for _, h := range hostile {
		f.msg(t, c, h.text, func(m *models.Message) {
			m.Entities, m.Media = h.entities, h.media
			if h.media != "" {
				m.Type = "document"
			}
			if h.from != "" {
				m.FromName = h.from
			}
		})
	}
	agent := env.userClient(t, models.RoleAgent)
	page := agent.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK)
	assertInert(t, page.doc(t).Find("#wb"))
	if !strings.Contains(page.doc(t).Find("#wb-messages").Text(), "<script>alert(1)</script>") {
		t.Error("the hostile text is not shown as text")
	}

	// The same messages through the live stream: no forged fields (a CR in
	// the text must not start an "id:" or "event:" line), inert bubbles.
	sse := openSSE(t, agent, fmt.Sprintf("/workbench/events?cid=%d&after=0", c.ID), "")
	var all []sseEvent
	for {
		ev := sse.next(t)
		if ev.ID == "999999" || (ev.Name != "msg" && ev.Name != "list" && ev.Name != "status") {
			t.Fatalf("hostile text forged an SSE field: %+v", ev)
		}
		if ev.Name == "list" {
			break
		}
		all = append(all, ev)
	}
	if len(all) != len(hostile) {
		t.Fatalf("%d msg events, want %d", len(all), len(hostile))
	}
	for _, ev := range all {
		d, err := goquery.NewDocumentFromReader(strings.NewReader("<div id=root>" + ev.Data + "</div>"))
		if err != nil {
			t.Fatal(err)
		}
		assertInert(t, d.Find("#root"))
	}
}

// assertInert fails on any script, event handler attribute or link outside
// http/https/tg inside sel.
func assertInert(t *testing.T, sel *goquery.Selection) {
	t.Helper()
	if n := sel.Find("script, img, iframe, object, embed").Length(); n > 0 {
		h, _ := sel.Html()
		t.Errorf("%d active elements in:\n%s", n, truncateForLog(h, 2000))
	}
	sel.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("event handler attribute %s=%q", a.Key, a.Val)
			}
			if a.Key == "href" {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "tg://") {
					t.Errorf("unsafe href %q", a.Val)
				}
			}
		}
	})
}

// TestWorkbenchListNeverStale: the rendered list is shared between
// requests until the next commit (store.Cached); every kind of change must
// still show on the very next load, for every viewer, with the right row
// marked as the open one.
func TestWorkbenchListNeverStale(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Gamma")
	old := f.conv(t, 1, "Older chat")
	agent1 := env.userClient(t, models.RoleAgent)
	agent2 := env.userClient(t, models.RoleAgent)
	first := func(c *testClient, path string) []string {
		t.Helper()
		return convItemIDs(c.get(path).wantStatus(t, http.StatusOK).doc(t))
	}
	oldID := strconv.FormatInt(old.ID, 10)
	for range 2 { // the second load of each is served from the cache
		if ids := first(agent1, "/workbench"); len(ids) != 1 || ids[0] != oldID {
			t.Fatalf("agent1 before: %v", ids)
		}
		if ids := first(agent2, "/workbench"); len(ids) != 1 || ids[0] != oldID {
			t.Fatalf("agent2 before: %v", ids)
		}
	}

	// A new chat written by another connection, as the ingest would.
	fresh := f.conv(t, 2, "Fresh chat")
	f.msg(t, fresh, "brand new question")
	freshID := strconv.FormatInt(fresh.ID, 10)
	for _, c := range []*testClient{agent1, agent2} {
		page := c.get("/workbench").wantStatus(t, http.StatusOK)
		if ids := convItemIDs(page.doc(t)); len(ids) != 2 || ids[0] != freshID {
			t.Fatalf("after a new message: %v", ids)
		}
		if !strings.Contains(page.Body, "brand new question") {
			t.Fatal("the list preview is not the newest message")
		}
	}

	// The same list with a conversation open marks that row, not the
	// row of a cached render for another conversation.
	for _, conv := range []string{oldID, freshID} {
		doc := agent1.get("/workbench/c/"+conv).wantStatus(t, http.StatusOK).doc(t)
		cur, _ := doc.Find(`[data-testid="conv-item"][aria-current="true"]`).Attr("data-conv-id")
		if cur != conv {
			t.Fatalf("open %s: aria-current on %q", conv, cur)
		}
	}

	// Resolving through the console (the store's own writer) drops the
	// chat from the default (open) list at once.
	resolve := agent2.postForm("/workbench/c/"+freshID+"/resolve", nil)
	if resolve.Status >= 400 {
		t.Fatalf("resolve: %d", resolve.Status)
	}
	if ids := first(agent1, "/workbench"); len(ids) != 1 || ids[0] != oldID {
		t.Fatalf("after resolve: %v", ids)
	}
}
