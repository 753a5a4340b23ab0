// Package telegramtest is a fake Telegram Bot API server.
//
// It speaks the same wire protocol as the real Bot API — requests at
// <base>/bot<token>/<method> as query string, form or JSON, answers shaped
// {"ok":true,"result":...} or {"ok":false,"error_code":...,"description":...}
// with the same HTTP status — so the production client (and telego under it)
// runs unchanged against it. Updates and results are telego types, so the JSON
// is exactly what telego parses.
//
// It exists so that botdesk can be tested end to end without the network:
// tests drive it through Go methods (AddBot, Inject, FailNext, Sent, ...),
// the demo mode runs it inside the binary, and a separate process (an e2e
// test driving the real binary) can drive it through a small JSON control API
// under /_control/ (see control.go).
//
// The behaviours that matter for "ingest without loss" are modelled closely:
// getUpdates forgets updates below the offset only when asked with that
// offset, long polls until an update arrives, and answers 409 to an older
// overlapping getUpdates or while a webhook is set.
package telegramtest
