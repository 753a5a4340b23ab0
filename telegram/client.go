package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
)

// DefaultAPIURL is the public Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// pollGrace is added to the long-poll timeout to bound a getUpdates request:
// a half-open connection would otherwise hang the poller forever, while
// Telegram itself answers within the timeout plus a little.
const pollGrace = 15 * time.Second

// MaxUpdatesLimit is the largest batch getUpdates returns.
const MaxUpdatesLimit = 100

// AllowedUpdates are the update types botdesk asks for. Telegram remembers
// the last allowed_updates a bot sent, so we always send ours explicitly
// rather than inherit what another tool set before.
func AllowedUpdates() []string {
	return []string{
		telego.MessageUpdates, telego.EditedMessageUpdates,
		telego.ChannelPostUpdates, telego.EditedChannelPostUpdates,
		telego.MyChatMemberUpdates, telego.MessageReactionUpdates,
		telego.BusinessConnectionUpdates, telego.BusinessMessageUpdates,
		telego.EditedBusinessMessageUpdates, telego.DeletedBusinessMessagesUpdates,
	}
}

// BotInfo is what getMe says about a bot, as shown on the bot panel.
type BotInfo struct {
	ID                      int64
	Username                string // without @
	FirstName               string
	CanJoinGroups           bool
	CanReadAllGroupMessages bool
	SupportsInlineQueries   bool
}

// Client calls the Bot API for one bot token. It is safe for concurrent use,
// but Telegram allows only one getUpdates at a time per bot.
type Client struct {
	bot    *telego.Bot
	caller *httpCaller
	tok    Token
	base   string
	hc     *http.Client
	token  string // tok.Reveal(), kept for redaction
	// methodURL is base + "/bot<placeholder>/"; the caller swaps in the
	// real token, as for telego's own requests.
	methodURL string
}

// NewClient returns a client for tok talking to apiBaseURL ("" means
// DefaultAPIURL; tests pass the fake's URL). hc may be nil; its Timeout, if
// any, must exceed the long-poll timeout plus pollGrace, so normally leave it
// zero and rely on contexts.
func NewClient(apiBaseURL string, tok Token, hc *http.Client) (*Client, error) {
	if tok.IsZero() {
		return nil, errors.New("telegram: new client: empty token")
	}
	base := strings.TrimRight(strings.TrimSpace(apiBaseURL), "/")
	if base == "" {
		base = DefaultAPIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telegram: new client: invalid Bot API URL %q", RedactString(base))
	}
	if hc == nil {
		hc = &http.Client{}
	}
	// telego validates tokens against exactly 35 characters after the colon,
	// stricter than real tokens may be; the placeholder satisfies it and keeps
	// the secret out of telego entirely.
	placeholder := strconv.FormatInt(tok.BotID(), 10) + ":" + strings.Repeat("x", 35)
	caller := &httpCaller{
		hc:          hc,
		placeholder: "/bot" + placeholder + "/",
		real:        "/bot" + tok.Reveal() + "/",
		token:       tok.Reveal(),
	}
	bot, err := telego.NewBot(placeholder,
		telego.WithAPIServer(base),
		telego.WithAPICaller(caller),
		telego.WithDiscardLogger(),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: new client: %w", Redact(err, tok.Reveal()))
	}
	return &Client{bot: bot, caller: caller, tok: tok, base: base, hc: hc, token: tok.Reveal(),
		methodURL: base + "/bot" + placeholder + "/"}, nil
}

// BotID is the id of the bot this client speaks for.
func (c *Client) BotID() int64 { return c.tok.BotID() }

// GetMe checks the token and describes the bot. It is how Connect and Update
// Token validate a token before anything is stored.
func (c *Client) GetMe(ctx context.Context) (BotInfo, error) {
	u, err := c.bot.GetMe(ctx)
	if err != nil {
		return BotInfo{}, c.fail(ctx, "getMe", err)
	}
	return BotInfo{
		ID: u.ID, Username: u.Username, FirstName: u.FirstName,
		CanJoinGroups: u.CanJoinGroups, CanReadAllGroupMessages: u.CanReadAllGroupMessages,
		SupportsInlineQueries: u.SupportsInlineQueries,
	}, nil
}

// GetUpdates long-polls for updates with update_id >= offset, waiting up to
// timeout (whole seconds; under a second means no waiting). limit is capped
// to 1..MaxUpdatesLimit, 0 meaning the maximum.
//
// Calling it with an offset confirms every earlier update to Telegram, which
// then forgets them; so the poller must pass the offset it has durably stored
// (last stored update_id + 1), never one it has not committed yet.
func (c *Client) GetUpdates(ctx context.Context, offset int64, limit int, timeout time.Duration) ([]telego.Update, error) {
	if limit <= 0 || limit > MaxUpdatesLimit {
		limit = MaxUpdatesLimit
	}
	secs := int(max(timeout, 0) / time.Second)
	reqCtx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+pollGrace)
	defer cancel()
	ups, err := c.bot.GetUpdates(reqCtx, &telego.GetUpdatesParams{
		Offset:         int(offset),
		Limit:          limit,
		Timeout:        secs,
		AllowedUpdates: AllowedUpdates(),
	})
	if err != nil {
		return nil, c.fail(ctx, "getUpdates", err)
	}
	return ups, nil
}

// GetUpdatesRaw is GetUpdates that leaves each update undecoded: one
// update whose JSON telego cannot parse (a field Telegram added or changed
// shape) would otherwise fail the whole batch, and since the offset can only
// advance past updates that were stored, the poller would ask for the same
// batch forever. The poller decodes each update itself and stores what it
// can. Errors are classified and redacted as for every other method.
func (c *Client) GetUpdatesRaw(ctx context.Context, offset int64, limit int, timeout time.Duration) ([]json.RawMessage, error) {
	const method = "getUpdates"
	if limit <= 0 || limit > MaxUpdatesLimit {
		limit = MaxUpdatesLimit
	}
	secs := int(max(timeout, 0) / time.Second)
	body, err := json.Marshal(map[string]any{
		"offset": offset, "limit": limit, "timeout": secs, "allowed_updates": AllowedUpdates(),
	})
	if err != nil {
		return nil, &OpError{Method: method, Err: fmt.Errorf("encoding the request: %w", err)}
	}
	reqCtx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+pollGrace)
	defer cancel()
	resp, err := c.caller.Call(reqCtx, c.methodURL+method, &ta.RequestData{ContentType: ta.ContentTypeJSON, BodyRaw: body})
	if err != nil {
		return nil, c.fail(ctx, method, err)
	}
	if !resp.Ok {
		return nil, c.fail(ctx, method, resp.Error)
	}
	var ups []json.RawMessage
	if err := json.Unmarshal(resp.Result, &ups); err != nil {
		return nil, &OpError{Method: method, Err: ErrUnavailable, Detail: "the answer was not a list of updates"}
	}
	return ups, nil
}

// SendMessage sends plain text (no parse mode, so user text is never
// interpreted as markup) and returns the message as Telegram stored it.
func (c *Client) SendMessage(ctx context.Context, chatID int64, text string) (telego.Message, error) {
	m, err := c.bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: text})
	if err != nil {
		return telego.Message{}, c.fail(ctx, "sendMessage", err)
	}
	return *m, nil
}

// DeleteWebhook removes the bot's webhook so it can be polled. It never drops
// pending updates: they are customer messages.
func (c *Client) DeleteWebhook(ctx context.Context) error {
	if err := c.bot.DeleteWebhook(ctx, &telego.DeleteWebhookParams{DropPendingUpdates: false}); err != nil {
		return c.fail(ctx, "deleteWebhook", err)
	}
	return nil
}

// GetWebhookInfo reports whether a webhook is set (URL non-empty) and how many
// updates are waiting.
func (c *Client) GetWebhookInfo(ctx context.Context) (telego.WebhookInfo, error) {
	info, err := c.bot.GetWebhookInfo(ctx)
	if err != nil {
		return telego.WebhookInfo{}, c.fail(ctx, "getWebhookInfo", err)
	}
	return *info, nil
}

// GetFile resolves a file_id to its file_path for OpenFile.
func (c *Client) GetFile(ctx context.Context, fileID string) (telego.File, error) {
	f, err := c.bot.GetFile(ctx, &telego.GetFileParams{FileID: fileID})
	if err != nil {
		return telego.File{}, c.fail(ctx, "getFile", err)
	}
	return *f, nil
}

// FileBody is a file being downloaded from Telegram. Close it.
type FileBody struct {
	io.ReadCloser
	Size        int64 // -1 when unknown
	ContentType string
}

// OpenFile streams the file at filePath (from GetFile) so botdesk can relay
// it to the browser itself; the download URL contains the token and must
// never be handed out.
func (c *Client) OpenFile(ctx context.Context, filePath string) (*FileBody, error) {
	const op = "downloadFile"
	if filePath == "" || strings.HasPrefix(filePath, "/") || strings.Contains(filePath, "..") ||
		strings.ContainsAny(filePath, "?#\\") {
		return nil, &OpError{Method: op, Err: &APIError{Code: 400, Description: "invalid file path"}}
	}
	segs := strings.Split(filePath, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := c.base + "/file/bot" + c.token + "/" + strings.Join(segs, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &OpError{Method: op, Err: ErrUnavailable, Detail: RedactString(err.Error(), c.token)}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.fail(ctx, op, &transportError{detail: RedactString(err.Error(), c.token)})
	}
	if resp.StatusCode != http.StatusOK {
		defer func() { _ = resp.Body.Close() }()
		var r ta.Response
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &r) == nil && r.Error != nil {
			desc := RedactString(r.Description, c.token)
			return nil, &OpError{Method: op, Err: classifyAPI(r.ErrorCode, desc, retryAfter(r.Error))}
		}
		return nil, &OpError{Method: op, Err: classifyAPI(resp.StatusCode, http.StatusText(resp.StatusCode), 0)}
	}
	return &FileBody{
		ReadCloser:  &redactingReader{rc: resp.Body, token: c.token},
		Size:        resp.ContentLength,
		ContentType: resp.Header.Get("Content-Type"),
	}, nil
}

// redactingReader keeps read errors (which may quote the URL) clean.
type redactingReader struct {
	rc    io.ReadCloser
	token string
}

func (r *redactingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = Redact(err, r.token)
	}
	return n, err
}

func (r *redactingReader) Close() error { return Redact(r.rc.Close(), r.token) }

func retryAfter(e *ta.Error) int {
	if e == nil || e.Parameters == nil {
		return 0
	}
	return e.Parameters.RetryAfter
}

// fail turns whatever telego returned into a classified, redacted OpError.
// ctx is the caller's context: if it is done, the caller gave up and gets
// ctx.Err(); our own per-request deadline expiring is Telegram being
// unreachable.
func (c *Client) fail(ctx context.Context, method string, err error) error {
	e := &OpError{Method: method}
	if apiErr, ok := errorsAs[*ta.Error](err); ok {
		desc := RedactString(apiErr.Description, c.token)
		e.Err = classifyAPI(apiErr.ErrorCode, desc, retryAfter(apiErr))
		if errors.Is(e.Err, ErrUnavailable) || errors.Is(e.Err, ErrUnauthorized) {
			e.Detail = fmt.Sprintf("%d %s", apiErr.ErrorCode, desc)
		}
		return e
	}
	if ctx.Err() != nil {
		e.Err = ctx.Err()
		return e
	}
	e.Err = ErrUnavailable
	if te, ok := errorsAs[*transportError](err); ok {
		e.Detail = te.detail
	} else if se, ok := errorsAs[*statusError](err); ok {
		e.Detail = se.Error()
	} else {
		// e.g. a result telego could not decode; keep its words, minus secrets.
		e.Detail = RedactString(err.Error(), c.token)
	}
	return e
}
