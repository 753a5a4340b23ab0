package handlers

// Tests of the boundaries an attacker probes: links and redirects stay on
// their site, a stream ends with its session, one channel cannot act on
// another's events. Each one failed on the code before its fix.

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// A bot's username comes from getMe, i.e. from whatever answers at the
// configured Bot API base. A hostile name must not turn the bot panel's
// t.me link into a link to another host.
func TestBotUsernameLinkStaysOnTelegram(t *testing.T) {
	for i, tc := range []struct {
		username string
		wantLink bool
	}{
		{"acme_support_bot", true},
		{".evil.example/x", false}, // https://t.me.evil.example/x
		{":x@evil.example", false}, // https://t.me:x@evil.example
		{"x/../../y?z#w", false},   // path and query injection
		{`a"onmouseover=x`, false}, // attribute break-out (templ escapes it anyway)
		{"ab", false},              // too short to be a username
		{"javascript:alert(1)", false},
	} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			env := newBotEnv(t)
			ch := env.createChannel(t, "Support")
			tok := env.addBot(123456789, tc.username)
			env.connectAPI(t, ch, tok).wantStatus(t, http.StatusCreated)
			op := env.userClient(t, models.RoleOperator)
			doc := op.get("/channels/"+ch.ID+"/chatbot").wantStatus(t, http.StatusOK).doc(t)
			sel := doc.Find(`[data-testid="bot-username"]`)
			if sel.Length() != 1 {
				t.Fatalf("%d bot-username elements", sel.Length())
			}
			if got := sel.Text(); got != "@"+tc.username {
				t.Errorf("shown name %q, want %q", got, "@"+tc.username)
			}
			href, isLink := sel.Attr("href")
			if isLink != tc.wantLink {
				t.Fatalf("link %v (href %q), want link %v", isLink, href, tc.wantLink)
			}
			if isLink {
				u, err := url.Parse(href)
				if err != nil || u.Scheme != "https" || u.Host != "t.me" || u.User != nil || u.Path != "/"+tc.username {
					t.Errorf("href %q does not point at t.me/%s", href, tc.username)
				}
			}
		})
	}
}

// After sign-in, and on /login for a signed-in user, ?next= must stay on
// this site. Browsers drop tabs and newlines inside URLs, so "/\t/evil"
// is "//evil", a link to another host.
func TestLoginNextStaysOnSite(t *testing.T) {
	env := newTestEnv(t)
	u := env.user(t, models.RoleOperator)
	signedIn := env.login(t, u.Email, testPassword)
	for _, next := range []string{
		"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example",
		"//evil.example", `/\evil.example`, "https://evil.example/", "/%09/evil.example/x\x00",
	} {
		r := signedIn.get("/login?next="+url.QueryEscape(next)).wantStatus(t, http.StatusSeeOther)
		if loc := r.location(); loc != "/" {
			t.Errorf("signed-in /login?next=%q redirects to %q, want /", next, loc)
		}
		c := env.anonClient(t)
		r = c.postForm("/login", url.Values{"email": {u.Email}, "password": {testPassword}, "next": {next}}).wantStatus(t, http.StatusSeeOther)
		if loc := r.location(); loc != "/" {
			t.Errorf("sign-in with next=%q redirects to %q, want /", next, loc)
		}
	}
	// Ordinary targets keep working, query included.
	r := signedIn.get("/login?next="+url.QueryEscape("/workbench?channel=tg-abc")).wantStatus(t, http.StatusSeeOther)
	if loc := r.location(); !strings.HasPrefix(loc, "/workbench?channel=") {
		t.Errorf("plain next redirects to %q", loc)
	}
}

// An open workbench stream must end once its session is gone: signed out
// (from this or another tab) or the user deactivated. Before, the session
// was checked only when the stream connected, and an open stream kept
// pushing customer messages to a signed-out or deactivated user.
func TestWorkbenchStreamEndsWithItsSession(t *testing.T) {
	for _, how := range []string{"logout", "deactivate"} {
		t.Run(how, func(t *testing.T) {
			env := newTestEnvWith(t, func(d *Deps) { d.Options.SSEHeartbeat = 20 * time.Millisecond })
			agent := env.userClient(t, models.RoleAgent)
			admin := env.userClient(t, models.RoleAdmin)
			// Cancelled on the way out, so a failing run ends the stream
			// instead of leaving the test server waiting on it.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.URL+"/workbench/events", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := agent.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("stream: %d", resp.StatusCode)
			}
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					select {
					case lines <- sc.Text():
					case <-ctx.Done():
						return
					}
				}
			}()
			guard := time.After(30 * time.Second) // hang guard for the whole case, not a timing assertion
			next := func() (string, bool) {
				select {
				case l, ok := <-lines:
					return l, ok
				case <-guard:
					t.Fatal("the stream did not end")
					return "", false
				}
			}
			// A valid session keeps the stream: several heartbeats pass.
			for pings := 0; pings < 3; {
				l, ok := next()
				if !ok {
					t.Fatal("stream ended while the session was valid")
				}
				if l == ": ping" {
					pings++
				}
			}
			switch how {
			case "logout":
				agent.postForm("/logout", nil).wantStatus(t, http.StatusSeeOther)
			case "deactivate":
				u := env.user(t, models.RoleAgent)
				admin.postForm(userPath(u), url.Values{"role": {"agent"}}).wantStatus(t, http.StatusSeeOther)
				if got, _ := env.Store.UserByID(context.Background(), u.ID); got.Active {
					t.Fatal("setup: the agent is still active")
				}
			}
			for {
				if _, ok := next(); !ok {
					break
				}
			}
		})
	}
}

// Object-level checks: an event of channel B cannot be resent through
// channel A's URLs, and ids that belong to nothing are 404, console and
// API alike. (This held before the review; the test pins it.)
func TestResendRefusesAnotherChannelsEvent(t *testing.T) {
	env := newTestEnv(t)
	a := env.createChannel(t, "A")
	b := env.createChannel(t, "B")
	ctx := context.Background()
	if err := env.Store.EnqueueEvent(ctx, b.ID, "mo", "", []byte(`{"kind":"mo"}`)); err != nil {
		t.Fatal(err)
	}
	page, err := env.Store.ListDeliveries(ctx, b.ID, store.DeliveryFilter{Limit: 10})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("setup: %v %v", page.Entries, err)
	}
	evB := page.Entries[0].Event.EventID
	op := env.userClient(t, models.RoleOperator)
	key := env.apiKey(t, models.RoleOperator)
	op.htmx(http.MethodPost, "/channels/"+a.ID+"/webhook/deliveries/"+evB+"/resend", nil).wantStatus(t, http.StatusNotFound)
	env.api(t, key, http.MethodPost, "/api/v1/channels/"+a.ID+"/deliveries/"+evB+"/resend", nil).wantStatus(t, http.StatusNotFound)
	env.api(t, key, http.MethodPost, "/api/v1/channels/tg-aaaaaaaaaa/deliveries/"+evB+"/resend", nil).wantStatus(t, http.StatusNotFound)
	op.get("/channels/tg-aaaaaaaaaa/webhook").wantStatus(t, http.StatusNotFound)
	env.api(t, key, http.MethodPost, "/api/v1/queues/botdesk-tg-aaaaaaaaaa-mo/receive", nil).wantStatus(t, http.StatusNotFound)
	env.api(t, key, http.MethodGet, "/api/v1/channels/tg-aaaaaaaaaa/messages", nil).wantStatus(t, http.StatusNotFound)
	// B's own URL still works.
	env.api(t, key, http.MethodPost, "/api/v1/channels/"+b.ID+"/deliveries/"+evB+"/resend", nil).wantStatus(t, http.StatusAccepted)
	env.wantAudit(t, "webhook.resend", b.ID)
}
