package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Flow 3b: Configure Webhook. Validation errors (a required URL left
// empty with HTTP Protocol on; a private http:// address), then the
// loopback URLs of a local receiver are saved; the queue names' Copy
// buttons work from the keyboard; Send test event reaches the receiver
// and shows the result. When Chatbot Management offers the Configure
// Webhook button, its dialog is checked for focus handling too.
func flowWebhook(t *testing.T, w *world) {
	w.needs(t, true)
	s := newSession(t, "operator")
	s.signIn(operatorEmail, password)
	s.allowClipboard()
	base := "/channels/" + w.channelID

	if s.open(base + "/chatbot"); s.exists(`[data-testid=configure-webhook-button]`) {
		const opener, dialog = `[data-testid=configure-webhook-button]`, `#configure-webhook-dialog`
		s.dialogOpens(opener, dialog)
		s.expectText(dialog+` h2`, "Configure Webhook")
		s.a11y("Configure Webhook dialog")
		s.dialogEscapes(opener, dialog)
		// A refused form keeps the dialog open with the errors in it.
		s.dialogOpens(opener, dialog)
		s.check(`#whd-http_enabled`)
		s.click(dialog + ` button[type=submit]`)
		s.expectText(dialog+` #err-status_url`, "required when HTTP Protocol is on")
		if !eval[bool](s, `!!document.querySelector("#configure-webhook-dialog") && document.querySelector("#configure-webhook-dialog").open`) {
			s.fatalf("the Configure Webhook dialog closed although the form was refused")
		}
		s.a11y("Configure Webhook dialog with errors")
		s.click(dialog + ` button[data-dialog-close]`)
		s.dialogClosed(opener, dialog, "Cancel")
	} else {
		t.Log("Chatbot Management has no Configure Webhook button yet; using the Webhook tab")
	}

	s.open(base + "/webhook")
	assertTab(s, "webhook")
	if !s.exists(`[data-testid=webhook-config]`) {
		t.Fatal("the Webhook tab has no Configure Webhook panel")
	}
	form := `#webhook-config`
	for _, label := range []string{"HTTP Protocol", "Message Queue Monitoring"} {
		if !eval[bool](s, fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).some(function (l) { return l.textContent.trim() === %s; })`, jsString(form+" legend"), jsString(label))) {
			t.Errorf("Configure Webhook has no %q section", label)
		}
	}
	for id, label := range map[string]string{
		"wh-status_url": "Status Report Callback URL", "wh-mo_url": "MO Message Callback URL", "wh-notify_url": "Notification Callback URL",
		"wh-queue-status": "Message Receipt Queue", "wh-queue-mo": "MO Message Queue", "wh-queue-notify": "Notification Queue",
	} {
		s.expectText(fmt.Sprintf(`label[for=%q]`, id), label)
	}
	s.a11y("Webhook tab")

	// HTTP Protocol on with no URLs: each URL is required.
	s.check(`#wh-http_enabled`)
	s.click(form + ` button[type=submit]`)
	s.expectText(`#err-status_url`, "required when HTTP Protocol is on")
	s.expectText(`#err-mo_url`, "required when HTTP Protocol is on")
	s.a11y("Configure Webhook with required-field errors")

	// A private address over http:// is refused at save.
	s.fill(`#wh-status_url`, "http://10.0.0.1/botdesk/status")
	s.click(form + ` button[type=submit]`)
	s.expectText(`#err-status_url`, "This URL")
	if got := s.text(`#err-status_url`); strings.Contains(got, "required") {
		s.fatalf("http://10.0.0.1 was reported as %q, want it refused as unsafe", got)
	}
	if eval[string](s, `document.querySelector("#wh-status_url").getAttribute("aria-invalid")`) != "true" {
		t.Errorf("the refused URL field is not aria-invalid")
	}

	// A local receiver on loopback (allowed by BOTDESK_ALLOW_PRIVATE_CALLBACKS=1).
	rcv := newReceiver(t)
	urls := map[string]string{"status_url": rcv.URL + "/status", "mo_url": rcv.URL + "/mo", "notify_url": rcv.URL + "/notify"}
	for name, u := range urls {
		s.fill(`#wh-`+name, u)
	}
	s.check(`#wh-queue_enabled`)
	s.click(form + ` button[type=submit]`)
	s.waitVisible(`[data-testid=webhook-saved]`)
	if s.exists(form + ` .field-error[id^="err-"]`) {
		s.fatalf("saving valid loopback URLs left field errors: %s", s.text(form+` .field-error[id^="err-"]`))
	}
	s.a11y("Configure Webhook saved")
	s.open(base + "/webhook") // saved for real: a reload shows the values
	for name, u := range urls {
		if got := eval[string](s, fmt.Sprintf(`document.querySelector("#wh-%s").value`, name)); got != u {
			s.fatalf("after a reload %s is %q, want %q", name, got, u)
		}
	}

	// The read-only queue names, copied with the keyboard.
	for _, kind := range []string{"status", "mo", "notify"} {
		want := "botdesk-" + w.channelID + "-" + kind
		if got := eval[string](s, fmt.Sprintf(`document.querySelector("#wh-queue-%s").value`, kind)); got != want {
			s.fatalf("queue name %q, want %q", got, want)
		}
	}
	copyBtn := `button[data-copy-target="#wh-queue-mo"]`
	s.focusKeyboard(copyBtn)
	s.pressEnter()
	s.expectText(copyBtn, "Copied")
	if got := run(s, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); got != "botdesk-"+w.channelID+"-mo" {
		t.Errorf("clipboard after Copy: %q, want the MO queue name", got)
	}

	// Send test event posts a signed sample to the URL and says how it went.
	s.focusKeyboard(`[data-testid=test-status]`)
	s.pressEnter()
	s.expectText(`#wh-test-status [data-testid=test-result]`, "Delivered: HTTP 200")
	req := rcv.waitFor(t, "/status")
	if req.signature == "" || !strings.Contains(req.body, `"test":true`) {
		t.Errorf("test event at the receiver: signature %q body %s; want a signed test event", req.signature, req.body)
	}
	s.a11y("Webhook tab after a test event")

	// The signing secret now exists; its Rotate dialog behaves like the others.
	s.open(base + "/webhook")
	if s.exists(`[data-dialog-open="rotate-secret-dialog"]`) {
		const opener, dialog = `button[data-dialog-open="rotate-secret-dialog"]`, `#rotate-secret-dialog`
		s.dialogOpens(opener, dialog)
		s.a11y("Rotate signing secret dialog")
		s.dialogEscapes(opener, dialog)
	} else {
		t.Errorf("after a test event the Webhook tab offers no Rotate for the signing secret")
	}
}

// allowClipboard lets the page use the async clipboard API, as a user
// who accepted the browser prompt would.
func (s *session) allowClipboard() {
	s.t.Helper()
	c := chromedp.FromContext(s.ctx)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: suite.baseURL, BrowserContextID: c.BrowserContextID,
		})
		cancel()
		if err != nil {
			s.fatalf("grant %s: %v", name, err)
		}
	}
}

// receiver is a local callback endpoint that records what it is sent.
type receiver struct {
	*httptest.Server
	got chan receivedCallback
}

type receivedCallback struct {
	path, signature, body string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan receivedCallback, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		select {
		case r.got <- receivedCallback{path: req.URL.Path, signature: req.Header.Get("webhook-signature"), body: string(b)}:
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitFor returns the first callback received on path.
func (r *receiver) waitFor(t *testing.T, path string) receivedCallback {
	t.Helper()
	timeout := time.After(stepTimeout)
	for {
		select {
		case c := <-r.got:
			if c.path == path {
				return c
			}
		case <-timeout:
			t.Fatalf("the callback receiver got nothing on %s", path)
		}
	}
}
