package handlers

// The live list of the workbench stream: per-conversation "rows" events
// (package live), shared between viewers, placed by the filter's order;
// resume with Last-Event-ID; a stream that cannot keep up is closed.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

func TestWorkbenchRowsMoveAndAreShared(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	g := newWBFixture(t, env, "Sales")
	ann := f.conv(t, 1, "Ann")
	bob := f.conv(t, 2, "Bob")
	cat := f.conv(t, 3, "Cat")
	other := g.conv(t, 4, "Dan")
	agent := env.userClient(t, models.RoleAgent)
	agent2 := env.userClient(t, models.RoleAgent)
	admin := env.userClient(t, models.RoleAdmin)
	s1 := openSSE(t, agent, streamURL(t, agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)), "")
	s2 := openSSE(t, agent2, streamURL(t, agent2.get("/workbench").wantStatus(t, http.StatusOK).doc(t)), "")
	sAll := openSSE(t, admin, streamURL(t, admin.get("/workbench?status=all&channel="+f.ch.ID).wantStatus(t, http.StatusOK).doc(t)), "")
	waitStreams(t, env, 3)

	// An arrival in the oldest conversation moves it to the top; the
	// update is the same bytes for both agents with the same list.
	f.msg(t, ann, "ann again")
	e1, _ := s1.until(t, "rows", isRows)
	e2, _ := s2.until(t, "rows", isRows)
	if e1.Data != e2.Data {
		t.Errorf("two agents with the same list got different updates:\n%s\n%s", e1.Data, e2.Data)
	}
	if after, _ := rowIn(t, e1, ann.ID).Attr("data-wb-after"); after != "0" {
		t.Errorf("Ann placed below %q, want the top", after)
	}
	for _, id := range []int64{bob.ID, cat.ID, other.ID} {
		if strings.Contains(e1.Data, fmt.Sprintf("wb-row-%d", id)) {
			t.Errorf("the update re-sends conversation %d, which did not change: %s", id, e1.Data)
		}
	}
	if ae, _ := sAll.until(t, "rows", isRows); !strings.Contains(ae.Data, "ann again") {
		t.Errorf("the channel's All list misses the arrival: %s", ae.Data)
	}
	// Idle streams on plain HTTP/1.1 get their updates from the broker
	// itself (handlers/sse_direct.go), not through their goroutines.
	if env.Srv.live.DirectWrites() == 0 {
		t.Error("no list update was written directly by the broker")
	}

	// Assigning Bob changes his row where it is: below Cat, the next newer.
	if err := env.Store.AssignConversation(context.Background(), bob.ID, &env.user(t, models.RoleAgent).ID); err != nil {
		t.Fatal(err)
	}
	e1, _ = s1.until(t, "rows", isRows)
	row := rowIn(t, e1, bob.ID)
	if after, _ := row.Attr("data-wb-after"); after != fmt.Sprint(cat.ID) {
		t.Errorf("Bob placed below %q, want Cat (%d): his place did not change", after, cat.ID)
	}
	if row.Find(`[data-testid="conv-assignee"]`).Length() != 1 {
		t.Errorf("the assignment is not in the row: %s", e1.Data)
	}

	// Resolving Cat takes it out of the Open lists but places it in the
	// "All" list, below Ann.
	if err := env.Store.SetConversationStatus(context.Background(), cat.ID, store.ConversationResolved); err != nil {
		t.Fatal(err)
	}
	e1, _ = s1.until(t, "rows", isRows)
	if rowsDoc(t, e1).Find(fmt.Sprintf("li#wb-row-%d[data-wb-remove]", cat.ID)).Length() != 1 {
		t.Errorf("resolved Cat still in the Open list: %s", e1.Data)
	}
	ae, _ := sAll.until(t, "rows", func(ev sseEvent) bool {
		return isRows(ev) && strings.Contains(ev.Data, fmt.Sprintf("wb-row-%d", cat.ID))
	})
	row = rowIn(t, ae, cat.ID)
	if after, _ := row.Attr("data-wb-after"); after != fmt.Sprint(ann.ID) || !strings.Contains(row.Text(), "Resolved") {
		t.Errorf("resolved Cat in the All list: below %q, want Ann (%d), marked Resolved: %s", after, ann.ID, ae.Data)
	}

	// Another channel's arrival never reaches the Support-only list.
	g.clock = f.clock
	g.msg(t, other, "sales only")
	f.msg(t, bob, "bob again")
	ae, _ = sAll.until(t, "rows", func(ev sseEvent) bool { return isRows(ev) && strings.Contains(ev.Data, "bob again") })
	if strings.Contains(ae.Data, "sales only") {
		t.Errorf("another channel's conversation in a channel-filtered list: %s", ae.Data)
	}
}

func isRows(ev sseEvent) bool { return ev.Name == "rows" }

func TestWorkbenchStreamResumesList(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	ann := f.conv(t, 1, "Ann")
	bob := f.conv(t, 2, "Bob")
	agent := env.userClient(t, models.RoleAgent)
	u := streamURL(t, agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t))
	first := openSSE(t, agent, u, "")
	waitStreams(t, env, 1)
	f.msg(t, ann, "one")
	first.until(t, "rows", isRows)
	last := lastID(t, first)
	first.close()
	waitStreams(t, env, 0)

	// Away: Bob changes. The reconnect with Last-Event-ID gets exactly
	// his row, not a fresh page (which would drop rows loaded with "Load
	// more").
	f.msg(t, bob, "while away")
	re := openSSE(t, agent, u, last)
	ev := re.next(t)
	if ev.Name != "rows" || !strings.Contains(ev.Data, "while away") || strings.Contains(ev.Data, fmt.Sprintf("wb-row-%d", ann.ID)) {
		t.Fatalf("resume sent %s %q, want the rows event of Bob only", ev.Name, ev.Data)
	}
	last = lastID(t, re)
	re.close()
	waitStreams(t, env, 0)

	// Nothing changed: the resume sends nothing; the next event is the
	// next change.
	same := openSSE(t, agent, u, last)
	waitStreams(t, env, 1)
	f.msg(t, ann, "next")
	if ev := same.next(t); ev.Name != "rows" || !strings.Contains(ev.Data, "next") {
		t.Fatalf("first event after an up-to-date resume: %s %q", ev.Name, ev.Data)
	}
	same.close()

	// A position this server never gave (a restart, another instance):
	// a fresh first page.
	for _, id := range []string{"0-otherepoch.3", "0"} {
		t.Run(id, func(t *testing.T) {
			s := openSSE(t, agent, u, id)
			if ev := s.next(t); ev.Name != "list" || !strings.Contains(ev.Data, "Ann") || !strings.Contains(ev.Data, "Bob") {
				t.Fatalf("resume from %q sent %s %q, want a fresh list", id, ev.Name, ev.Data)
			}
		})
	}
}

// TestWorkbenchSlowStreamClosed: a client that stops reading fills its
// socket, then its bounded queue; the broker drops it and the stream ends
// with "reload", while a reading stream keeps getting every update.
func TestWorkbenchSlowStreamClosed(t *testing.T) {
	t.Parallel()
	env := newTestEnvWith(t, func(d *Deps) { d.Options.SSEBuffer = 2 })
	f := newWBFixture(t, env, "Support")
	// A long title makes every row event a few kB: the socket fills soon.
	c := f.conv(t, 1, strings.Repeat("Long title ", 400))
	agent := env.userClient(t, models.RoleAgent)
	u := streamURL(t, agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t))
	good := openSSE(t, agent, u, "")

	// The slow client: a raw connection with a tiny receive buffer that
	// reads nothing until the end.
	base, _ := url.Parse(env.URL)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", base.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodGet, env.URL+u, nil)
	for _, ck := range agent.HTTP.Jar.Cookies(base) {
		req.AddCookie(ck)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	waitStreams(t, env, 2)

	// One update at a time until the broker gives up on the slow stream;
	// the bound turns a stream that is never dropped into a failure.
	for updates := 0; env.Srv.live.Dropped() == 0; updates++ {
		if updates == 20000 {
			t.Fatal("the slow stream was never dropped")
		}
		env.Store.Hub().Publish(store.Change{Kind: "conversation", ChannelID: c.ChannelID, ConversationID: c.ID})
		// The reading stream gets every update (and so is never behind).
		good.until(t, "rows", isRows)
	}
	waitStreams(t, env, 1)
	// It is still live.
	f.msg(t, c, "still here")
	good.until(t, "rows", func(ev sseEvent) bool { return isRows(ev) && strings.Contains(ev.Data, "still here") })

	// The slow one, read at last: its events end with reload, then EOF.
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	var lastEvent string
	var lastSeq uint64
	for {
		line, err := rd.ReadString('\n')
		if err == io.EOF {
			break // the server closed the stream
		}
		if err != nil {
			// A direct write's chunk left half-written, or written into
			// the middle of another, breaks the chunked body here.
			t.Fatalf("reading the slow stream: %v", err)
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "event: "); ok {
			lastEvent = name
		}
		// Updates written by the broker and by the stream's goroutine
		// arrive in the broker's order.
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
			_, pos, _ := parseStreamCursor(id)
			if pos.Seq <= lastSeq && pos.Seq != 0 {
				t.Fatalf("list position %d after %d: updates out of order", pos.Seq, lastSeq)
			}
			lastSeq = max(lastSeq, pos.Seq)
		}
	}
	if lastEvent != "reload" {
		t.Fatalf("the dropped stream's last event is %q, want reload", lastEvent)
	}
	// The socket filled while the broker wrote to it: the rest of a chunk
	// went through the stream's goroutine.
	if env.Srv.directPartials.Load() == 0 {
		t.Error("no direct write was cut short by the full socket: the slow path went untested")
	}
}
