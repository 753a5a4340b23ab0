// Package e2e holds botdesk's real-browser test suite. The tests build the
// real binary, run `botdesk serve` against the fake Telegram Bot API
// (telegram/telegramtest) and drive headless Chromium through the console
// the way operators, admins and agents use it, checking every page with
// axe-core on the way.
//
// Run it with `go test ./e2e/` (part of `make test`) or `make e2e`. Without
// Chromium the suite skips itself, unless BOTDESK_E2E_REQUIRED is set, in
// which case a missing browser is a failure. On a failed step the page's
// screenshot and HTML are saved under e2e/artifacts/<test>/, with the server
// log next to them. With BOTDESK_SCREENSHOTS=<dir> (`make screenshots`) the
// suite also saves the documentation screenshots there.
package e2e
