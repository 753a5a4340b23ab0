package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// liveConnections are the long-lived requests TestServeSmoke holds open
// across shutdown. Each result arrives once its request has ended.
type liveConnections struct {
	sse   chan error // nil: the stream ended cleanly (EOF)
	queue chan queueResult
}

type queueResult struct {
	status int
	body   string
	err    error
}

// openLiveConnections creates an admin and an API key directly in the
// store, connects a bot (so a getUpdates long poll is in flight), signs in
// through the login form, and opens a workbench SSE stream and a queue
// long poll. It returns once all three are in progress.
func openLiveConnections(t *testing.T, dir, base, botToken string, tg *telegramtest.Server) *liveConnections {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, dir)
	if _, err := st.CreateUser(ctx, "smoke@example.test", models.RoleAdmin, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	key, _, err := st.CreateAPIKey(ctx, "smoke", models.RoleAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	api := func(method, path string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	status, body := api(http.MethodPost, "/api/v1/channels", map[string]string{"name": "Smoke"})
	var ch struct {
		ID string `json:"id"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &ch) != nil || ch.ID == "" {
		t.Fatalf("create channel: %d %s", status, body)
	}
	if status, body := api(http.MethodPut, "/api/v1/channels/"+ch.ID+"/bot", map[string]string{"token": botToken}); status != http.StatusCreated {
		t.Fatalf("connect bot: %d %s", status, body)
	}
	for guard := time.Now().Add(30 * time.Second); tg.Calls("getUpdates") == 0; { // hang guard, not a timing assertion
		if time.Now().After(guard) {
			t.Fatal("the poller never called getUpdates")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Sign in like a browser: the login page sets the CSRF cookie.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	csrf := ""
	for _, c := range jar.Cookies(u) {
		if c.Name == "bd_csrf" {
			csrf = c.Value
		}
	}
	resp, err = browser.PostForm(base+"/login", url.Values{"email": {"smoke@example.test"}, "password": {"a long enough password"}, "csrf_token": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}

	live := &liveConnections{sse: make(chan error, 1), queue: make(chan queueResult, 1)}
	req, _ := http.NewRequest(http.MethodGet, base+"/workbench/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("SSE: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("SSE ended before it was connected: %v", err)
		}
		if strings.HasPrefix(line, ": connected") {
			break
		}
	}
	go func(body io.Closer) {
		defer body.Close()
		_, err := io.Copy(io.Discard, rd)
		live.sse <- err
	}(resp.Body)

	// The queue long poll waits far longer than --shutdown-timeout.
	written := make(chan struct{})
	qctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(written) }})
	qreq, _ := http.NewRequestWithContext(qctx, http.MethodPost, base+"/api/v1/queues/botdesk-"+ch.ID+"-mo/receive?wait=20s", nil)
	qreq.Header.Set("Authorization", "Bearer "+key)
	// A fresh connection: an idle keep-alive one from the calls above could
	// be closed by Shutdown just as the request goes out on it.
	qclient := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := qclient.Do(qreq)
		if err != nil {
			live.queue <- queueResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		live.queue <- queueResult{status: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-written:
	case r := <-live.queue:
		t.Fatalf("queue long poll ended at once: %+v", r)
	}
	// Connections are accepted in the order they were made: once a request
	// on a newer connection is answered, the server has accepted the long
	// poll's connection too, so closing the listener cannot drop it.
	hresp, err := qclient.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	return live
}

// wait checks that each live connection was ended properly by shutdown.
func (l *liveConnections) wait(t *testing.T) {
	t.Helper()
	guard := time.After(60 * time.Second) // hang guard, not a timing assertion
	select {
	case err := <-l.sse:
		if err != nil {
			t.Errorf("SSE stream did not end cleanly: %v", err)
		}
	case <-guard:
		t.Fatal("SSE stream still open after shutdown")
	}
	select {
	case r := <-l.queue:
		if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, `"messages":[]`) {
			t.Errorf("queue long poll across shutdown: status %d body %q err %v; want 200 with no messages", r.status, r.body, r.err)
		}
	case <-guard:
		t.Fatal("queue long poll still open after shutdown")
	}
}
