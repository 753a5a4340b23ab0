// Package telegram is botdesk's side of the Telegram Bot API: a validated,
// self-masking bot Token, a Client with ctx-first methods whose errors are
// classified (unauthorized, conflict, retry-after, unavailable) and already
// stripped of tokens, and a per-bot send Limiter.
//
// The Client is a thin layer over telego. It deliberately exposes getUpdates
// with an explicit offset instead of telego's long-polling helper: the
// poller must store updates and the new offset in one transaction before it
// confirms them to Telegram, and a helper that advances the offset on its own
// would lose updates on a crash.
//
// Tokens never reach telego: it is given a placeholder token and the real one
// is swapped in by our HTTP caller at the last moment, so nothing telego
// formats or logs can carry the secret. Errors from the HTTP layer (which do
// quote URLs) are redacted before they leave the package.
package telegram
