package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	ta "github.com/mymmrac/telego/telegoapi"
)

// maxResponseBytes bounds what we read from one Bot API answer; 100 updates
// with long texts and entities stay far below it.
const maxResponseBytes = 32 << 20

// httpCaller is telego's transport. telego builds URLs with a placeholder
// token; the real token is swapped in here, the only place it is needed, and
// every error this type returns has already been redacted.
type httpCaller struct {
	hc          *http.Client
	placeholder string // "/bot<placeholder>/"
	real        string // "/bot<token>/"
	token       string
}

// transportError is a failure before Telegram answered (dial, TLS, reset,
// timeout). It holds only redacted text, never the raw *url.Error.
type transportError struct {
	detail string
}

func (e *transportError) Error() string { return e.detail }

// statusError is an answer that is not a Bot API JSON reply, typically a
// proxy's HTML error page or a wrong BOTDESK_TELEGRAM_API.
type statusError struct {
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("unexpected HTTP %d answer that is not from the Bot API", e.code)
}

// Call implements ta.Caller.
func (c *httpCaller) Call(ctx context.Context, url string, data *ta.RequestData) (*ta.Response, error) {
	if !strings.Contains(url, c.placeholder) {
		// Never send the placeholder (or anything else) to an unexpected URL.
		return nil, &transportError{detail: "internal error: unexpected request URL"}
	}
	url = strings.Replace(url, c.placeholder, c.real, 1)

	var body io.Reader
	switch {
	case bytes.Equal(bytes.TrimSpace(data.BodyRaw), []byte("null")):
		// telego marshals the nil parameters of getMe, getWebhookInfo, …
		// as the JSON literal null. Telegram accepts it, but Bot API
		// emulators and proxies that parse strictly refuse it; an empty
		// object means the same to all of them.
		body = strings.NewReader("{}")
	case data.BodyRaw != nil:
		body = bytes.NewReader(data.BodyRaw)
	case data.BodyStream != nil:
		body = data.BodyStream
	default:
		return nil, &transportError{detail: "internal error: request has no body"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return nil, &transportError{detail: RedactString(err.Error(), c.token)}
	}
	req.Header.Set("Content-Type", data.ContentType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &transportError{detail: RedactString(err.Error(), c.token)}
	}
	defer func() { _ = resp.Body.Close() }()

	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, &transportError{detail: "reading the answer: " + RedactString(err.Error(), c.token)}
	}
	var r ta.Response
	if err := json.Unmarshal(raw, &r); err != nil || (!r.Ok && r.Error == nil) {
		return nil, &statusError{code: resp.StatusCode}
	}
	return &r, nil
}

// errorsAs is errors.As with the target type spelled once.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
