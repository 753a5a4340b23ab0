package handlers

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// expectedAccess is the reviewed access table: every route of the console
// and the API with the least role that may call it (docs/guide.md "Roles":
// deletes are admin-only; connect/token/settings/webhook are operator+;
// workbench read/reply is agent+). It must match Server.Policies() exactly.
//
// Adding a route? Add it here too, with the role docs/guide.md gives it; the
// tests below then prove every lower role gets 403 and anonymous callers are
// sent to sign in. If the route has a new path parameter, add a value for it
// to routeParams (and probeParams) below.
var expectedAccess = map[string]string{
	"GET /static/*":    "public",
	"GET /favicon.ico": "public",
	"GET /healthz":     "public",
	"GET /readyz":      "public",
	"GET /metrics":     "operator",

	"GET /instances":        "admin",
	"GET /api/v1/instances": "admin",

	"GET /":                  "public",
	"GET /login":             "public",
	"POST /login":            "public",
	"POST /logout":           "public",
	"POST /account/language": "agent",
	"GET /setup":             "public",
	"POST /setup":            "public",

	"GET /channels":             "operator",
	"POST /channels":            "operator",
	"GET /channels/:id":         "operator",
	"GET /channels/:id/:tab":    "operator",
	"POST /channels/:id/delete": "admin",

	"POST /channels/:id/retention":              "operator",
	"POST /channels/:id/contacts/erase":         "admin",
	"PUT /api/v1/channels/:id":                  "operator",
	"DELETE /api/v1/channels/:id/contacts/:uid": "admin",

	"GET /channels/:id/chatbot/state":      "operator",
	"POST /channels/:id/chatbot/connect":   "operator",
	"POST /channels/:id/chatbot/token":     "operator",
	"POST /channels/:id/chatbot/workbench": "operator",
	"POST /channels/:id/chatbot/delete":    "admin",

	"GET /users":                      "admin",
	"POST /users":                     "admin",
	"POST /users/:uid":                "admin",
	"POST /users/:uid/sessions/end":   "admin",
	"GET /account":                    "agent",
	"GET /auth/oidc/login":            "public",
	"GET /auth/oidc/callback":         "public",
	"POST /account/password":          "agent",
	"POST /account/sessions/end-all":  "agent",
	"POST /account/sessions/:sid/end": "agent",
	"GET /apikeys":                    "admin",
	"POST /apikeys":                   "admin",
	"POST /apikeys/:kid/revoke":       "admin",
	"GET /audit":                      "admin",

	"GET /api/v1/openapi.json":    "public",
	"GET /api/v1/channels":        "operator",
	"POST /api/v1/channels":       "operator",
	"GET /api/v1/channels/:id":    "operator",
	"DELETE /api/v1/channels/:id": "admin",

	// Reports hold every figure of a channel: operators, like the channel pages.
	"GET /api/v1/reports": "operator",
	"GET /reports":        "operator",
	"GET /reports/export": "operator",

	"GET /api/v1/channels/:id/bot":        "operator",
	"PUT /api/v1/channels/:id/bot":        "operator",
	"DELETE /api/v1/channels/:id/bot":     "admin",
	"POST /api/v1/channels/:id/bot/token": "operator",
	"PUT /api/v1/channels/:id/workbench":  "operator",

	"POST /channels/:id/bot/switch-polling": "operator",

	"GET /channels/:id/webhook/configure":               "operator",
	"POST /channels/:id/webhook":                        "operator",
	"POST /channels/:id/webhook/test":                   "operator",
	"GET /channels/:id/webhook/secret":                  "operator",
	"POST /channels/:id/webhook/secret/reveal":          "operator",
	"POST /channels/:id/webhook/secret/rotate":          "operator",
	"GET /channels/:id/webhook/deliveries":              "operator",
	"POST /channels/:id/webhook/deliveries/:eid/resend": "operator",
	"GET /api/v1/channels/:id/webhook":                  "operator",
	"PUT /api/v1/channels/:id/webhook":                  "operator",
	"POST /api/v1/channels/:id/webhook/secret":          "operator",
	"POST /api/v1/channels/:id/webhook/test":            "operator",
	"GET /api/v1/channels/:id/deliveries":               "operator",
	"POST /api/v1/channels/:id/deliveries/:eid/resend":  "operator",
	"POST /api/v1/queues/:name/receive":                 "operator",
	"DELETE /api/v1/queues/:name/messages/:receipt":     "operator",

	"GET /workbench":                            "agent",
	"GET /workbench/list":                       "agent",
	"GET /workbench/events":                     "agent",
	"GET /workbench/c/:cid":                     "agent",
	"GET /workbench/c/:cid/messages":            "agent",
	"GET /workbench/c/:cid/events":              "agent",
	"POST /workbench/c/:cid/reply":              "agent",
	"POST /workbench/c/:cid/typing":             "agent",
	"POST /workbench/c/:cid/m/:mid/react":       "agent",
	"GET /workbench/c/:cid/reply":               "agent",
	"GET /workbench/c/:cid/m/:mid":              "agent",
	"GET /workbench/c/:cid/m/:mid/edit":         "agent",
	"POST /workbench/c/:cid/m/:mid/edit":        "agent",
	"GET /workbench/c/:cid/m/:mid/delete":       "agent",
	"POST /workbench/c/:cid/m/:mid/delete":      "agent",
	"PATCH /api/v1/channels/:id/messages/:mid":  "agent",
	"DELETE /api/v1/channels/:id/messages/:mid": "agent",
	"POST /workbench/c/:cid/resolve":            "agent",
	"POST /workbench/c/:cid/reopen":             "agent",
	"POST /workbench/c/:cid/assign":             "agent",
	"POST /workbench/c/:cid/reassign":           "agent",
	"GET /api/v1/channels/:id/messages":         "operator",
	"POST /api/v1/channels/:id/messages":        "agent",
	"GET /workbench/media/:mid":                 "agent",

	// Two-factor (issue 20): enrolment is the user's own; policy, reset
	// and the password switch are admin's.
	"GET /account/two-factor":                 "agent",
	"POST /account/two-factor/start":          "agent",
	"POST /account/two-factor/enable":         "agent",
	"POST /account/two-factor/disable":        "agent",
	"POST /account/two-factor/recovery-codes": "agent",
	"POST /account/notifications":             "agent",
	"POST /account/availability":              "agent",
	"POST /channels/:id/auto-assign":          "operator",
	"GET /api/v1/channels/:id/assignment":     "operator",
	"PUT /api/v1/channels/:id/assignment":     "operator",
	"GET /login/two-factor":                   "public",
	"POST /login/two-factor":                  "public",
	"POST /users/two-factor-policy":           "admin",
	"POST /users/:uid/two-factor/reset":       "admin",
	"POST /users/:uid/password-login":         "admin",

	// The agent's workspace (routes.go, registerWorkspaceRoutes).
	"GET /canned-responses":                   "operator",
	"POST /canned-responses":                  "operator",
	"POST /canned-responses/:rid":             "operator",
	"POST /canned-responses/:rid/delete":      "operator",
	"GET /workbench/c/:cid/canned":            "agent",
	"GET /search":                             "agent",
	"GET /labels":                             "operator",
	"POST /labels":                            "operator",
	"POST /labels/:lid/delete":                "operator",
	"POST /workbench/c/:cid/labels":           "agent",
	"GET /api/v1/labels":                      "agent",
	"POST /api/v1/labels":                     "operator",
	"PUT /api/v1/conversations/:cid/labels":   "agent",
	"PUT /api/v1/conversations/:cid/assignee": "agent",
	"GET /api/v1/conversations":               "agent",
	"GET /api/v1/search":                      "agent",
	"POST /workbench/c/:cid/notes":            "agent",
	"GET /api/v1/canned-responses":            "agent",
	"POST /api/v1/canned-responses":           "operator",
	"PUT /api/v1/canned-responses/:rid":       "operator",
	"DELETE /api/v1/canned-responses/:rid":    "operator",
	"GET /api/v1/conversations/:cid/notes":    "agent",
	"POST /api/v1/conversations/:cid/notes":   "agent",
}

// noProbe lists routes the "minimum role gets past the guard" probe must
// skip because the request would not return soon (SSE streams, long polls).
// They are still checked for 401/403. The probe reads only the status line,
// so a stream that sends its headers at once does no harm either way.
var noProbe = map[string]bool{
	"GET /workbench/events":             true, // SSE
	"GET /workbench/c/:cid/events":      true, // SSE
	"POST /api/v1/queues/:name/receive": true, // long poll
}

func accessName(a Access) string {
	if a.Public {
		return "public"
	}
	return string(a.MinRole)
}

func TestEveryRouteHasAnAccessRule(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	pol := env.Srv.Policies()
	for _, r := range env.Echo.Routes() {
		key := r.Method + " " + r.Path
		if _, ok := pol[key]; !ok {
			t.Errorf("route %s has no access rule: register it through router.get/post/put/del in handlers/routes.go with public, asAgent, asOperator or asAdmin", key)
		}
	}
	for key, a := range pol {
		want, ok := expectedAccess[key]
		switch {
		case !ok:
			t.Errorf("route %s (access %q) is missing from expectedAccess in handlers/routes_test.go: add it with the role docs/guide.md gives it", key, accessName(a))
		case accessName(a) != want:
			t.Errorf("route %s has access %q, expectedAccess says %q", key, accessName(a), want)
		}
		if !a.Public {
			if _, err := models.ParseRole(string(a.MinRole)); err != nil {
				t.Errorf("route %s: non-public access without a valid MinRole (%q)", key, a.MinRole)
			}
		}
	}
	for key := range expectedAccess {
		if _, ok := pol[key]; !ok {
			t.Errorf("expectedAccess lists %s but no such route is registered: remove it from handlers/routes_test.go", key)
		}
	}
}

var paramPattern = regexp.MustCompile(`:[a-z_]+|\*`)

// fillPath replaces :params (and *) in an Echo path with values.
func fillPath(t *testing.T, path string, values map[string]string) (string, bool) {
	t.Helper()
	ok := true
	out := paramPattern.ReplaceAllStringFunc(path, func(p string) string {
		v, found := values[p]
		if !found {
			ok = false
		}
		return v
	})
	return out, ok
}

func TestRoleEnforcedOnEveryRoute(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ch := env.createChannel(t, "Role check")
	agent := env.user(t, models.RoleAgent)
	env.apiKey(t, models.RoleAgent)
	keys, err := env.Store.ListAPIKeys(t.Context())
	if err != nil || len(keys) == 0 {
		t.Fatalf("api keys: %v", err)
	}

	// Real objects for the role checks: a lower role must get 403 even
	// when the object exists.
	routeParams := map[string]string{
		":id":  ch.ID,
		":tab": "overview",
		":uid": strconv.FormatInt(agent.ID, 10),
		":kid": strconv.FormatInt(keys[0].ID, 10),
		// Routes with these are agent+ or have no real object yet; any
		// well-formed value proves the guard.
		":cid":     "1",
		":eid":     "1",
		":mid":     "1",
		":name":    "botdesk-" + ch.ID + "-mo",
		":receipt": "r1",
		":sid":     "no-such-session",
		":rid":     "1",
		":lid":     "1",
		"*":        "css/app.css",
	}
	// Objects that do not exist, so the allowed-role probe changes nothing.
	probeParams := map[string]string{
		":id":      "tg-aaaaaaaaaa",
		":tab":     "overview",
		":uid":     "999999",
		":kid":     "999999",
		":cid":     "999999",
		":eid":     "999999",
		":mid":     "999999",
		":name":    "botdesk-tg-aaaaaaaaaa-mo",
		":receipt": "no-such-receipt",
		":sid":     "no-such-session",
		":rid":     "999999",
		":lid":     "999999",
		"*":        "css/app.css",
	}

	consoleClients := map[models.Role]*testClient{}
	for _, r := range models.Roles {
		consoleClients[r] = env.userClient(t, r)
	}
	anon := env.anonClient(t)

	pol := env.Srv.Policies()
	routes := make([]string, 0, len(pol))
	for k := range pol {
		routes = append(routes, k)
	}
	sort.Strings(routes)

	for _, key := range routes {
		a := pol[key]
		if a.Public {
			continue
		}
		method, path, _ := strings.Cut(key, " ")
		isAPIRoute := strings.HasPrefix(path, "/api/")
		realPath, ok := fillPath(t, path, routeParams)
		if !ok {
			t.Errorf("%s: add a value for its path parameter to routeParams and probeParams in TestRoleEnforcedOnEveryRoute", key)
			continue
		}
		send := func(role models.Role, p string) *testResponse {
			if isAPIRoute {
				apiKey := ""
				if role != "" {
					apiKey = env.apiKey(t, role)
				}
				var body any
				if method != http.MethodGet {
					body = "{}"
				}
				return env.api(t, apiKey, method, p, body)
			}
			c := anon
			if role != "" {
				c = consoleClients[role]
			}
			if method == http.MethodGet {
				return c.get(p)
			}
			return c.do(method, p, strings.NewReader("csrf_token="+c.csrfToken()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		}

		// Anonymous: API → 401 JSON; console → 303 to the login page.
		r := send("", realPath)
		switch {
		case isAPIRoute || path == "/metrics":
			if r.Status != http.StatusUnauthorized {
				t.Errorf("anonymous %s %s: status %d, want 401", method, realPath, r.Status)
			} else if isAPIRoute {
				if code, _ := r.apiError(t); code != "unauthorized" {
					t.Errorf("anonymous %s %s: code %q, want unauthorized", method, realPath, code)
				}
			}
		default:
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login?next=") {
				t.Errorf("anonymous %s %s: %d Location %q, want 303 to /login?next=…", method, realPath, r.Status, r.location())
			}
		}

		// Every role below the minimum: 403 with a clear message.
		for _, role := range models.Roles {
			if role.AtLeast(a.MinRole) {
				continue
			}
			r := send(role, realPath)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s %s %s: status %d, want 403", role, method, realPath, r.Status)
				continue
			}
			if isAPIRoute {
				if code, _ := r.apiError(t); code != "forbidden" {
					t.Errorf("%s %s %s: code %q, want forbidden", role, method, realPath, code)
				}
			} else if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(r.text(t, `[data-testid="error-page"]`), "does not allow") {
				t.Errorf("%s %s %s: 403 page unclear (%s): %q", role, method, realPath, r.Header.Get("Content-Type"), truncateForLog(r.Body, 300))
			}
		}

		// The minimum role gets past the guard (probing with objects that
		// do not exist, so nothing changes). Routes without parameters are
		// only probed with GET.
		if noProbe[key] || (method != http.MethodGet && !strings.ContainsAny(path, ":*")) {
			continue
		}
		probePath, _ := fillPath(t, path, probeParams)
		if st := probeStatus(t, env, consoleClients[a.MinRole], isAPIRoute, a.MinRole, method, probePath); st == http.StatusUnauthorized || st == http.StatusForbidden {
			t.Errorf("%s %s %s: status %d; the minimum role was refused", a.MinRole, method, probePath, st)
		}
	}

	// The role checks changed nothing.
	if _, err := env.Store.Channel(t.Context(), ch.ID); err != nil {
		t.Errorf("channel gone after the role checks: %v", err)
	}
	if u, err := env.Store.UserByID(t.Context(), agent.ID); err != nil || !u.Active || u.Role != models.RoleAgent {
		t.Errorf("agent changed by the role checks: %+v %v", u, err)
	}
}

// probeStatus sends one request as role and returns only the status: the
// body is never read, so a streaming handler cannot hold the test. A
// request that does not even send headers within a minute fails the test
// with a hint instead of hanging it.
func probeStatus(t *testing.T, env *testEnv, c *testClient, isAPIRoute bool, role models.Role, method, path string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // hang guard, not a timing assertion
	defer cancel()
	var body io.Reader
	h := http.Header{}
	hc := c.HTTP
	switch {
	case isAPIRoute:
		hc = http.DefaultClient
		h.Set("Authorization", "Bearer "+env.apiKey(t, role))
		if method != http.MethodGet {
			body = strings.NewReader("{}")
			h.Set("Content-Type", "application/json")
		}
	case method != http.MethodGet:
		body = strings.NewReader("csrf_token=" + url.QueryEscape(c.csrfToken()))
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req, err := http.NewRequestWithContext(ctx, method, env.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s %s: %v (if it streams or long-polls, add it to noProbe)", role, method, path, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusInternalServerError {
		t.Errorf("%s %s %s: 500", role, method, path)
	}
	return resp.StatusCode
}

// TestMetricsTakesAnAPIKey: a scraper has no session, so /metrics accepts
// an operator's API key as the 401 tells it to; roles still apply, and a
// signed-in operator's browser keeps working.
func TestMetricsTakesAnAPIKey(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	if r := env.api(t, "", http.MethodGet, "/metrics", nil); r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Bearer") {
		t.Fatalf("anonymous: %d %s", r.Status, r.Body)
	}
	if r := env.api(t, "bd_not-a-real-key", http.MethodGet, "/metrics", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d", r.Status)
	}
	if r := env.api(t, env.apiKey(t, models.RoleAgent), http.MethodGet, "/metrics", nil); r.Status != http.StatusForbidden {
		t.Fatalf("agent key: %d", r.Status)
	}
	r := env.api(t, env.apiKey(t, models.RoleOperator), http.MethodGet, "/metrics", nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "botdesk_channels") {
		t.Fatalf("operator key: %d %.200s", r.Status, r.Body)
	}
	op := env.userClient(t, models.RoleOperator)
	if r := op.get("/metrics"); r.Status != http.StatusOK || !strings.Contains(r.Body, "botdesk_channels") {
		t.Fatalf("signed-in operator: %d", r.Status)
	}
}

// The route table is one file: a function that takes the router (or builds
// one) anywhere else in the package would hide routes from the sitemap.
func TestRoutesLiveInOneTable(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var typ ast.Expr
			switch v := n.(type) {
			case *ast.Field:
				typ = v.Type
			case *ast.CompositeLit:
				typ = v.Type
			default:
				return true
			}
			if id, ok := typ.(*ast.Ident); ok && id.Name == "router" {
				seen++
				if name != "routes.go" {
					t.Errorf("%s: uses the router; register routes in routes.go", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	if seen < 10 {
		t.Fatalf("found the router %d times: the check is blind", seen)
	}
}
