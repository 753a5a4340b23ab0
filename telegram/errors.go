package telegram

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnauthorized means Telegram rejected the token: it was revoked in
// @BotFather or never existed. Retrying cannot help; the operator must paste
// a new token.
var ErrUnauthorized = errors.New("Telegram rejected the bot token (it was revoked or does not exist)")

// ErrUnavailable means Telegram could not be reached or failed on its side
// (network error, timeout, 5xx). Retrying later with backoff is the answer.
var ErrUnavailable = errors.New("Telegram is unreachable right now")

// ConflictError is a 409: either a webhook is set for the bot (Webhook true)
// or another program is polling the same bot. botdesk shows it to the
// operator rather than "fixing" it, since deleting someone's webhook or
// fighting another poller would break their setup.
type ConflictError struct {
	Webhook     bool
	Description string
}

func (e *ConflictError) Error() string {
	if e.Webhook {
		return "a webhook is set for this bot, so it cannot be polled (delete the webhook or stop the other service)"
	}
	return "another program is receiving updates for this bot (only one may poll at a time)"
}

// RetryAfterError is a 429 flood-control answer; After is how long Telegram
// asked us to wait before the next request.
type RetryAfterError struct {
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("Telegram asked to slow down: retry after %s", e.After)
}

// APIError is any other refusal by Telegram, e.g. 400 "Bad Request: chat not
// found" or 403 "Forbidden: bot was blocked by the user".
type APIError struct {
	Code        int
	Description string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("Telegram error %d: %s", e.Code, e.Description)
}

// OpError is what every Client method returns: the Bot API method and the
// classified cause. Unwrap yields only the cause (one of the sentinels or
// types above, or a context error), never a raw transport error, and Detail
// is already redacted.
type OpError struct {
	Method string
	Err    error
	Detail string
}

func (e *OpError) Error() string { return "telegram: " + e.Method + ": " + e.reason() }

// reason is the classified cause with Telegram's short detail, without the
// method: the words operators are shown.
func (e *OpError) reason() string {
	if e.Detail != "" {
		return e.Err.Error() + " (" + e.Detail + ")"
	}
	return e.Err.Error()
}

// Unwrap returns the classified cause.
func (e *OpError) Unwrap() error { return e.Err }

// classifyAPI maps a Telegram error answer to our error types.
func classifyAPI(code int, desc string, retryAfter int) error {
	switch {
	case code == 401 || code == 404:
		// 404 is what Telegram answers when the token part of the URL is not
		// shaped like a token at all.
		return ErrUnauthorized
	case code == 409:
		return &ConflictError{Webhook: strings.Contains(strings.ToLower(desc), "webhook"), Description: desc}
	case code == 429:
		after := time.Duration(retryAfter) * time.Second
		if after <= 0 {
			after = time.Second
		}
		return &RetryAfterError{After: after}
	case code >= 500:
		return ErrUnavailable
	default:
		return &APIError{Code: code, Description: desc}
	}
}
