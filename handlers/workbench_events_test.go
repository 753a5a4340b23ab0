package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// streamURL is the sse-connect URL the page itself asks the browser to use.
func streamURL(t *testing.T, doc *goquery.Document) string {
	t.Helper()
	u, ok := doc.Find(`#wb[sse-connect]`).Attr("sse-connect")
	if !ok {
		t.Fatal("no #wb[sse-connect] on the page")
	}
	return u
}

// msgEventIDs are the message ids of events (the part of the id before
// the list position).
func msgEventIDs(evs []sseEvent) []string {
	var ids []string
	for _, ev := range evs {
		ids = append(ids, msgPart(ev.ID))
	}
	return ids
}

func msgPart(id string) string {
	m, _, _ := strings.Cut(id, "-")
	return m
}

func isMsg(id int64) func(sseEvent) bool {
	want := fmt.Sprint(id)
	return func(ev sseEvent) bool { return ev.Name == "msg" && msgPart(ev.ID) == want }
}

func TestWorkbenchStreamLiveAndResume(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	c := f.conv(t, 7, "Ann")
	other := f.conv(t, 8, "Bob")
	shown := f.msg(t, c, "already on the page")
	agent := env.userClient(t, models.RoleAgent)
	doc := agent.get(fmt.Sprintf("/workbench/c/%d", c.ID)).wantStatus(t, http.StatusOK).doc(t)
	if doc.Find(fmt.Sprintf("#msg-%d", shown.ID)).Length() != 1 {
		t.Fatal("page lacks the existing message")
	}
	u := streamURL(t, doc)
	if !strings.Contains(u, fmt.Sprintf("cid=%d", c.ID)) || !strings.Contains(u, fmt.Sprintf("after=%d-", shown.ID)) {
		t.Fatalf("stream URL %q does not resume after the rendered history", u)
	}

	sse := openSSE(t, agent, u, "")
	if sse.Status != http.StatusOK || !strings.HasPrefix(sse.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answered %d %q", sse.Status, sse.Header.Get("Content-Type"))
	}
	waitStreams(t, env, 1)

	// New messages, interleaved with another chat's, arrive in order.
	var want []string
	for i := 0; i < 5; i++ {
		m := f.msg(t, c, fmt.Sprintf("live %d", i))
		want = append(want, fmt.Sprint(m.ID))
		f.msg(t, other, "elsewhere")
	}
	last := f.msg(t, c, "live last")
	want = append(want, fmt.Sprint(last.ID))
	// The bubbles (msg) and the list rows (rows) are fed by two pumps, so
	// their events interleave in any order; the list's rows may batch
	// Bob's row with Ann's. Wait for the last bubble and for Ann's row at
	// the top with no unread (the agent is watching), after Bob's last
	// change, then look at what came.
	rowOf := func(ev sseEvent, id int64) *goquery.Selection {
		return rowsDoc(t, ev).Find(fmt.Sprintf("li#wb-row-%d", id))
	}
	unread := func(row *goquery.Selection) string {
		n, _ := row.Find(`[data-testid="conv-unread"]`).Attr("aria-label")
		return n
	}
	var ev, rowsEv sseEvent
	var msgs []sseEvent
	sse.waitHistory(t, func(h []sseEvent) bool {
		msgs, ev, rowsEv = nil, sseEvent{}, sseEvent{}
		bobDone := false
		for _, e := range h {
			if e.Name == "msg" {
				msgs = append(msgs, e)
				if isMsg(last.ID)(e) {
					ev = e
				}
			}
			if e.Name != "rows" {
				continue
			}
			bobDone = bobDone || unread(rowOf(e, other.ID)) == "5 unread"
			if ann := rowOf(e, c.ID); bobDone && strings.Contains(ann.Text(), "live last") && ann.Length() == 1 && unread(ann) == "" {
				rowsEv = e
			}
		}
		return ev.Name != "" && rowsEv.Name != ""
	})
	// Nothing already on the page is sent again.
	if got := msgEventIDs(msgs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("msg events %v, want %v", got, want)
	}
	d, _ := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	if d.Find(fmt.Sprintf(`#msg-%d.msg-in`, last.ID)).Length() != 1 || !strings.Contains(d.Text(), "live last") {
		t.Errorf("msg event data is not the bubble: %s", ev.Data)
	}
	row := rowIn(t, rowsEv, c.ID)
	if after, _ := row.Attr("data-wb-after"); after != "0" {
		t.Errorf("the conversation with the newest message goes below %q, want the top (0)", after)
	}
	if f.convRow(t, c.ID).Unread != 0 {
		t.Error("messages streamed to a watching agent still count as unread")
	}
	// Bob's last change is out; a change of Ann's alone re-sends only hers.
	only := f.msg(t, c, "only Ann")
	seenBefore := len(sse.history)
	var onlyRows []sseEvent
	sse.waitHistory(t, func(h []sseEvent) bool {
		sawMsg := false
		onlyRows = nil
		for _, e := range h[seenBefore:] {
			sawMsg = sawMsg || isMsg(only.ID)(e)
			if e.Name == "rows" && strings.Contains(rowOf(e, c.ID).Text(), "only Ann") {
				onlyRows = append(onlyRows, e)
			}
		}
		return sawMsg && len(onlyRows) > 0
	})
	for _, e := range onlyRows {
		if rowOf(e, other.ID).Length() != 0 {
			t.Errorf("a rows event re-sends a row nothing changed: %s", e.Data)
		}
	}
	sse.close()

	// Reconnect as EventSource does, with Last-Event-ID: only newer messages.
	missed1 := f.msg(t, c, "while away 1")
	missed2 := f.msg(t, c, "while away 2")
	re := openSSE(t, agent, u, lastID(t, sse))
	_, msgs = re.until(t, "msg", isMsg(missed2.ID))
	if got := msgEventIDs(msgs); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprint(missed1.ID), fmt.Sprint(missed2.ID)}) {
		t.Fatalf("after reconnect got %v, want exactly [%d %d]", got, missed1.ID, missed2.ID)
	}
	// And a later one still arrives once.
	after := f.msg(t, c, "after reconnect")
	_, msgs = re.until(t, "msg", isMsg(after.ID))
	if len(msgs) != 1 {
		t.Errorf("duplicate or extra msg events: %v", msgEventIDs(msgs))
	}
}

func TestWorkbenchListStreamFollowsFilter(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	g := newWBFixture(t, env, "Sales")
	a := f.conv(t, 1, "Ann")
	other := g.conv(t, 2, "Other channel")
	agent := env.userClient(t, models.RoleAgent)
	doc := agent.get("/workbench?channel="+f.ch.ID).wantStatus(t, http.StatusOK).doc(t)
	sse := openSSE(t, agent, streamURL(t, doc), "")
	waitStreams(t, env, 1)

	g.clock = f.clock.Add(time.Hour)
	g.msg(t, other, "not for this list")
	f.clock = g.clock
	m := f.msg(t, a, "unread one")
	ev, _ := sse.until(t, "rows", func(ev sseEvent) bool { return ev.Name == "rows" && strings.Contains(ev.Data, "unread one") })
	if msgPart(ev.ID) != "0" || !strings.Contains(ev.ID, "-") {
		t.Errorf("rows event id %q, want the list position after the (list-only) message cursor 0", ev.ID)
	}
	if strings.Contains(ev.Data, "Other channel") {
		t.Error("the channel filter is lost in live updates")
	}
	row := rowIn(t, ev, a.ID)
	if got := row.Find(`[data-testid="conv-unread"]`).Text(); got != "1" {
		t.Errorf("live unread badge = %q, want 1", got)
	}
	if href, _ := row.Find("a").Attr("href"); !strings.Contains(href, "channel="+f.ch.ID) {
		t.Errorf("live row link %q drops the list filter", href)
	}
	_ = m
	// Resolving removes it from the open list, live.
	if err := env.Store.SetConversationStatus(context.Background(), a.ID, store.ConversationResolved); err != nil {
		t.Fatal(err)
	}
	ev, _ = sse.until(t, "rows", func(ev sseEvent) bool { return ev.Name == "rows" })
	d := rowsDoc(t, ev)
	if d.Find(fmt.Sprintf(`li#wb-row-%d[data-wb-remove][hx-swap-oob]`, a.ID)).Length() != 1 || d.Find("a").Length() != 0 {
		t.Errorf("resolving under the Open filter does not take the row out: %s", ev.Data)
	}
}

func TestWorkbenchReplyStatusStreamed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 777)
	c := f.conv(t, 7, "Ann")
	f.msg(t, c, "hello?")
	agent := env.userClient(t, models.RoleAgent)
	base := fmt.Sprintf("/workbench/c/%d", c.ID)
	doc := agent.get(base).wantStatus(t, http.StatusOK).doc(t)
	sse := openSSE(t, agent, streamURL(t, doc), "")
	waitStreams(t, env, 1)

	r := agent.htmx(http.MethodPost, base+"/reply", url.Values{"text": {"On it <b>now</b>"}}).wantStatus(t, http.StatusOK)
	if got := r.doc(t).Find("textarea").Text(); got != "" {
		t.Errorf("reply box not cleared after send: %q", got)
	}
	msgs, err := env.Store.ChannelMessagesAfter(context.Background(), f.ch.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := msgs[len(msgs)-1]
	if out.Direction != "out" || out.Status != "pending" || out.ChatID != c.ChatID || out.SentBy == nil || out.Text != "On it <b>now</b>" {
		t.Fatalf("stored reply = %+v", out)
	}
	ev, _ := sse.until(t, "msg", isMsg(out.ID))
	d, _ := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	if got := d.Find(`[data-testid="msg-status"]`).Text(); got != "Sending…" || d.Find(".msg-out").Length() != 1 {
		t.Errorf("pending bubble status %q in %s", got, ev.Data)
	}
	if d.Find("b").Length() != 0 {
		t.Error("reply text rendered as HTML")
	}
	if row := f.convRow(t, c.ID); row.LastMessageText != "On it <b>now</b>" {
		t.Errorf("list preview after reply = %q", row.LastMessageText)
	}

	// The sender records the outcome and publishes a status change.
	finish := func(id int64, o store.SendOutcome) {
		t.Helper()
		if _, err := env.Store.FinishOutgoing(context.Background(), id, o); err != nil {
			t.Fatal(err)
		}
		env.Store.Hub().Publish(store.Change{Kind: "status", ChannelID: f.ch.ID, MessageID: id})
	}
	finish(out.ID, store.SendOutcome{Sent: true, TelegramMessageID: 99})
	ev, _ = sse.until(t, "status", func(ev sseEvent) bool { return ev.Name == "status" && strings.Contains(ev.Data, "Sent") })
	d, _ = goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	bubble := d.Find(fmt.Sprintf("#msg-%d", out.ID))
	if oob, _ := bubble.Attr("hx-swap-oob"); oob != "true" {
		t.Errorf("status update is not an out-of-band swap of the bubble: %s", ev.Data)
	}
	if ev.ID != "" {
		t.Errorf("status event carries id %q; it must not move the resume cursor", ev.ID)
	}

	// A failed send shows its reason.
	r = agent.htmx(http.MethodPost, base+"/reply", url.Values{"text": {"second"}}).wantStatus(t, http.StatusOK)
	msgs, _ = env.Store.ChannelMessagesAfter(context.Background(), f.ch.ID, out.ID, 100)
	second := msgs[0]
	sse.until(t, "msg", isMsg(second.ID))
	finish(second.ID, store.SendOutcome{ErrorCode: 403, ErrorDescription: "Forbidden: bot was blocked by the user"})
	ev, _ = sse.until(t, "status", func(ev sseEvent) bool { return ev.Name == "status" && strings.Contains(ev.Data, "blocked") })
	d, _ = goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	if d.Find(fmt.Sprintf("#msg-%d.msg-failed", second.ID)).Length() != 1 ||
		!strings.Contains(d.Find(`[data-testid="msg-status"]`).Text(), "Failed: Forbidden: bot was blocked by the user") {
		t.Errorf("failed bubble: %s", ev.Data)
	}

	// A page rendered while the reply was pending catches the outcome on
	// connect, even though the status change happened before it connected.
	agent.postForm(base+"/reply", url.Values{"text": {"third"}}).wantStatus(t, http.StatusSeeOther)
	msgs, _ = env.Store.ChannelMessagesAfter(context.Background(), f.ch.ID, second.ID, 100)
	third := msgs[0]
	doc = agent.get(base).wantStatus(t, http.StatusOK).doc(t)
	if got := doc.Find(fmt.Sprintf(`#msg-%d [data-testid="msg-status"]`, third.ID)).Text(); got != "Sending…" {
		t.Fatalf("third reply on page: %q", got)
	}
	finish(third.ID, store.SendOutcome{Sent: true, TelegramMessageID: 100})
	late := openSSE(t, agent, streamURL(t, doc), "")
	late.until(t, "status", func(ev sseEvent) bool {
		return ev.Name == "status" && strings.Contains(ev.Data, fmt.Sprintf(`id="msg-%d"`, third.ID)) && strings.Contains(ev.Data, "Sent")
	})
}

func TestWorkbenchStreamEnds(t *testing.T) {
	t.Parallel()
	shutdown := make(chan struct{})
	env := newTestEnvWith(t, func(d *Deps) { d.Options.Shutdown = shutdown })
	f := newWBFixture(t, env, "Support")
	c := f.conv(t, 7, "Ann")
	agent := env.userClient(t, models.RoleAgent)

	// Client goes away: the handler returns and unsubscribes.
	gone := openSSE(t, agent, fmt.Sprintf("/workbench/c/%d/events", c.ID), "")
	gone.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })
	gone.close()
	f.msg(t, c, "wake the handler") // a write to a closed connection fails fast too
	// What remains on the hub is the list broker's one subscription.
	waitFor(t, "stream to unsubscribe after the client left", func() bool {
		return env.Srv.live.Streams() == 0 && env.Store.Hub().Subscribers() == 1
	})

	// Server shuts down: open streams end so http.Server.Shutdown can finish,
	// and so does the broker.
	s1 := openSSE(t, agent, "/workbench/events", "")
	s1.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })
	close(shutdown)
	if !s1.ended(t) {
		t.Fatal("stream still open after shutdown")
	}
	waitFor(t, "no subscribers after shutdown", func() bool { return env.Store.Hub().Subscribers() == 0 })
}

// waitStreams waits until n streams are subscribed to the list broker:
// from then on every change reaches them.
func waitStreams(t *testing.T, env *testEnv, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d live streams", n), func() bool { return env.Srv.live.Streams() == n })
}

// waitFor polls cond; the bound only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// rowsDoc parses a rows (or list) event's HTML.
func rowsDoc(t *testing.T, ev sseEvent) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader("<ul>" + ev.Data + "</ul>"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rowIn is conversation id's live row in a rows event: an out-of-band
// swap of the wb-rows kind.
func rowIn(t *testing.T, ev sseEvent, id int64) *goquery.Selection {
	t.Helper()
	row := rowsDoc(t, ev).Find(fmt.Sprintf("li#wb-row-%d", id))
	if row.Length() != 1 {
		t.Fatalf("no row of conversation %d in %s event: %s", id, ev.Name, ev.Data)
	}
	if oob, _ := row.Attr("hx-swap-oob"); oob != "wbRow:#wb-list-items" {
		t.Fatalf("row %d is not a wbRow out-of-band swap: %q", id, oob)
	}
	return row
}

// lastID is the id of the last event with one that s delivered so far,
// what EventSource would send as Last-Event-ID.
func lastID(t *testing.T, s *sseStream) string {
	t.Helper()
	if s.lastID == "" {
		t.Fatal("no event with an id seen")
	}
	return s.lastID
}
