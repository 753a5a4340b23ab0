package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// sseEvent is one event of a text/event-stream.
type sseEvent struct{ name, data string }

// sseStream reads a stream's events into a channel until it ends.
type sseStream struct {
	events chan sseEvent
	close  func()
}

// openSSE opens path on base with hc's cookies and returns once the
// server said it is connected.
func openSSE(t *testing.T, hc *http.Client, base, path string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("SSE %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{events: make(chan sseEvent, 256), close: func() { resp.Body.Close() }}
	t.Cleanup(s.close)
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("SSE %s ended before it was connected: %v", path, err)
		}
		if strings.HasPrefix(line, ": connected") {
			break
		}
	}
	go func() {
		defer close(s.events)
		var ev sseEvent
		var data []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.name != "" {
					ev.data = strings.Join(data, "\n")
					s.events <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return s
}

// waitEvent waits for an event called name whose data contains text. The
// bound only stops a failing test.
func (s *sseStream) waitEvent(t *testing.T, name, text string) {
	t.Helper()
	var seen []string
	bound := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended before a %q event with %q; saw %v", name, text, seen)
			}
			if ev.name == name && strings.Contains(ev.data, text) {
				return
			}
			seen = append(seen, ev.name)
		case <-bound:
			t.Fatalf("no %q event with %q within 20s; saw %v", name, text, seen)
		}
	}
}

// signIn creates an agent with the CLI and signs it in on in like a
// browser, returning the browser.
func signIn(t *testing.T, bin string, env []string, in *haInstance, email string) *http.Client {
	t.Helper()
	const password = "a long enough password"
	cmd := exec.Command(bin, "user", "add", "--email", email, "--role", "agent")
	cmd.Env = cleanEnv(env)
	cmd.Stdin = strings.NewReader(password + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("user add: %v %s", err, out.String())
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(in.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(in.base)
	csrf := ""
	for _, c := range jar.Cookies(u) {
		if c.Name == "bd_csrf" {
			csrf = c.Value
		}
	}
	resp, err = hc.PostForm(in.base+"/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on %s: %d", in.id, resp.StatusCode)
	}
	return hc
}

// checkStreamsAcrossInstances: an agent signed in on the instance that
// does NOT poll the bot sees, live, the messages the owner stored: the
// new conversation in the list stream, and the next message in the
// conversation's stream (the change feed, store/feed.go). It returns the
// number of updates it injected.
func checkStreamsAcrossInstances(t *testing.T, bin string, env []string, tg *telegramtest.Server, db *sql.DB,
	poller, viewer *haInstance, bot int64, channelID string, ownerOf func() string) (injected int) {
	t.Helper()
	hc := signIn(t, bin, env, viewer, "agent@example.test")
	list := openSSE(t, hc, viewer.base, "/workbench/events")

	const customer = 2001
	tg.Inject(bot, telegramtest.PrivateText(telego.User{ID: customer, FirstName: "Feed"}, "first, polled elsewhere"))
	list.waitEvent(t, "rows", "first, polled elsewhere")

	var cid int64
	if err := db.QueryRow("SELECT id FROM conversations WHERE channel_id = $1 AND chat_id = $2", channelID, customer).Scan(&cid); err != nil {
		t.Fatal(err)
	}
	conv := openSSE(t, hc, viewer.base, fmt.Sprintf("/workbench/c/%d/events", cid))
	conv.waitEvent(t, "msg", "first, polled elsewhere") // the catch-up on connect
	tg.Inject(bot, telegramtest.PrivateText(telego.User{ID: customer, FirstName: "Feed"}, "second, live"))
	conv.waitEvent(t, "msg", "second, live")
	list.waitEvent(t, "rows", "second, live")
	if o := ownerOf(); o != poller.id {
		t.Fatalf("the bot moved to %q during the check; it must stay with %s for the check to mean anything", o, poller.id)
	}
	list.close()
	conv.close()
	return 2
}
