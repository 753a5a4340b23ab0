package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// Every /api/v1 route of the Echo router has its path and method in
// handlers/openapi.json, and everything described is a registered route.
// Adding an endpoint? Describe it there and add a request for it to
// TestOpenAPIEveryOperationAnswersAsDescribed.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	env := newTestEnv(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, r := range env.Echo.Routes() {
		rest, ok := strings.CutPrefix(r.Path, apiPrefix+"/")
		if !ok {
			continue
		}
		key := r.Method + " " + shapeOf("/"+rest)
		registered[key] = true
		described := false
		for tmpl, item := range doc.Paths.Map() {
			if shapeOf(tmpl) == shapeOf("/"+rest) && item.GetOperation(r.Method) != nil {
				described = true
			}
		}
		if !described {
			t.Errorf("route %s %s is not described in handlers/openapi.json: add its path, parameters and responses", r.Method, r.Path)
		}
	}
	for tmpl, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+shapeOf(tmpl)] {
				t.Errorf("handlers/openapi.json describes %s %s%s but no such route is registered", method, apiPrefix, tmpl)
			}
		}
	}
}

// The description is served as is, without authentication, and parses as
// the document the tests validate against.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	r := env.api(t, "", http.MethodGet, "/api/v1/openapi.json", nil).wantStatus(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var got map[string]any
	r.json(t, &got)
	if got["openapi"] != "3.1.0" || r.Body != string(OpenAPISpec()) {
		t.Errorf("served document differs from the embedded one (openapi %v)", got["openapi"])
	}
}

// One real request to every described operation, each response validated
// against the description by env.api; the test fails if an operation was
// never answered with a 2xx, so a new endpoint needs a request here.
func TestOpenAPIEveryOperationAnswersAsDescribed(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	tg := telegramtest.New()
	tgURL := tg.Start()
	t.Cleanup(tg.Close)
	env := newTestEnvWith(t, func(d *Deps) {
		d.Options.TelegramAPI = tgURL
		d.Options.TelegramTimeout = 5 * time.Second
		d.Options.AllowPrivateCallbacks = true
		d.Bots = &recordingRunner{}
	})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(rcv.Close)
	ctx := context.Background()
	var err error
	op, admin, agent := env.apiKey(t, models.RoleOperator), env.apiKey(t, models.RoleAdmin), env.apiKey(t, models.RoleAgent)
	call := func(key, method, path string, body any, want int) *testResponse {
		t.Helper()
		return env.api(t, key, method, path, body).wantStatus(t, want)
	}

	call("", http.MethodGet, "/api/v1/openapi.json", nil, http.StatusOK)

	// Channels, and the error shapes on the way.
	var ch apiChannel
	call(op, http.MethodPost, "/api/v1/channels", map[string]string{"name": "Support"}, http.StatusCreated).json(t, &ch)
	call(op, http.MethodPost, "/api/v1/channels", map[string]string{"name": ""}, http.StatusUnprocessableEntity)
	call(op, http.MethodPost, "/api/v1/channels", "{", http.StatusBadRequest)
	call("", http.MethodGet, "/api/v1/channels", nil, http.StatusUnauthorized)
	call(agent, http.MethodGet, "/api/v1/channels", nil, http.StatusForbidden)
	call(op, http.MethodGet, "/api/v1/channels?q=Supp&page=1", nil, http.StatusOK)
	call(op, http.MethodGet, "/api/v1/channels/tg-aaaaaaaaaa", nil, http.StatusNotFound)
	cp := "/api/v1/channels/" + ch.ID
	call(op, http.MethodGet, cp, nil, http.StatusOK)

	// Bot: connect, read, update token, workbench settings.
	token := tg.AddBot(telegramtest.BotSpec{ID: 777001, Username: "openapi_bot", FirstName: "OpenAPI", CanJoinGroups: true})
	call(op, http.MethodGet, cp+"/bot", nil, http.StatusNotFound)
	call(op, http.MethodPut, cp+"/bot", map[string]string{"token": "nope"}, http.StatusUnprocessableEntity)
	call(op, http.MethodPut, cp+"/bot", map[string]string{"token": token}, http.StatusCreated)
	call(op, http.MethodPut, cp+"/bot", map[string]string{"token": token}, http.StatusOK)
	call(op, http.MethodGet, cp, nil, http.StatusOK)
	call(op, http.MethodGet, cp+"/bot", nil, http.StatusOK)
	call(op, http.MethodPost, cp+"/bot/token", map[string]string{"token": tg.IssueToken(777001)}, http.StatusOK)
	call(op, http.MethodPut, cp+"/workbench", map[string]any{"mode": "keyword", "keywords": []string{"help", "refund"}}, http.StatusOK)
	call(op, http.MethodPut, cp+"/workbench", map[string]any{"mode": "all"}, http.StatusOK)
	// Auto-assignment.
	call(op, http.MethodGet, cp+"/assignment", nil, http.StatusOK)
	call(op, http.MethodPut, cp+"/assignment", map[string]any{"mode": "round_robin", "capacity": 4, "agents": []string{}}, http.StatusOK)
	call(op, http.MethodPut, cp+"/assignment", map[string]any{"mode": "round_robin", "capacity": 0}, http.StatusUnprocessableEntity)
	call(agent, http.MethodGet, cp+"/assignment", nil, http.StatusForbidden)
	call(op, http.MethodPut, cp+"/assignment", map[string]any{"mode": "off", "capacity": 4, "agents": []string{}}, http.StatusOK)

	// Messages: an incoming one with media, an outgoing one.
	f := newWBFixture(t, env, "Fixture")
	if f.ch, err = env.Store.Channel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	conv := f.conv(t, 4242, "Ann")
	f.msg(t, conv, "photo", func(m *models.Message) { m.Type, m.Media = "photo", `[{"file_id":"x","width":10}]` })
	f.msg(t, conv, "hello")
	call(agent, http.MethodPost, cp+"/messages", map[string]any{"chat_id": 4242, "text": "Hi Ann"}, http.StatusAccepted)
	call(agent, http.MethodPost, cp+"/messages", map[string]any{"chat_id": 4242, "text": ""}, http.StatusUnprocessableEntity)
	call(op, http.MethodGet, cp+"/messages?after=0&limit=10", nil, http.StatusOK)
	// Edit and delete a message Telegram has (sent to the fake).
	sent := sentThroughFake(t, env, tgURL, token, ch.ID, 4242, "Hi Ann!")
	mp := cp + "/messages/" + itoa(sent)
	call(agent, http.MethodPatch, mp, map[string]string{"text": "Hi Ann, welcome!"}, http.StatusOK)
	call(agent, http.MethodPatch, mp, map[string]string{"text": "Hi Ann, welcome!"}, http.StatusUnprocessableEntity)
	call(agent, http.MethodDelete, mp, nil, http.StatusOK)
	call(agent, http.MethodDelete, mp, nil, http.StatusUnprocessableEntity)

	// Webhook, delivery log, test event, queues.
	wh := map[string]any{"http_enabled": true, "status_url": rcv.URL + "/status", "mo_url": rcv.URL + "/mo", "notify_url": rcv.URL + "/notify", "queue_enabled": true}
	call(op, http.MethodPut, cp+"/webhook", map[string]any{"http_enabled": true, "status_url": "ftp://x"}, http.StatusUnprocessableEntity)
	call(op, http.MethodPut, cp+"/webhook", wh, http.StatusOK)
	call(op, http.MethodGet, cp+"/webhook", nil, http.StatusOK)
	call(op, http.MethodPost, cp+"/webhook/secret", nil, http.StatusOK)
	call(op, http.MethodPost, cp+"/webhook/test", map[string]string{"kind": "mo"}, http.StatusOK)
	if err := env.Store.EnqueueEvent(ctx, ch.ID, "mo", "4242", []byte(`{"type":"mo","text":"queued"}`)); err != nil {
		t.Fatal(err)
	}
	due, err := env.Store.ClaimDueOutbox(ctx, time.Now().Add(time.Second), 0, 1, nil)
	if err != nil || len(due) != 1 {
		t.Fatalf("claim = %v, %v", due, err)
	}
	res := store.OutboxResult{State: store.OutboxStateFailed, Attempts: 1, NextAttemptAt: due[0].NextAttemptAt, LastError: "HTTP 503"}
	att := models.DeliveryAttempt{At: time.Now(), URL: rcv.URL + "/mo", StatusCode: 503, LatencyMS: 3, Outcome: "retry", Error: "HTTP 503"}
	if err := env.Store.FinishAttempt(ctx, due[0].ID, att, res, nil); err != nil {
		t.Fatal(err)
	}
	call(op, http.MethodGet, cp+"/deliveries?limit=1", nil, http.StatusOK)
	call(op, http.MethodGet, cp+"/deliveries?state=bogus", nil, http.StatusUnprocessableEntity)
	call(op, http.MethodPost, cp+"/deliveries/"+due[0].EventID+"/resend", nil, http.StatusAccepted)
	q := "/api/v1/queues/botdesk-" + ch.ID + "-mo"
	var leased queueReceive
	call(op, http.MethodPost, q+"/receive?max=1&visibility=1m", nil, http.StatusOK).json(t, &leased)
	if len(leased.Messages) != 1 {
		t.Fatalf("leased %d queue messages, want 1", len(leased.Messages))
	}
	call(op, http.MethodDelete, q+"/messages/"+leased.Messages[0].Receipt, nil, http.StatusNoContent)
	call(op, http.MethodDelete, q+"/messages/"+leased.Messages[0].Receipt, nil, http.StatusNotFound)

	// Reports: the traffic above, as JSON and CSV.
	call(op, http.MethodGet, "/api/v1/reports?channel_id="+ch.ID, nil, http.StatusOK)
	call(op, http.MethodGet, "/api/v1/reports?bucket=day&format=csv&table=agents", nil, http.StatusOK)
	call(op, http.MethodGet, "/api/v1/reports?bucket=week", nil, http.StatusUnprocessableEntity)
	// Workspace: canned responses and private notes (handlers/api_workspace.go).
	var canned apiCanned
	call(op, http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "hi", "text": "Hi {first_name}", "channel_id": ch.ID}, http.StatusCreated).json(t, &canned)
	call(op, http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "hi", "text": "again", "channel_id": ch.ID}, http.StatusUnprocessableEntity)
	call(agent, http.MethodGet, "/api/v1/canned-responses?channel_id="+ch.ID, nil, http.StatusOK)
	cannedPath := "/api/v1/canned-responses/" + strconv.FormatInt(canned.ID, 10)
	call(op, http.MethodPut, cannedPath, map[string]any{"shortcut": "hello", "text": "Hello"}, http.StatusOK)
	call(op, http.MethodDelete, cannedPath, nil, http.StatusNoContent)
	notesPath := "/api/v1/conversations/" + strconv.FormatInt(conv.ID, 10) + "/notes"
	call(agent, http.MethodPost, notesPath, map[string]string{"text": "internal"}, http.StatusCreated)
	call(agent, http.MethodGet, notesPath, nil, http.StatusOK)
	call(agent, http.MethodGet, "/api/v1/search?q=hello&limit=5", nil, http.StatusOK)
	call(op, http.MethodPost, "/api/v1/labels", map[string]string{"name": "VIP", "color": "purple"}, http.StatusCreated)
	call(agent, http.MethodGet, "/api/v1/labels", nil, http.StatusOK)
	call(agent, http.MethodPut, "/api/v1/conversations/"+strconv.FormatInt(conv.ID, 10)+"/labels", map[string]any{"labels": []string{"vip"}}, http.StatusOK)
	call(agent, http.MethodGet, "/api/v1/conversations?label=VIP&limit=5", nil, http.StatusOK)
	assigneePath := "/api/v1/conversations/" + strconv.FormatInt(conv.ID, 10) + "/assignee"
	call(agent, http.MethodPut, assigneePath, map[string]string{"assignee": env.user(t, models.RoleAgent).Email}, http.StatusOK)
	call(agent, http.MethodPut, assigneePath, map[string]string{"assignee": "nobody@example.test"}, http.StatusUnprocessableEntity)

	// Instances: none has heartbeated in this test until this one does.
	call(admin, http.MethodGet, "/api/v1/instances", nil, http.StatusOK)
	if err := env.Store.Heartbeat(ctx, "v-test", time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	call(admin, http.MethodGet, "/api/v1/instances", nil, http.StatusOK)
	call(op, http.MethodGet, "/api/v1/instances", nil, http.StatusForbidden)
	call(agent, http.MethodGet, "/api/v1/search?q=", nil, http.StatusUnprocessableEntity)

	// Operations: retention and erasure.
	call(op, http.MethodPut, cp, map[string]int{"retention_days": 30}, http.StatusOK)
	call(op, http.MethodPut, cp, map[string]int{"retention_days": -1}, http.StatusUnprocessableEntity)
	call(op, http.MethodDelete, cp+"/contacts/4242", nil, http.StatusForbidden)
	call(admin, http.MethodDelete, cp+"/contacts/4242", nil, http.StatusOK)
	// Deletes last.
	call(op, http.MethodDelete, cp+"/bot", nil, http.StatusForbidden)
	call(admin, http.MethodDelete, cp+"/bot", nil, http.StatusOK)
	call(admin, http.MethodDelete, cp, nil, http.StatusNoContent)

	var missing []string
	for tmpl, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if key := method + " " + tmpl; !env.openapi.has(key) {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is described but no request in this test got a 2xx from it: add one", m)
	}
}

// The checker itself: a response that breaks the description is caught.
func TestOpenAPICheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	tmpl, op, params, ok := specOperation(doc, http.MethodGet, "/api/v1/channels/tg-abcdefghij/bot")
	if !ok || tmpl != "/channels/{id}/bot" || params["id"] != "tg-abcdefghij" || op.OperationID != "getBot" {
		t.Fatalf("specOperation = %q %v %v", tmpl, params, ok)
	}
	env := newTestEnv(t)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/channels/tg-abcdefghij/bot", nil)
	bad, _ := json.Marshal(map[string]any{"id": "not a number", "username": "x"})
	ft := &recordingTB{TB: t}
	env.checkOpenAPI(ft, req, &testResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: string(bad)})
	if !ft.failed {
		t.Error("a bot with a string id and missing fields passed validation")
	}
	ft = &recordingTB{TB: t}
	env.checkOpenAPI(ft, req, &testResponse{Status: http.StatusTeapot, Header: http.Header{"Content-Type": {"text/plain"}}, Body: "tea"})
	if !ft.failed {
		t.Error("an undescribed plain-text 418 passed validation")
	}
}

// recordingTB notes Errorf instead of failing the real test.
type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Errorf(string, ...any) { r.failed = true }
func (r *recordingTB) Helper()               {}
