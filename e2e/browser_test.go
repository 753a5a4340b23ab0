package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/botdesk/botdesk/static"
)

// stepTimeout bounds every browser step: waits are for DOM events, this is
// only how long to wait before calling the step broken.
const stepTimeout = 15 * time.Second

// session is one signed-in user in their own incognito browser context
// (own cookies), bound to the test that opened it.
type session struct {
	t    *testing.T
	ctx  context.Context
	name string

	mu       sync.Mutex
	problems []string        // uncaught exceptions and CSP violations seen
	saved    int             // artifacts saved so far
	fatal    bool            // the test already failed with artifacts saved
	minor    map[string]bool // axe rules already logged as minor
}

// newSession opens a fresh tab in a fresh browser context at 1280x800.
func newSession(t *testing.T, name string) *session {
	t.Helper()
	suite.require(t)
	ctx, cancel := chromedp.NewContext(suite.browser, chromedp.WithNewBrowserContext())
	s := &session{t: t, ctx: ctx, name: name}
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancel()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("open browser tab for %s: %v", name, err)
	}
	s.watchConsole()
	// Runs before the tab closes (cleanups run last-in first-out).
	t.Cleanup(func() {
		if t.Failed() && !s.fatal {
			s.saveArtifacts("final")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.problems {
			t.Errorf("%s's browser console: %s", s.name, p)
		}
	})
	return s
}

// watchConsole records what must never happen on a console page: uncaught
// JavaScript exceptions and Content-Security-Policy violations (an inline
// script, style or handler that the strict CSP blocked).
func (s *session) watchConsole() {
	msgs := chromedp.Console(s.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			csp := strings.Contains(m.Text, "Content Security Policy")
			if m.IsException() || csp {
				s.mu.Lock()
				s.problems = append(s.problems, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line+1))
				s.mu.Unlock()
			}
		}
	}()
}

// fatalf saves the page's screenshot and HTML, then fails the test.
func (s *session) fatalf(format string, args ...any) {
	s.t.Helper()
	msg := fmt.Sprintf(format, args...)
	dir := s.saveArtifacts(msg)
	s.fatal = true
	s.t.Fatalf("%s: %s\n(artifacts: %s)", s.name, msg, dir)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtifacts writes a PNG screenshot and the page HTML under
// e2e/artifacts/<test>/ and returns the directory.
func (s *session) saveArtifacts(label string) string {
	s.mu.Lock()
	s.saved++
	n := s.saved
	s.mu.Unlock()
	dir := filepath.Join("artifacts", unsafeName.ReplaceAllString(s.t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Logf("artifacts: %v", err)
		return dir
	}
	base := fmt.Sprintf("%s-%02d", s.name, n)
	// A fresh timeout: the step's own context may be what expired.
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(dir, base+".png"), png, 0o644)
	} else {
		s.t.Logf("artifacts: screenshot: %v", err)
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.documentElement.outerHTML`))
	if err != nil {
		html = "could not read the page: " + err.Error()
	}
	_ = os.WriteFile(filepath.Join(dir, base+".html"), []byte("<!-- "+strings.ReplaceAll(label, "--", "- -")+" -->\n"+html), 0o644)
	return dir
}

// do runs browser steps with the step timeout; what names them in failures.
func (s *session) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

// run runs one browser action that returns a value.
func run[T any](s *session, what string, a chromedp.Action[T]) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		s.fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](s *session, expr string) T {
	s.t.Helper()
	return run(s, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// open loads a console path as a new document and returns the HTTP status.
func (s *session) open(path string) int64 {
	s.t.Helper()
	resp := run(s, "open "+path, chromedp.NavigateResponse(suite.baseURL+path))
	s.waitJS("page "+path+" loaded", `document.readyState === "complete"`)
	return resp.Status
}

// waitJS waits until expr is true in the page. It re-checks on a short
// interval like chromedp's own waits, across navigations (an evaluation
// during one fails and is retried).
func (s *session) waitJS(what, expr string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				s.fatalf("waiting for %s (%s): %v", what, expr, last)
			}
			s.fatalf("waiting for %s: still false after %s: %s", what, stepTimeout, expr)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// markDocument tags the current document so newDocument and sameDocument
// can tell a full page load from an htmx swap.
func (s *session) markDocument() {
	s.t.Helper()
	eval[chromedp.Void](s, `window.__e2eDocument = true`)
}

// waitNewDocument waits until the marked document was replaced by a
// freshly loaded one (a form post, a redirect, a link).
func (s *session) waitNewDocument(what string) {
	s.t.Helper()
	s.waitJS(what+" (new page loaded)", `window.__e2eDocument !== true && document.readyState === "complete"`)
}

// sameDocument asserts no full page load happened since markDocument.
func (s *session) sameDocument(what string) {
	s.t.Helper()
	if !eval[bool](s, `window.__e2eDocument === true`) {
		s.fatalf("%s: the page was reloaded; expected an in-page (htmx) update", what)
	}
}

// submit clicks sel (a submit button or link) and waits for the next page.
func (s *session) submit(what, sel string) {
	s.t.Helper()
	s.markDocument()
	s.do(what, chromedp.Click(chromedp.CSS(sel)))
	s.waitNewDocument(what)
}

// fill replaces the value of a text input by typing. (chromedp.Clear only
// resets the value attribute, which no longer counts once the user typed.)
func (s *session) fill(sel, value string) {
	s.t.Helper()
	s.waitVisible(sel)
	eval[chromedp.Void](s, fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(sel)))
	s.do("fill "+sel, chromedp.SendKeys(chromedp.CSS(sel), value))
}

// choose selects an option of a <select> and fires change.
func (s *session) choose(sel, value string) {
	s.t.Helper()
	s.do("choose "+value+" in "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// check ticks the checkbox sel by clicking it, unless it is ticked already.
func (s *session) check(sel string) {
	s.t.Helper()
	if !eval[bool](s, fmt.Sprintf(`document.querySelector(%s).checked`, jsString(sel))) {
		s.click(sel)
	}
}

func (s *session) click(sel string) {
	s.t.Helper()
	s.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (s *session) waitVisible(sel string) {
	s.t.Helper()
	s.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text returns the visible text of the first element matching sel, once
// it is visible.
func (s *session) text(sel string) string {
	s.t.Helper()
	s.waitVisible(sel)
	return strings.Join(strings.Fields(run(s, "read text of "+sel, chromedp.Text(chromedp.CSS(sel)))), " ")
}

// expectText waits until the first element matching sel is visible and
// its text contains want (content often changes in place, by htmx).
func (s *session) expectText(sel, want string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	expr := fmt.Sprintf(`(function () {
		var e = document.querySelector(%s);
		if (!e || !(e.offsetWidth || e.offsetHeight || e.getClientRects().length)) return null;
		return e.innerText.replace(/\s+/g, " ").trim();
	})()`, jsString(sel))
	var got *string
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](expr))
		if err == nil {
			got = v
			if v != nil && strings.Contains(*v, want) {
				return
			}
		}
		select {
		case <-ctx.Done():
			if got == nil {
				s.fatalf("%s: no visible element, waiting for text %q", sel, want)
			}
			s.fatalf("%s: text %q does not contain %q", sel, *got, want)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// count returns how many elements match a CSS selector right now.
func (s *session) count(sel string) int {
	s.t.Helper()
	return eval[int](s, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel)))
}

// exists reports whether sel matches an element right now.
func (s *session) exists(sel string) bool {
	s.t.Helper()
	return s.count(sel) > 0
}

// path is the current location's path.
func (s *session) path() string {
	s.t.Helper()
	return eval[string](s, `location.pathname`)
}

// waitPath waits for the location path to become p and the page to load.
func (s *session) waitPath(p string) {
	s.t.Helper()
	s.waitJS("location "+p, fmt.Sprintf(`location.pathname === %s && document.readyState === "complete"`, jsString(p)))
}

// html is the page's current HTML.
func (s *session) html() string {
	s.t.Helper()
	return eval[string](s, `document.documentElement.outerHTML`)
}

// key sends one key press to the focused element.
func (s *session) key(k string) {
	s.t.Helper()
	s.do("press key", chromedp.KeyEvent(k))
}

// activeMatches reports whether the focused element matches sel.
func (s *session) activeMatches(sel string) bool {
	s.t.Helper()
	return eval[bool](s, fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%s)`, jsString(sel)))
}

// focusKeyboard focuses sel the way a keyboard user gets there.
func (s *session) focusKeyboard(sel string) {
	s.t.Helper()
	s.do("focus "+sel, chromedp.Focus(chromedp.CSS(sel)))
}

// pressEnter presses Enter on the focused element the way a keyboard does:
// one keyDown that carries the text, so a page that prevents the keydown
// also prevents the keypress (chromedp.KeyEvent sends a separate "char"
// event, which would submit a form whose page cancelled the Enter).
func (s *session) pressEnter() {
	s.t.Helper()
	key := func(typ input.DispatchKeyEventType, text string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", Text: text, UnmodifiedText: text,
				WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			})
			return err
		})
	}
	s.do("press Enter", key(input.DispatchKeyEventTypeKeyDown, "\r"), key(input.DispatchKeyEventTypeKeyUp, ""))
}

// dialogOpens clicks the opener and asserts the dialog opened modally with
// the focus inside it.
func (s *session) dialogOpens(opener, dialog string) {
	s.t.Helper()
	s.click(opener)
	s.waitJS("dialog "+dialog+" open", fmt.Sprintf(`(function(){var d=document.querySelector(%s); return !!d && d.open;})()`, jsString(dialog)))
	if !eval[bool](s, fmt.Sprintf(`(function(){var d=document.querySelector(%s); return !!document.activeElement && d.contains(document.activeElement);})()`, jsString(dialog))) {
		s.fatalf("dialog %s opened but the focus did not move into it (focused: %s)", dialog, s.describeActive())
	}
}

// dialogEscapes presses Esc and asserts the dialog closed and the focus
// went back to the opener.
func (s *session) dialogEscapes(opener, dialog string) {
	s.t.Helper()
	s.key(kb.Escape)
	s.dialogClosed(opener, dialog, "Esc")
}

// dialogClosed asserts the dialog is closed and the opener has the focus.
func (s *session) dialogClosed(opener, dialog, how string) {
	s.t.Helper()
	s.waitJS("dialog "+dialog+" closed by "+how, fmt.Sprintf(`(function(){var d=document.querySelector(%s); return !d || !d.open;})()`, jsString(dialog)))
	if !s.activeMatches(opener) {
		s.fatalf("after %s closed dialog %s the focus is on %s, not back on its opener %s", how, dialog, s.describeActive(), opener)
	}
}

func (s *session) describeActive() string {
	return eval[string](s, `(function(){var e=document.activeElement; if(!e) return "nothing"; return e.outerHTML.slice(0, 160);})()`)
}

// screenshot saves a documentation screenshot when BOTDESK_SCREENSHOTS is
// set (make screenshots).
func (s *session) screenshot(name string) {
	s.t.Helper()
	if suite.screenshots == "" {
		return
	}
	s.settle(name)
	// Nothing focused in the pictures.
	eval[chromedp.Void](s, `document.activeElement && document.activeElement.blur && document.activeElement.blur()`)
	png := run(s, "screenshot "+name, chromedp.CaptureScreenshot())
	p := filepath.Join(suite.screenshots, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.t.Fatalf("save screenshot: %v", err)
	}
	s.t.Logf("saved screenshot %s", p)
}

// axeViolation is the part of an axe-core result the report needs.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"`
}

// settledJS is true once htmx has finished swapping and settling and no
// finite CSS transition or animation is running (new content fades in, and
// axe would measure the contrast of half-transparent text).
const settledJS = `!document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") &&
	document.getAnimations().every(function (a) {
		return a.playState !== "running" || a.effect.getComputedTiming().endTime === Infinity;
	})`

// settle waits until the page is still (see settledJS).
func (s *session) settle(what string) {
	s.t.Helper()
	s.waitJS(what+" settled", settledJS)
}

// axeRun runs axe on the whole document and returns every violation as
// JSON.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
	return JSON.stringify(r.violations.map(function (v) {
		return {id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
			targets: v.nodes.map(function (n) { return n.target.join(" "); })};
	}));
})`

// a11y injects axe-core (once per document; DevTools evaluation is not
// subject to the page's CSP, and axe is never served to users). Serious
// and critical violations fail the test; moderate and minor ones are
// logged (go test -v) once per rule and session, for triage.
func (s *session) a11y(page string) {
	s.t.Helper()
	s.settle(page)
	if !eval[bool](s, `typeof window.axe === "object" && typeof window.axe.run === "function"`) {
		run(s, "inject axe-core", chromedp.Evaluate[chromedp.Void](string(static.Axe())))
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		s.fatalf("axe on %s: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		s.fatalf("axe result on %s: %v", page, err)
	}
	var serious strings.Builder
	for _, v := range vs {
		var b strings.Builder
		fmt.Fprintf(&b, "\n  [%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
		for _, t := range v.Targets {
			fmt.Fprintf(&b, "\n      %s", t)
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			serious.WriteString(b.String())
			continue
		}
		s.mu.Lock()
		seen := s.minor[v.ID]
		if s.minor == nil {
			s.minor = map[string]bool{}
		}
		s.minor[v.ID] = true
		s.mu.Unlock()
		if !seen {
			s.t.Logf("%s: minor accessibility issue on %s (not failing):%s", s.name, page, b.String())
		}
	}
	if serious.Len() == 0 {
		return
	}
	dir := s.saveArtifacts("a11y " + page)
	s.t.Errorf("%s: accessibility violations on %s (path %s):%s\n(artifacts: %s)", s.name, page, s.path(), serious.String(), dir)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn signs in on the login page and waits for the landing page.
func (s *session) signIn(email, pw string) {
	s.t.Helper()
	s.open("/login")
	s.fill(`form[action="/login"] input[name=email]`, email)
	s.fill(`form[action="/login"] input[name=password]`, pw)
	s.submit("sign in as "+email, `form[action="/login"] button[type=submit]`)
	s.expectText(`[data-testid=current-user]`, email)
}
