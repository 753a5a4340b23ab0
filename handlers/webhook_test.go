package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

func whPath(ch *models.Channel, rest string) string { return "/channels/" + ch.ID + rest }

// whPrivateEnv allows loopback callback receivers, as in development.
func whPrivateEnv(t *testing.T) *testEnv {
	return newTestEnvWith(t, func(d *Deps) { d.Options.AllowPrivateCallbacks = true })
}

func whForm(httpOn bool, status, mo, notify string, queue bool) url.Values {
	v := url.Values{"status_url": {status}, "mo_url": {mo}, "notify_url": {notify}, "mode": {"tab"}}
	if httpOn {
		v.Set("http_enabled", "on")
	}
	if queue {
		v.Set("queue_enabled", "on")
	}
	return v
}

func TestWebhookFormValidationInline(t *testing.T) {
	tests := []struct {
		name         string
		allowPrivate bool
		form         url.Values
		wantErr      map[string]string // field -> part of its message
	}{
		{"required when HTTP on", false, whForm(true, "", "", "", false), map[string]string{
			"status_url": "required", "mo_url": "required", "notify_url": "required"}},
		{"http refused", false, whForm(true, "http://example.com/s", "https://127.0.0.1/mo", "ftp://x/y", false), map[string]string{
			"status_url": "https://", "mo_url": "loopback", "notify_url": "https://"}},
		{"private targets", false, whForm(true, "https://10.0.0.1/s", "https://169.254.169.254/latest/meta-data", "https://[::1]/n", false), map[string]string{
			"status_url": "private or internal", "mo_url": "private or internal", "notify_url": "loopback"}},
		{"garbage", false, whForm(false, "not a url", "", "https://user:pw@127.0.0.1/x", false), map[string]string{
			"status_url": "full URL", "notify_url": "user name or password"}},
		{"loopback flag relaxes loopback only", true, whForm(true, "http://127.0.0.1:9/s", "https://10.0.0.1/mo", "https://169.254.169.254/", false), map[string]string{
			"mo_url": "private or internal", "notify_url": "private or internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnvWith(t, func(d *Deps) { d.Options.AllowPrivateCallbacks = tt.allowPrivate })
			ch := env.createChannel(t, "Support")
			op := env.userClient(t, models.RoleOperator)
			r := op.htmx(http.MethodPost, whPath(ch, "/webhook"), tt.form).wantStatus(t, http.StatusUnprocessableEntity)
			doc := r.doc(t)
			for _, field := range []string{"status_url", "mo_url", "notify_url"} {
				msg := strings.TrimSpace(doc.Find("#err-" + field).Text())
				want, bad := tt.wantErr[field]
				switch {
				case bad && !strings.Contains(msg, want):
					t.Errorf("%s error %q, want it to mention %q", field, msg, want)
				case !bad && msg != "":
					t.Errorf("%s: unexpected error %q", field, msg)
				}
				inv, _ := doc.Find(`input[name="` + field + `"]`).Attr("aria-invalid")
				if bad != (inv == "true") {
					t.Errorf("%s aria-invalid=%q", field, inv)
				}
				// The operator's input is kept for correction.
				if val, _ := doc.Find(`input[name="` + field + `"]`).Attr("value"); val != tt.form.Get(field) {
					t.Errorf("%s value %q, want %q", field, val, tt.form.Get(field))
				}
			}
			got, err := env.Store.Channel(context.Background(), ch.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.HTTPEnabled || got.StatusURL != "" || len(got.SigningSecretEnc) != 0 {
				t.Fatalf("invalid form changed the channel: %+v", got)
			}
		})
	}
}

func TestWebhookSaveShowsQueuesAndCreatesSecret(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)

	page := op.get(whPath(ch, "/webhook")).wantStatus(t, http.StatusOK)
	doc := page.doc(t)
	if doc.Find(`[data-testid="no-secret"]`).Length() != 1 {
		t.Fatal("a secret is shown before the first save")
	}
	for kind, label := range map[string]string{"status": "Message Receipt Queue", "mo": "MO Message Queue", "notify": "Notification Queue"} {
		in := doc.Find(`input[data-testid="queue-` + kind + `"]`)
		name, _ := in.Attr("value")
		if name != "botdesk-"+ch.ID+"-"+kind {
			t.Errorf("queue %s name %q", kind, name)
		}
		if _, ro := in.Attr("readonly"); !ro {
			t.Errorf("queue %s name is editable", kind)
		}
		id, _ := in.Attr("id")
		if doc.Find(`label[for="`+id+`"]`).Text() != label {
			t.Errorf("queue %s label %q, want %q", kind, doc.Find(`label[for="`+id+`"]`).Text(), label)
		}
		if doc.Find(`button[data-copy-target="#`+id+`"]`).Length() != 1 {
			t.Errorf("queue %s has no copy button", kind)
		}
	}
	for _, label := range []string{"HTTP Protocol", "Status Report Callback URL", "MO Message Callback URL", "Notification Callback URL", "Message Queue Monitoring"} {
		if !strings.Contains(doc.Find("#webhook-config").Text(), label) {
			t.Errorf("form lacks label %q", label)
		}
	}

	base := "http://127.0.0.1:9/hook"
	r := op.htmx(http.MethodPost, whPath(ch, "/webhook"), whForm(true, base+"/s", base+"/m", base+"/n", true)).wantStatus(t, http.StatusOK)
	if r.Header.Get("HX-Retarget") != "#tab-panel" {
		t.Errorf("HX-Retarget = %q", r.Header.Get("HX-Retarget"))
	}
	if r.doc(t).Find(`[data-testid="webhook-saved"]`).Length() != 1 || r.doc(t).Find(`[data-testid="secret-masked"]`).Length() != 1 {
		t.Fatalf("saved panel lacks notice or masked secret:\n%s", r.Body)
	}
	got, err := env.Store.Channel(context.Background(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.HTTPEnabled || !got.QueueEnabled || got.MOURL != base+"/m" || len(got.SigningSecretEnc) == 0 {
		t.Fatalf("saved channel = %+v", got)
	}
	first := string(got.SigningSecretEnc)
	env.wantAudit(t, "webhook.update", ch.ID)

	// Saving again keeps the secret; turning HTTP off needs no URLs.
	op.htmx(http.MethodPost, whPath(ch, "/webhook"), whForm(false, "", "", "", false)).wantStatus(t, http.StatusOK)
	got, _ = env.Store.Channel(context.Background(), ch.ID)
	if got.HTTPEnabled || string(got.SigningSecretEnc) != first {
		t.Fatalf("second save: http=%v secret changed=%v", got.HTTPEnabled, string(got.SigningSecretEnc) != first)
	}

	// Without JS: redirect with a flash; errors render the full page.
	op.postForm(whPath(ch, "/webhook"), whForm(true, base+"/s", base+"/m", base+"/n", false)).wantStatus(t, http.StatusSeeOther)
	full := op.postForm(whPath(ch, "/webhook"), whForm(true, "", "", "", false)).wantStatus(t, http.StatusUnprocessableEntity)
	if full.doc(t).Find("#channel-body #err-status_url").Length() != 1 {
		t.Fatal("plain post with errors does not render the tab with inline errors")
	}
}

func TestWebhookConfigureDialog(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)
	r := op.htmx(http.MethodGet, whPath(ch, "/webhook/configure"), nil).wantStatus(t, http.StatusOK)
	dlg := r.doc(t).Find("dialog#configure-webhook-dialog")
	if dlg.Length() != 1 || dlg.Find(`input[name="mode"][value="dialog"]`).Length() != 1 {
		t.Fatalf("no dialog:\n%s", r.Body)
	}
	bad := op.htmx(http.MethodPost, whPath(ch, "/webhook"), url.Values{"mode": {"dialog"}, "http_enabled": {"on"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if bad.doc(t).Find("#webhook-config-dialog #err-mo_url").Length() != 1 {
		t.Fatalf("dialog errors not inline:\n%s", bad.Body)
	}
	// A direct load goes to the tab.
	if loc := op.get(whPath(ch, "/webhook/configure")).wantStatus(t, http.StatusSeeOther).location(); loc != whPath(ch, "/webhook") {
		t.Fatalf("redirect to %q", loc)
	}
}

// An agent may not see or change webhook settings, secrets, the log or
// queues; every route here is operator+.
func TestWebhookRolesAgentForbidden(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	agent := env.userClient(t, models.RoleAgent)
	for _, p := range []string{"/webhook", "/webhook/test?kind=mo", "/webhook/secret/reveal", "/webhook/secret/rotate", "/webhook/deliveries/evt_x/resend"} {
		agent.htmx(http.MethodPost, whPath(ch, p), whForm(false, "", "", "", false)).wantStatus(t, http.StatusForbidden)
	}
	for _, p := range []string{"/webhook", "/webhook/configure", "/webhook/secret", "/webhook/deliveries"} {
		agent.htmx(http.MethodGet, whPath(ch, p), nil).wantStatus(t, http.StatusForbidden)
	}
	key := env.apiKey(t, models.RoleAgent)
	q := "/api/v1/queues/botdesk-" + ch.ID + "-mo"
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/channels/" + ch.ID + "/webhook"},
		{http.MethodPut, "/api/v1/channels/" + ch.ID + "/webhook"},
		{http.MethodPost, "/api/v1/channels/" + ch.ID + "/webhook/secret"},
		{http.MethodGet, "/api/v1/channels/" + ch.ID + "/deliveries"},
		{http.MethodPost, q + "/receive"},
		{http.MethodDelete, q + "/messages/rcpt_x"},
	} {
		t.Run(c.method+" "+strings.ReplaceAll(c.path, ch.ID, "{id}"), func(t *testing.T) {
			r := env.api(t, key, c.method, c.path, map[string]any{})
			r.wantStatus(t, http.StatusForbidden)
		})
	}
	if len(env.audit(t, "webhook.")) != 0 {
		t.Fatal("a forbidden request was audited as done")
	}
	for k, a := range env.Srv.Policies() {
		if (strings.Contains(k, "/webhook") || strings.Contains(k, "/deliveries") || strings.Contains(k, "/queues/")) && a.MinRole != models.RoleOperator {
			t.Errorf("%s is %+v, want operator", k, a)
		}
	}
}

func TestWebhookSecretRevealAndRotate(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)
	base := "http://127.0.0.1:9/hook"
	op.htmx(http.MethodPost, whPath(ch, "/webhook"), whForm(true, base, base, base, false)).wantStatus(t, http.StatusOK)

	reveal := func() string {
		r := op.htmx(http.MethodPost, whPath(ch, "/webhook/secret/reveal"), nil).wantStatus(t, http.StatusOK)
		s, _ := r.doc(t).Find(`[data-testid="signing-secret"]`).Attr("value")
		if !strings.HasPrefix(s, "whsec_") {
			t.Fatalf("revealed %q", s)
		}
		return s
	}
	s1 := reveal()
	env.wantAudit(t, "webhook.secret_reveal", ch.ID)
	if hidden := op.htmx(http.MethodGet, whPath(ch, "/webhook/secret"), nil).wantStatus(t, http.StatusOK); strings.Contains(hidden.Body, s1) {
		t.Fatal("masked card contains the secret")
	}
	if page := op.get(whPath(ch, "/webhook")); strings.Contains(page.Body, s1) {
		t.Fatal("the tab shows the secret without a reveal")
	}
	r := op.htmx(http.MethodPost, whPath(ch, "/webhook/secret/rotate"), nil).wantStatus(t, http.StatusOK)
	s2, _ := r.doc(t).Find(`[data-testid="signing-secret"]`).Attr("value")
	if s2 == "" || s2 == s1 {
		t.Fatalf("rotate returned %q (old %q)", s2, s1)
	}
	env.wantAudit(t, "webhook.secret_rotate", ch.ID)
	if got := reveal(); got != s2 {
		t.Fatalf("stored secret %q, want the rotated %q", got, s2)
	}
	var body struct {
		SigningSecret string            `json:"signing_secret"`
		Queues        map[string]string `json:"queues"`
	}
	env.api(t, env.apiKey(t, models.RoleOperator), http.MethodGet, "/api/v1/channels/"+ch.ID+"/webhook", nil).wantStatus(t, http.StatusOK).json(t, &body)
	if body.SigningSecret != s2 || body.Queues["mo"] != "botdesk-"+ch.ID+"-mo" {
		t.Fatalf("API GET = %+v", body)
	}
}

// verifyHook checks a Standard Webhooks signature without package callbacks.
func verifyHook(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", h.Get("webhook-id"), h.Get("webhook-timestamp"), body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func TestWebhookSendTestEvent(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)

	var secret atomic.Value
	secret.Store("")
	var verified, requests atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		if verifyHook(secret.Load().(string), r.Header, body) && strings.Contains(string(body), `"test":true`) {
			verified.Add(1)
		}
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom")
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rcv.Close()

	// Testing before the first save creates the secret so the receiver
	// sees a real signature.
	r := op.htmx(http.MethodPost, whPath(ch, "/webhook/test?kind=mo"), url.Values{"mo_url": {rcv.URL + "/ok"}}).wantStatus(t, http.StatusOK)
	rv := op.htmx(http.MethodPost, whPath(ch, "/webhook/secret/reveal"), nil).wantStatus(t, http.StatusOK)
	s, _ := rv.doc(t).Find(`[data-testid="signing-secret"]`).Attr("value")
	secret.Store(s)
	if requests.Load() != 1 || !strings.Contains(r.text(t, `[data-testid="test-result"]`), "Delivered: HTTP 200") {
		t.Fatalf("first test: %d requests, result %q", requests.Load(), r.Body)
	}
	r = op.htmx(http.MethodPost, whPath(ch, "/webhook/test?kind=status"), url.Values{"status_url": {rcv.URL + "/ok"}}).wantStatus(t, http.StatusOK)
	if verified.Load() != 1 || !strings.Contains(r.Body, "Delivered") {
		t.Fatalf("signature not verified by the receiver (%d) or %s", verified.Load(), r.Body)
	}
	r = op.htmx(http.MethodPost, whPath(ch, "/webhook/test?kind=notify"), url.Values{"notify_url": {rcv.URL + "/fail"}}).wantStatus(t, http.StatusOK)
	if txt := r.text(t, `[data-testid="test-result"]`); !strings.Contains(txt, "HTTP 500") || !strings.Contains(txt, "boom") {
		t.Fatalf("failure result %q", txt)
	}
	r = op.htmx(http.MethodPost, whPath(ch, "/webhook/test?kind=notify"), url.Values{"notify_url": {"https://169.254.169.254/latest"}}).wantStatus(t, http.StatusOK)
	if txt := r.text(t, `[data-testid="test-result"]`); !strings.Contains(txt, "private or internal") {
		t.Fatalf("SSRF result %q", txt)
	}
	if requests.Load() != 3 {
		t.Fatalf("receiver got %d requests, want 3", requests.Load())
	}
}

// The delivery log lists events with attempts, filters, and resends.
func TestDeliveryLogAndResend(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	ctx := context.Background()
	for _, kind := range []string{"status", "mo"} {
		if err := env.Store.EnqueueEvent(ctx, ch.ID, kind, "", []byte(`{"type":"`+kind+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := env.Store.ClaimDueOutbox(ctx, time.Now().Add(time.Second), 0, 10, nil)
	if err != nil || len(rows) != 2 {
		t.Fatalf("claim = %v, %v", rows, err)
	}
	var failedID string
	for _, ev := range rows {
		res := store.OutboxResult{State: store.OutboxStateDelivered, Attempts: 1, NextAttemptAt: ev.NextAttemptAt}
		a := models.DeliveryAttempt{At: ev.NextAttemptAt, URL: "https://example.com/hook", StatusCode: 200, LatencyMS: 12, Outcome: "success"}
		if ev.Kind == "mo" {
			failedID = ev.EventID
			res.State, res.LastError = store.OutboxStateFailed, "HTTP 503 Service Unavailable: down"
			a.StatusCode, a.Outcome, a.Error = 503, "retry", res.LastError
		}
		if err := env.Store.FinishAttempt(ctx, ev.ID, a, res, nil); err != nil {
			t.Fatal(err)
		}
	}
	op := env.userClient(t, models.RoleOperator)
	page := op.get(whPath(ch, "/webhook")).wantStatus(t, http.StatusOK)
	if n := page.doc(t).Find(`[data-testid="delivery-row"]`).Length(); n != 2 {
		t.Fatalf("log shows %d rows", n)
	}
	r := op.htmx(http.MethodGet, whPath(ch, "/webhook/deliveries"), url.Values{"state": {"failed"}}).wantStatus(t, http.StatusOK)
	row := r.doc(t).Find(`[data-testid="delivery-row"]`)
	if row.Length() != 1 || row.AttrOr("data-event-id", "") != failedID || !strings.Contains(row.Text(), "HTTP 503") {
		t.Fatalf("failed filter:\n%s", r.Body)
	}

	key := env.apiKey(t, models.RoleOperator)
	var log struct {
		Deliveries []struct {
			EventID  string `json:"event_id"`
			Type     string `json:"type"`
			State    string `json:"state"`
			Attempts []struct {
				StatusCode int    `json:"status_code"`
				Error      string `json:"error"`
			} `json:"attempts"`
		} `json:"deliveries"`
	}
	env.api(t, key, http.MethodGet, "/api/v1/channels/"+ch.ID+"/deliveries?type=mo", nil).wantStatus(t, http.StatusOK).json(t, &log)
	if len(log.Deliveries) != 1 || log.Deliveries[0].State != "failed" || log.Deliveries[0].Attempts[0].StatusCode != 503 {
		t.Fatalf("API log = %+v", log)
	}
	env.api(t, key, http.MethodGet, "/api/v1/channels/"+ch.ID+"/deliveries?state=bogus", nil).wantStatus(t, http.StatusUnprocessableEntity)

	r = op.htmx(http.MethodPost, whPath(ch, "/webhook/deliveries/"+failedID+"/resend"), url.Values{"state": {""}}).wantStatus(t, http.StatusOK)
	env.wantAudit(t, "webhook.resend", ch.ID)
	if st := r.doc(t).Find(`[data-event-id="` + failedID + `"] [data-testid="delivery-state"]`).Text(); st != "Pending" {
		t.Fatalf("after resend state %q", st)
	}
	env.api(t, key, http.MethodPost, "/api/v1/channels/"+ch.ID+"/deliveries/evt_nope/resend", nil).wantStatus(t, http.StatusNotFound)
}
