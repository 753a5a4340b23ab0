// Package callbacks delivers botdesk events to the systems of the business
// that runs the bots: it defines the JSON payloads (status, mo, notify),
// signs them per Standard Webhooks, validates the callback URLs an operator
// enters on the Configure Webhook form, and sends them through an HTTP client
// that refuses private, loopback and link-local targets at dial time.
//
// Payloads, signing, URL checks and [Deliver] know nothing of the database;
// the outbox [Dispatcher] (dispatcher.go) is the one part that does: it
// claims pending deliveries from the store, calls [Deliver] and schedules
// retries with [Backoff] and [Classify].
//
// Why the checks happen twice: [ValidateURL] gives the operator a clear
// message next to the form field when a URL is saved, but DNS answers can
// change after that (DNS rebinding), so the client from [NewHTTPClient]
// checks the address it actually connects to, every time.
package callbacks
