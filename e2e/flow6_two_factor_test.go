package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/twofactor"
)

// Flow 6: the agent turns on two-factor sign-in on their account page
// (QR code and key, confirmed with a code their "app" — this test —
// computes from the key shown), gets ten recovery codes once, signs out,
// and signs in again with the password and then a fresh code, from the
// keyboard.
func flowAgentTwoFactor(t *testing.T, w *world) {
	w.needs(t, false)
	s := newSession(t, "agent")
	s.signIn(agentEmail, password)

	s.open("/account")
	s.expectText(`[data-testid=two-factor-status]`, "Off")
	s.submit("open the two-factor set-up", `[data-testid=two-factor-setup]`)
	s.waitPath("/account/two-factor")
	s.submit("start the set-up", `[data-testid=two-factor-start]`)
	s.waitVisible(`svg[data-testid=totp-qr]`)
	s.a11y("Two-factor set-up with QR code")
	secret := strings.ReplaceAll(s.text(`[data-testid=totp-secret]`), " ", "")
	s.fill(`[data-testid=two-factor-confirm] input[name=code]`, "000000")
	s.submit("confirm with a wrong code", `[data-testid=two-factor-confirm] button[type=submit]`)
	s.expectText(`#err-code`, "not right")
	// The previous step's code (still accepted while the current step
	// lasts): the sign-in below then needs a later step's code, whenever
	// the clock ticks over. Computed just before it is sent, and not in a
	// step's last seconds, so it is not two steps old when it arrives.
	if now := time.Now(); twofactor.Step(now.Add(5*time.Second)) != twofactor.Step(now) {
		time.Sleep(time.Unix((twofactor.Step(now)+1)*twofactor.Period, 0).Sub(now))
	}
	enrolCode, err := twofactor.Code(secret, twofactor.Step(time.Now())-1)
	if err != nil {
		s.fatalf("code from the key %q on the page: %v", secret, err)
	}
	s.fill(`[data-testid=two-factor-confirm] input[name=code]`, enrolCode)
	s.submit("confirm with the app's code", `[data-testid=two-factor-confirm] button[type=submit]`)
	s.expectText(`h1`, "Two-factor sign-in is on")
	if n := s.count(`[data-testid=recovery-codes] li`); n != twofactor.RecoveryCount {
		s.fatalf("%d recovery codes shown, want %d", n, twofactor.RecoveryCount)
	}
	s.a11y("Recovery codes")
	s.open("/account")
	s.expectText(`[data-testid=two-factor-status]`, "10 recovery codes left")

	s.submit("sign out", `form[action="/logout"] button[type=submit]`)
	s.waitPath("/login")
	s.fill(`form[action="/login"] input[name=email]`, agentEmail)
	s.fill(`form[action="/login"] input[name=password]`, password)
	s.submit("sign in with the password", `form[action="/login"] button[type=submit]`)
	s.waitPath("/login/two-factor")
	s.expectText(`h1`, "Two-factor code")
	if s.exists(`[data-testid=current-user]`) {
		s.fatalf("signed in before the second factor")
	}
	if !s.activeMatches(`input[name=code]`) {
		s.fatalf("code page: the code field should have the focus, got %s", s.describeActive())
	}
	s.a11y("Two-factor code")
	code, err := twofactor.Code(secret, twofactor.Step(time.Now()))
	if err != nil {
		s.fatalf("code: %v", err)
	}
	s.fill(`input[name=code]`, code)
	s.markDocument()
	s.pressEnter()
	s.waitNewDocument("sign in with the code (Enter)")
	s.waitPath("/workbench")
	s.expectText(`[data-testid=current-user]`, agentEmail)
}
