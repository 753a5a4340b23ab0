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

// signIn creates a user with the CLI and signs it in on in like a
// browser, returning the browser.
func signIn(t *testing.T, bin string, env []string, in *haInstance, email, role string) *http.Client {
	t.Helper()
	const password = "a long enough password"
	cmd := exec.Command(bin, "user", "add", "--email", email, "--role", role)
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
	hc := signIn(t, bin, env, viewer, "agent@example.test", "agent")
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

// csrfOf is the browser's CSRF cookie for in (sent back as csrf_token).
func csrfOf(hc *http.Client, in *haInstance) string {
	u, _ := url.Parse(in.base)
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == "bd_csrf" {
			return c.Value
		}
	}
	return ""
}

// haCluster is what checkChangesReachTheOwner needs of the running test.
type haCluster struct {
	bin     string
	env     []string
	tg      *telegramtest.Server
	api     func(in *haInstance, method, path string, body any) (int, []byte, error)
	waitFor func(what string, bound time.Duration, cond func() bool) time.Duration
	count   func(q string) int64
}

// checkChangesReachTheOwner takes Switch to polling, Update Token and
// Delete for a bot through the instance that does NOT own it, and checks
// each takes effect on the owner: it restarts the poller (polling again,
// with the new token), and after Delete stops polling the bot.
func checkChangesReachTheOwner(t *testing.T, c haCluster, owner, other *haInstance, bot int64, channelID, token string, ownerOf func() string) {
	t.Helper()
	stored := func(text string) func() bool {
		return func() bool {
			return c.count(fmt.Sprintf("SELECT COUNT(*) FROM messages WHERE channel_id = '%s' AND text = '%s'", channelID, text)) == 1
		}
	}
	state := func(want string) func() bool {
		return func() bool {
			return c.count(fmt.Sprintf("SELECT COUNT(*) FROM bots WHERE telegram_id = %d AND state = '%s'", bot, want)) == 1
		}
	}
	if o := ownerOf(); o != owner.id {
		t.Fatalf("bot %d is owned by %q, want %s", bot, o, owner.id)
	}
	customer := telego.User{ID: 3001, FirstName: "Owner"}

	// Switch to polling: a webhook set elsewhere stops the owner's poller
	// (conflict); the switch, taken by the other instance, deletes it there
	// and the owner polls again.
	c.tg.SetWebhook(bot, "https://hooks.example.test/elsewhere")
	c.waitFor("the owner to see the webhook", 20*time.Second, state("conflict"))
	admin := signIn(t, c.bin, c.env, other, "ops-admin@example.test", "admin")
	resp, err := admin.PostForm(other.base+"/channels/"+channelID+"/bot/switch-polling", url.Values{"csrf_token": {csrfOf(admin, other)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch to polling on %s: %d", other.id, resp.StatusCode)
	}
	c.tg.Inject(bot, telegramtest.PrivateText(customer, "after the switch"))
	c.waitFor("the owner to poll again after the switch", 20*time.Second, stored("after the switch"))
	c.waitFor("the bot to show polling", 20*time.Second, state("polling"))

	// Update Token on the other instance; the old token is then revoked,
	// so only a poller restarted with the new one stores the next message.
	fresh := c.tg.IssueToken(bot)
	if st, b, err := c.api(other, http.MethodPost, "/api/v1/channels/"+channelID+"/bot/token", map[string]string{"token": fresh}); err != nil || st != http.StatusOK {
		t.Fatalf("update token on %s: %d %s %v", other.id, st, b, err)
	}
	c.tg.RevokeToken(token)
	c.tg.Inject(bot, telegramtest.PrivateText(customer, "after the new token"))
	c.waitFor("the owner to poll with the new token", 20*time.Second, stored("after the new token"))
	if !state("polling")() {
		t.Errorf("bot %d is not polling after Update Token on the other instance", bot)
	}
	if o := ownerOf(); o != owner.id {
		t.Fatalf("bot %d moved to %q during the check", bot, o)
	}

	// Delete on the other instance: the owner stops polling the bot.
	if st, b, err := c.api(other, http.MethodDelete, "/api/v1/channels/"+channelID+"/bot", nil); err != nil || st != http.StatusOK && st != http.StatusNoContent {
		t.Fatalf("delete on %s: %d %s %v", other.id, st, b, err)
	}
	c.waitFor("the deleted bot's lease to go", 20*time.Second, func() bool {
		return c.count(fmt.Sprintf("SELECT COUNT(*) FROM bot_leases WHERE bot_telegram_id = %d", bot)) == 0
	})
	// Quiet for three long polls (1 s each) in a row: nobody polls it.
	last, quiet := c.tg.BotCalls(bot, "getUpdates"), time.Now()
	c.waitFor("the owner to stop polling the deleted bot", 30*time.Second, func() bool {
		if n := c.tg.BotCalls(bot, "getUpdates"); n != last {
			last, quiet = n, time.Now()
		}
		return time.Since(quiet) > 3*time.Second
	})
}
