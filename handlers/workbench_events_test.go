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
	u, ok := doc.Find(`#wb[hx-ext="sse"]`).Attr("sse-connect")
	if !ok {
		t.Fatal("no #wb[sse-connect] on the page")
	}
	return u
}

func msgEventIDs(evs []sseEvent) []string {
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

func isMsg(id int64) func(sseEvent) bool {
	want := fmt.Sprint(id)
	return func(ev sseEvent) bool { return ev.Name == "msg" && ev.ID == want }
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
	if !strings.Contains(u, fmt.Sprintf("cid=%d", c.ID)) || !strings.Contains(u, fmt.Sprintf("after=%d", shown.ID)) {
		t.Fatalf("stream URL %q does not resume after the rendered history", u)
	}

	sse := openSSE(t, agent, u, "")
	if sse.Status != http.StatusOK || !strings.HasPrefix(sse.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answered %d %q", sse.Status, sse.Header.Get("Content-Type"))
	}
	first, _ := sse.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" || ev.Name == "msg" })
	if first.Name != "list" {
		t.Fatalf("message already on the page sent again: %+v", first)
	}
	if env.Store.Hub().Subscribers() == 0 { // subscribed before the first event
		t.Fatal("stream is not subscribed to the hub")
	}

	// New messages, interleaved with another chat's, arrive in order.
	var want []string
	for i := 0; i < 5; i++ {
		m := f.msg(t, c, fmt.Sprintf("live %d", i))
		want = append(want, fmt.Sprint(m.ID))
		f.msg(t, other, "elsewhere")
	}
	last := f.msg(t, c, "live last")
	want = append(want, fmt.Sprint(last.ID))
	ev, msgs := sse.until(t, "msg", isMsg(last.ID))
	if got := msgEventIDs(msgs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("msg events %v, want %v", got, want)
	}
	d, _ := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	if d.Find(fmt.Sprintf(`#msg-%d.msg-in`, last.ID)).Length() != 1 || !strings.Contains(d.Text(), "live last") {
		t.Errorf("msg event data is not the bubble: %s", ev.Data)
	}
	// The list follows: Ann is on top, with no unread (the agent is watching).
	listEv, _ := sse.until(t, "list", func(ev sseEvent) bool {
		return ev.Name == "list" && strings.Contains(ev.Data, "live last")
	})
	ld, _ := goquery.NewDocumentFromReader(strings.NewReader("<ul>" + listEv.Data + "</ul>"))
	if top := ld.Find(`[data-testid="conv-item"]`).First().AttrOr("data-conv-id", ""); top != fmt.Sprint(c.ID) {
		t.Errorf("list top = %s, want the conversation with the newest message", top)
	}
	if f.convRow(t, c.ID).Unread != 0 {
		t.Error("messages streamed to a watching agent still count as unread")
	}
	sse.close()

	// Reconnect as EventSource does, with Last-Event-ID: only newer messages.
	missed1 := f.msg(t, c, "while away 1")
	missed2 := f.msg(t, c, "while away 2")
	re := openSSE(t, agent, u, fmt.Sprint(last.ID))
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
	sse.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })

	g.clock = f.clock.Add(time.Hour)
	g.msg(t, other, "not for this list")
	f.clock = g.clock
	m := f.msg(t, a, "unread one")
	ev, _ := sse.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" && strings.Contains(ev.Data, "unread one") })
	if ev.ID != fmt.Sprint(m.ID) {
		t.Errorf("list event id %q, want the newest message id %d", ev.ID, m.ID)
	}
	d, _ := goquery.NewDocumentFromReader(strings.NewReader("<ul>" + ev.Data + "</ul>"))
	if strings.Contains(ev.Data, "Other channel") {
		t.Error("the channel filter is lost in live updates")
	}
	if got := d.Find(`[data-testid="conv-unread"]`).Text(); got != "1" {
		t.Errorf("live unread badge = %q, want 1", got)
	}
	// Resolving removes it from the open list, live.
	if err := env.Store.SetConversationStatus(context.Background(), a.ID, store.ConversationResolved); err != nil {
		t.Fatal(err)
	}
	sse.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" && !strings.Contains(ev.Data, "Ann") })
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
	sse.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })

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
	waitFor(t, "stream to unsubscribe after the client left", func() bool { return env.Store.Hub().Subscribers() == 0 })

	// Server shuts down: open streams end so http.Server.Shutdown can finish.
	s1 := openSSE(t, agent, "/workbench/events", "")
	s1.until(t, "list", func(ev sseEvent) bool { return ev.Name == "list" })
	close(shutdown)
	if !s1.ended(t) {
		t.Fatal("stream still open after shutdown")
	}
	waitFor(t, "no subscribers after shutdown", func() bool { return env.Store.Hub().Subscribers() == 0 })
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
