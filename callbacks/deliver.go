package callbacks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// SnippetBytes is how much of a response body the delivery log keeps: enough
// to show a receiver's error message, small enough for every attempt row.
const SnippetBytes = 256

// userAgent identifies botdesk to receivers and in their access logs.
const userAgent = "botdesk-webhooks/1"

// Result is one delivery attempt as recorded in the delivery log.
type Result struct {
	// StatusCode is the receiver's HTTP status; 0 if none was received.
	StatusCode int
	// Latency runs from sending the request to having read the response.
	Latency time.Duration
	// Outcome says whether to retry, stop or disable the URL.
	Outcome Outcome
	// Err is set when no HTTP response was received (refused address,
	// timeout, TLS or network error, bad secret). Its text is safe to log
	// and show: the URL's query string is redacted and it never contains
	// the signing secret.
	Err error
	// ResponseSnippet is the start of the response body, at most
	// SnippetBytes bytes, cut on a UTF-8 boundary.
	ResponseSnippet string
}

// Deliver sends one signed callback: it POSTs body to endpoint with
// Content-Type application/json and the webhook-id, webhook-timestamp and
// webhook-signature headers, signing with secret at time now. msgID must be
// the same on every retry of the same event so receivers can deduplicate.
// client should come from [NewHTTPClient]. Deliver does not retry; the
// caller schedules the next attempt from Result.Outcome and [Backoff].
func Deliver(ctx context.Context, client *http.Client, endpoint, secret, msgID string, body []byte, now time.Time) Result {
	sig, err := Sign(secret, msgID, now, body)
	if err != nil {
		return failed(fmt.Errorf("callbacks: deliver: %w", err), 0)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		// url.Parse errors quote the whole URL, query string included.
		return failed(fmt.Errorf("callbacks: deliver to %s: invalid URL", redactURL(endpoint)), 0)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(HeaderSignature, sig)

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return failed(redactErr(err, secret), time.Since(start))
	}
	data, _, _ := ReadLimited(resp.Body, MaxResponseBytes)
	// A failure reading the body does not change the outcome: the status
	// line is the receiver's answer.
	return Result{
		StatusCode:      resp.StatusCode,
		Latency:         time.Since(start),
		Outcome:         Classify(resp.StatusCode, nil),
		ResponseSnippet: snippet(data),
	}
}

func failed(err error, latency time.Duration) Result {
	return Result{Latency: latency, Outcome: Classify(0, err), Err: err}
}

// snippet keeps at most SnippetBytes of b without splitting a UTF-8
// character, so the log shows valid text.
func snippet(b []byte) string {
	if len(b) > SnippetBytes {
		cut := SnippetBytes
		// If the first dropped byte continues a character, back up to
		// that character's start (at most UTFMax-1 bytes).
		for cut > SnippetBytes-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	// Binary bodies still end up as valid UTF-8; "?" rather than U+FFFD
	// so the result never grows past SnippetBytes.
	return strings.ToValidUTF8(string(b), "?")
}

// redactURL drops credentials, query and fragment: receivers often put an
// access token in the query string, and delivery errors are shown in the UI.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := r.String()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	return s
}

// redactedError keeps errors.Is/As working (deadline, ErrBlockedAddress)
// while replacing the text, which may contain the full URL.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr rewrites a client error so its text names the URL without its
// query and never contains the secret. The *url.Error is rebuilt rather
// than kept, so unwrapping does not reveal the original URL either.
func redactErr(err error, secret string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	msg := "callbacks: deliver: " + err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "whsec_…")
	}
	return &redactedError{msg: msg, err: err}
}
