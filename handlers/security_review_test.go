package handlers

// Regression tests from the pre-release security review: each one fails on
// the code before its fix.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
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
