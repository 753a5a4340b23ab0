package handlers

// Shared test harness for every handler test in this package.
//
// A testEnv is the real thing minus the network: a fresh SQLite file in
// t.TempDir() opened with store.Open (so the real migrations run), a Sealer
// with a key file in the same dir, handlers.New, and an httptest.Server.
// Clients talk to it over real HTTP with a cookie jar, exactly like a
// browser: they read the CSRF token from the page's <meta name=csrf-token>
// and send it back in the form (or the X-CSRF-Token header for htmx).
//
// Typical use:
//
//	env := newTestEnv(t)
//	op := env.userClient(t, models.RoleOperator) // signed-in operator
//	r := op.postForm("/channels", url.Values{"name": {"Support"}})
//	r.wantStatus(t, http.StatusSeeOther)
//	doc := op.get(r.location()).doc(t)
//
//	key := env.apiKey(t, models.RoleAdmin)
//	r = env.api(t, key, http.MethodPost, "/api/v1/channels", map[string]string{"name": "x"})
//
// To wire extra collaborators (a BotRunner, Options, metrics writers...) use
// newTestEnvWith(t, func(d *Deps) { d.Bots = myRunner }). The hook
// runs after Store, Sealer and Log are set, and again on env.restart.
//
// Clients never follow redirects, so tests can assert 303s and Location;
// call c.get(r.location()) to follow one. Any 500 response fails the test:
// an internal error is never the right answer to bad input.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// testPassword is the password of every user the harness creates.
const testPassword = "correct-horse-battery"

// testEnv is one running botdesk backed by its own SQLite file.
type testEnv struct {
	// DataDir holds the SQLite file and the key file.
	DataDir string
	// DatabaseURL is the PostgreSQL database in the PostgreSQL pass
	// (store/pgtest), "" for SQLite in DataDir.
	DatabaseURL string
	Store       *store.Store
	Sealer      *store.Sealer
	// Echo and Srv are what handlers.New returned.
	Echo *echo.Echo
	Srv  *Server
	// HTTP is the test server; URL its base ("http://127.0.0.1:port").
	HTTP *httptest.Server
	URL  string
	// Logs collects the server's slog output; it is printed if the test fails.
	Logs *testLogBuffer

	hook func(*Deps)
	// openapi records the described operations that answered 2xx
	// (openapi_check_test.go).
	openapi openAPIHits
	// storeHook adjusts the store.Config (a clock, a session lifetime).
	storeHook func(*store.Config)
	mu        sync.Mutex
	users     map[models.Role]*models.User
	keys      map[models.Role]string
}

// newTestEnv starts botdesk with default Deps.
func newTestEnv(t testing.TB) *testEnv { return newTestEnvWith(t, nil) }

// newTestEnvWith starts botdesk, letting hook adjust Deps before
// handlers.New (add a BotRunner, Options, Metrics...).
func newTestEnvWith(t testing.TB, hook func(*Deps)) *testEnv {
	t.Helper()
	return newTestEnvStore(t, nil, hook)
}

// newTestEnvStore is newTestEnvWith with a hook on the store.Config too.
func newTestEnvStore(t testing.TB, storeHook func(*store.Config), hook func(*Deps)) *testEnv {
	t.Helper()
	env := &testEnv{DataDir: t.TempDir(), DatabaseURL: pgtest.URL(t), Logs: &testLogBuffer{}, hook: hook, storeHook: storeHook,
		users: map[models.Role]*models.User{}, keys: map[models.Role]string{}}
	env.start(t)
	t.Cleanup(func() {
		env.stop()
		if t.Failed() && env.Logs.Len() > 0 {
			t.Logf("server log:\n%s", env.Logs.String())
		}
	})
	return env
}

func (env *testEnv) start(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	cfg := store.Config{DataDir: env.DataDir, DatabaseURL: env.DatabaseURL, PasswordCost: testPasswordCost}
	if env.storeHook != nil {
		env.storeHook(&cfg)
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	key, err := store.LoadOrCreateKey("", env.DataDir)
	if err != nil {
		t.Fatalf("LoadOrCreateKey: %v", err)
	}
	sealer, err := store.NewSealer(key)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	d := Deps{Store: st, Sealer: sealer,
		Log: slog.New(slog.NewTextHandler(env.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		// Every test client comes from 127.0.0.1: the API limits are set
		// out of reach unless a test (api rate limit) sets its own.
		Options: Options{APIRate: 1e6, APIBurst: 1e6, APIIPRate: 1e6, APIIPBurst: 1e6}}
	if env.hook != nil {
		env.hook(&d)
	}
	e, srv := New(d)
	env.Store, env.Sealer, env.Echo, env.Srv = st, sealer, e, srv
	// As serve runs it: the live list's direct writes need the connection.
	env.HTTP = httptest.NewUnstartedServer(e)
	env.HTTP.Config.ConnContext = ConnContext
	env.HTTP.Start()
	env.URL = env.HTTP.URL
}

func (env *testEnv) stop() {
	if env.HTTP != nil {
		env.HTTP.Close()
		env.HTTP = nil
	}
	if env.Store != nil {
		_ = env.Store.Close()
		env.Store = nil
	}
}

// restart stops the server and closes the database, then opens the same
// data dir again with a new server on a new port, like a process restart.
// Existing clients keep their cookies; call c.rebase() to point them at the
// new URL.
func (env *testEnv) restart(t testing.TB) {
	t.Helper()
	env.stop()
	env.start(t)
}

// user returns the harness's user of a role (email "<role>@example.test",
// password testPassword), creating it on first use.
func (env *testEnv) user(t testing.TB, role models.Role) *models.User {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if u, ok := env.users[role]; ok {
		return u
	}
	u, err := env.Store.CreateUser(context.Background(), string(role)+"@example.test", role, testPassword)
	if err != nil {
		t.Fatalf("create %s user: %v", role, err)
	}
	env.users[role] = u
	return u
}

// userClient returns a new client signed in as the harness user of role.
func (env *testEnv) userClient(t testing.TB, role models.Role) *testClient {
	t.Helper()
	u := env.user(t, role)
	return env.login(t, u.Email, testPassword)
}

// login signs a new client in through the real form and fails the test if
// that does not succeed.
func (env *testEnv) login(t testing.TB, email, password string) *testClient {
	t.Helper()
	c := env.anonClient(t)
	r := c.postForm("/login", url.Values{"email": {email}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login %s: status %d, want 303; body:\n%s", email, r.Status, r.Body)
	}
	return c
}

// anonClient returns a client with an empty cookie jar.
func (env *testEnv) anonClient(t testing.TB) *testClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testClient{t: t, env: env, HTTP: hc}
}

// apiKey returns an API key of role (one per role per env).
func (env *testEnv) apiKey(t testing.TB, role models.Role) string {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if k, ok := env.keys[role]; ok {
		return k
	}
	k, _, err := env.Store.CreateAPIKey(context.Background(), "test-"+string(role), role, nil)
	if err != nil {
		t.Fatalf("create %s api key: %v", role, err)
	}
	env.keys[role] = k
	return k
}

// api calls the JSON API with key as Bearer token ("" = none). body may be
// nil, a string or []byte (sent as is), or a value marshalled to JSON.
func (env *testEnv) api(t testing.TB, key, method, path string, body any) *testResponse {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal api body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	r := doTestRequest(t, http.DefaultClient, req)
	env.checkOpenAPI(t, req, r)
	return r
}

// createChannel makes a channel directly in the store.
func (env *testEnv) createChannel(t testing.TB, name string) *models.Channel {
	t.Helper()
	ch, err := env.Store.CreateChannel(context.Background(), name, nil)
	if err != nil {
		t.Fatalf("create channel %q: %v", name, err)
	}
	return ch
}

// audit returns the audit entries whose action starts with prefix, newest
// first.
func (env *testEnv) audit(t testing.TB, prefix string) []models.AuditEntry {
	t.Helper()
	p, err := env.Store.ListAudit(context.Background(), 0, prefix, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return p.Entries
}

// wantAudit fails unless an entry with exactly this action exists for
// objectID ("" = any object).
func (env *testEnv) wantAudit(t testing.TB, action, objectID string) models.AuditEntry {
	t.Helper()
	for _, e := range env.audit(t, action) {
		if e.Action == action && (objectID == "" || e.ObjectID == objectID) {
			return e
		}
	}
	t.Fatalf("no audit entry %q for %q; have %v", action, objectID, testAuditActions(env.audit(t, "")))
	return models.AuditEntry{}
}

func testAuditActions(es []models.AuditEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Action+":"+e.ObjectID)
	}
	return out
}

// testClient is one browser: a cookie jar and the last CSRF token it saw.
type testClient struct {
	t    testing.TB
	env  *testEnv
	HTTP *http.Client
	csrf string
	// Header is added to every request (e.g. a User-Agent).
	Header http.Header
	// expect500: the test provokes an internal failure and checks the 500
	// itself.
	expect500 bool
}

// rebase moves the client's cookies to the env's current URL (after
// env.restart the port changes; cookies are per host, so only the base URL
// matters).
func (c *testClient) rebase() { c.csrf = "" }

// get GETs path.
func (c *testClient) get(path string) *testResponse { return c.do(http.MethodGet, path, nil, nil) }

// postForm POSTs vals as a form, adding csrf_token unless vals has one.
func (c *testClient) postForm(path string, vals url.Values) *testResponse {
	c.t.Helper()
	v := url.Values{}
	for k, vs := range vals {
		v[k] = vs
	}
	if _, ok := v["csrf_token"]; !ok {
		v.Set("csrf_token", c.csrfToken())
	}
	return c.postRaw(path, v)
}

// postRaw POSTs vals exactly as given (no CSRF token added).
func (c *testClient) postRaw(path string, vals url.Values) *testResponse {
	c.t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return c.do(http.MethodPost, path, strings.NewReader(vals.Encode()), h)
}

// htmx makes a request the way htmx does: HX-Request header, the CSRF token
// in X-CSRF-Token (as static/js/app.js sends it), vals as the form body for
// non-GET methods or the query for GET.
func (c *testClient) htmx(method, path string, vals url.Values) *testResponse {
	c.t.Helper()
	h := http.Header{"Hx-Request": {"true"}}
	var body io.Reader
	if method == http.MethodGet {
		if len(vals) > 0 {
			path += "?" + vals.Encode()
		}
	} else {
		h.Set("X-CSRF-Token", c.csrfToken())
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		body = strings.NewReader(vals.Encode())
	}
	return c.do(method, path, body, h)
}

// do sends one request and reads the whole response.
func (c *testClient) do(method, path string, body io.Reader, h http.Header) *testResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, c.env.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	r := doTestRequestAllowing(c.t, c.HTTP, req, c.expect500)
	for _, ck := range r.Cookies {
		if ck.Name == "bd_csrf" {
			c.csrf = "" // rotated: read it again from the next page
		}
	}
	if tok := r.metaCSRF(); tok != "" {
		c.csrf = tok
	}
	return r
}

// csrfToken returns the token from the last page seen, loading a page
// (following redirects from /login) when there is none yet.
func (c *testClient) csrfToken() string {
	c.t.Helper()
	path := "/login"
	for i := 0; c.csrf == "" && i < 5 && path != ""; i++ {
		r := c.get(path)
		path = r.location()
	}
	if c.csrf == "" {
		c.t.Fatal("no <meta name=csrf-token> on any page reached from /login")
	}
	return c.csrf
}

// cookie returns the value of the named cookie in the jar ("" if none).
func (c *testClient) cookie(name string) string {
	u, _ := url.Parse(c.env.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a cookie in the jar, e.g. to replay a stolen session.
func (c *testClient) setCookie(name, value string) {
	u, _ := url.Parse(c.env.URL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// testResponse is a fully read HTTP response.
type testResponse struct {
	Status  int
	Header  http.Header
	Body    string
	Cookies []*http.Cookie
	Method  string
	Path    string
}

func doTestRequest(t testing.TB, hc *http.Client, req *http.Request) *testResponse {
	t.Helper()
	return doTestRequestAllowing(t, hc, req, false)
}

// doTestRequestAllowing is doTestRequest; with allow500 a 500 is an answer
// like any other, for tests that provoke one on purpose.
func doTestRequestAllowing(t testing.TB, hc *http.Client, req *http.Request, allow500 bool) *testResponse {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	r := &testResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Cookies: resp.Cookies(),
		Method: req.Method, Path: req.URL.RequestURI()}
	if r.Status == http.StatusInternalServerError && !allow500 {
		t.Errorf("%s %s: 500 Internal Server Error: %s", r.Method, r.Path, r.Body)
	}
	return r
}

// wantStatus fails the test unless the status is want.
func (r *testResponse) wantStatus(t testing.TB, want int) *testResponse {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", r.Method, r.Path, r.Status, want, truncateForLog(r.Body, 3000))
	}
	return r
}

// location is the Location header (redirect target).
func (r *testResponse) location() string { return r.Header.Get("Location") }

// doc parses the body as HTML.
func (r *testResponse) doc(t testing.TB) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse HTML of %s: %v", r.Path, err)
	}
	return d
}

// text is the trimmed text of the elements matching sel.
func (r *testResponse) text(t testing.TB, sel string) string {
	t.Helper()
	return strings.TrimSpace(r.doc(t).Find(sel).Text())
}

// json decodes the body into v.
func (r *testResponse) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("%s %s: decode JSON %q: %v", r.Method, r.Path, truncateForLog(r.Body, 500), err)
	}
}

// apiError decodes the API error body and returns its code and message.
func (r *testResponse) apiError(t testing.TB) (code, message string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &e)
	if e.Error.Code == "" {
		t.Fatalf("%s %s: no error code in %q", r.Method, r.Path, r.Body)
	}
	return e.Error.Code, e.Error.Message
}

// cookie returns the Set-Cookie of this response named name, or nil.
func (r *testResponse) cookie(name string) *http.Cookie {
	for _, ck := range r.Cookies {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func (r *testResponse) metaCSRF() string {
	if !strings.Contains(r.Body, `name="csrf-token"`) {
		return ""
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		return ""
	}
	tok, _ := d.Find(`meta[name="csrf-token"]`).Attr("content")
	return tok
}

func truncateForLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
}

// testLogBuffer is a goroutine-safe log sink.
type testLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *testLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *testLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the number of bytes logged so far.
func (b *testLogBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// testPasswordCost keeps argon2 cheap in handler tests; production cost is
// covered by the models tests.
var testPasswordCost = models.PasswordCost{Time: 1, Memory: 1024, Threads: 1}
