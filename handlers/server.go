// Package handlers is botdesk's HTTP layer: the Echo route table, the
// middleware that guards it (sessions, roles, CSRF, security headers) and
// one handler per page or action.
package handlers

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/bots"
	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/live"
	"github.com/botdesk/botdesk/logctx"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/sso"
	"github.com/botdesk/botdesk/static"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// Options are the settings handlers need from the configuration.
type Options struct {
	// AllowPrivateCallbacks relaxes callback URL checks for loopback http.
	AllowPrivateCallbacks bool
	// Demo marks every page as demo mode.
	Demo bool
	// MaxBody bounds request bodies.
	MaxBody string
	// TelegramAPI is the Bot API base URL (a fake in tests and demo).
	TelegramAPI string
	// TelegramTimeout bounds the getMe check of Connect and Update Token;
	// 0 means 10s. Tests shorten it.
	TelegramTimeout time.Duration
	// SSEHeartbeat is how often a workbench event stream sends a keep-alive
	// and re-checks its session; 0 means 15s. Tests shorten it.
	SSEHeartbeat time.Duration
	// Shutdown, when closed, ends the long-lived workbench event streams,
	// so http.Server.Shutdown is not kept waiting on them. Nil = never.
	Shutdown <-chan struct{}
	// TrustProxy reports whether a socket peer ("ip:port") is a trusted
	// proxy whose X-Request-Id is reused; nil = none is.
	TrustProxy func(remoteAddr string) bool
	// SSEBuffer is how many list updates a workbench stream may have
	// queued before it is dropped as too slow; 0 means live.DefaultBuffer.
	// Tests shrink it.
	SSEBuffer int
	// PublicURL is the URL users open (BOTDESK_PUBLIC_URL). When it is
	// https, cookies are Secure with the __Host- prefix and HSTS is sent.
	PublicURL string
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP are
	// believed (BOTDESK_TRUSTED_PROXIES); empty = the socket peer is the client.
	TrustedProxies []*net.IPNet
	// LoginConcurrency bounds password hashes computed at once; beyond it
	// sign-ins get 429 at once. 0 means runtime.NumCPU().
	LoginConcurrency int
	// APIRate and APIBurst are the token bucket of each API key, APIIPRate
	// and APIIPBurst that of each client IP on /api/v1; 0 means the
	// defaults (20/s, burst 40).
	APIRate, APIIPRate   float64
	APIBurst, APIIPBurst int
	// BodyReadTimeout bounds reading a request body (not the streams);
	// 0 means 30s.
	BodyReadTimeout time.Duration
}

// BotRunner owns the pollers (telegram.Supervisor); the bots service
// starts and stops them. Nil until wired.
type BotRunner = bots.Runner

// MetricsWriter appends Prometheus text lines for a subsystem.
type MetricsWriter func(ctx context.Context, w io.Writer)

// Deps are the collaborators handlers call. Optional ones may be nil until
// their subsystem is wired.
type Deps struct {
	Store   *store.Store
	Sealer  *store.Sealer
	Log     *slog.Logger
	Options Options
	Bots    BotRunner
	Metrics []MetricsWriter
	// HTTPClient carries Bot API calls made by handlers (getMe); nil means
	// a default client.
	HTTPClient *http.Client
	// SSO is the OIDC single sign-on provider; nil = no "Sign in with SSO".
	SSO *sso.Provider
	// I18n translates the console; nil means the built-in catalogue.
	I18n *i18n.Catalog
	// LeaseLoop is the bot lease loop /readyz checks (telegram.Supervisor);
	// nil means none runs, and the instance is not ready.
	LeaseLoop LeaseLoop
}

// LeaseLoop reports whether this instance's bot lease loop runs: nil when
// its last heartbeat is recent, else why not.
type LeaseLoop interface {
	LeaseLoopReady(now time.Time) error
}

// Server holds the dependencies shared by all handlers.
type Server struct {
	Deps
	// BotService runs Chatbot Management (connect, token, delete, switch
	// to polling) for the console and the API alike.
	BotService *bots.Service
	// policies records the access rule of every registered route, so tests
	// can prove no route was added without one.
	policies map[string]Access
	// renderBufs recycles page buffers between requests (render).
	renderBufs sync.Pool
	// live keeps the workbench streams' conversation lists current.
	live *live.Broker
	// directPartials counts the broker's direct list writes that the
	// socket took only in part (handlers/sse_direct.go; for tests).
	directPartials atomic.Uint64
	// secure is true when PublicURL is https (cookies, HSTS).
	secure bool
	// hashSlots bounds concurrent argon2 work (handlers/login_limits.go).
	hashSlots chan struct{}
	// apiLimits are the /api/v1 token buckets (handlers/api_ratelimit.go).
	apiLimits *apiLimiter
	// loginThrottled counts sign-ins refused while throttled or busy;
	// they are counted, not audited one row each.
	loginThrottled atomic.Int64
	// typing paces the workbench's "typing…" actions (workbench_typing.go).
	typing typingGate
}

// New builds the Echo instance with every route and middleware.
func New(d Deps) (*echo.Echo, *Server) {
	if d.Options.MaxBody == "" {
		d.Options.MaxBody = "1M"
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// Every line logged with a request's context carries its request_id.
	d.Log = slog.New(logctx.NewHandler(d.Log.Handler()))
	if d.I18n == nil {
		d.I18n = i18n.MustNew()
	}
	if d.Options.TrustProxy == nil && len(d.Options.TrustedProxies) > 0 {
		d.Options.TrustProxy = func(remote string) bool { return peerTrusted(remote, d.Options.TrustedProxies) }
	}
	s := &Server{Deps: d, policies: map[string]Access{}, live: live.New(d.Store, d.Log, d.I18n, d.Options.SSEBuffer, d.Options.Shutdown)}
	s.BotService = bots.New(bots.Config{Store: d.Store, Sealer: d.Sealer, Runner: d.Bots, Notifier: callbacks.Payloads{},
		TelegramAPI: d.Options.TelegramAPI, HTTPClient: d.HTTPClient, TelegramTimeout: d.Options.TelegramTimeout,
		Log: d.Log.With("component", "bots")})
	s.renderBufs.New = func() any { return new(bytes.Buffer) }
	s.secure = strings.HasPrefix(strings.ToLower(d.Options.PublicURL), "https://")
	s.hashSlots = make(chan struct{}, cmp.Or(d.Options.LoginConcurrency, runtime.NumCPU()))
	s.apiLimits = newAPILimiter(d.Options)
	s.Metrics = append(s.Metrics, s.writeSecurityMetrics)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client IP (audit, throttling, rate limits, logs) is the socket
	// peer unless that peer is a trusted proxy (handlers/client_ip.go).
	e.IPExtractor = clientIPExtractor(d.Options.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.requestID, s.recoverPanics, s.requestLog, s.securityHeaders, s.bodyReadTimeout, s.bodyLimit(d.Options.MaxBody), s.loadIdentity, s.apiRateLimit, s.locale, s.csrf)
	s.registerRoutes(e)
	return e, s
}

// Policies returns the access rule of every route, keyed "METHOD path".
func (s *Server) Policies() map[string]Access { return s.policies }

// render writes a component with status; for htmx requests handlers pass
// the partial, for full loads the page. The page is rendered into a pooled buffer and sent in one write with a
// Content-Length: no chunked encoding, one syscall instead of one per 4 KB,
// and a render error still becomes a clean 500.
func (s *Server) render(c echo.Context, status int, comp templ.Component) error {
	buf := s.renderBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // do not keep rare huge pages alive
			buf.Reset()
			s.renderBufs.Put(buf)
		}
	}()
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// isHTMX reports whether the request came from htmx (and wants a partial).
func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-History-Restore-Request") != "true"
}

func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

// page builds the layout view-model for the current request.
func (s *Server) page(c echo.Context, title, nav string, crumbs ...views.Crumb) views.Page {
	p := views.Page{Title: title, User: currentUser(c), CSRF: csrfToken(c), Nav: nav, Crumbs: crumbs, Demo: s.Options.Demo,
		Path: c.Request().URL.RequestURI()}
	p.Flash = takeFlash(c)
	p.Unread = s.unreadTotal(c)
	return p
}

// unreadTotal is the signed-in agent's unread total for the page frame,
// read once per data version (store.Cached). A failure leaves the badge
// out rather than the page.
func (s *Server) unreadTotal(c echo.Context) int64 {
	u := currentUser(c)
	if u == nil || !u.Role.AtLeast(models.RoleAgent) {
		return 0
	}
	ctx := c.Request().Context()
	n, err := store.Cached(ctx, s.Store, "unread-total|"+strconv.FormatInt(u.ID, 10), func() (int64, error) {
		return s.Store.UnreadTotal(ctx, u.ID)
	})
	if err != nil {
		s.Log.WarnContext(ctx, "unread total", "err", err)
		return 0
	}
	return n
}

// apiError is the JSON error body (docs/api.md, "Basics").
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// handleError is the one place errors become responses: logged with slog,
// expected cases mapped to 4xx, internals never shown.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	// Expected cases pick the status; statusText gives the code and the
	// default message, which a validation or handler message overrides.
	status, code, msg, field := http.StatusInternalServerError, "", "", ""
	var he *echo.HTTPError
	var be *bots.Error
	switch v, isVal := models.AsValidation(err); {
	case errors.As(err, &be):
		// Written for the person, token-free: shown whatever the status.
		status, code, msg, field = botStatus(be.Kind), be.Code, be.Message, be.Field
	case isVal:
		status, msg, field = http.StatusUnprocessableEntity, v.Message, v.Field
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, store.ErrConflict):
		status, msg = http.StatusConflict, "This already exists."
	case errors.As(err, &he):
		status = he.Code
		if m, ok := he.Message.(string); ok && status < 500 && m != http.StatusText(status) {
			msg = m
		}
	}
	defCode, def := statusText(status)
	if code == "" {
		code = defCode
	}
	if msg == "" {
		msg = def
	}
	if status >= 500 && be == nil {
		s.Log.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if isAPI(c) {
		_ = c.JSON(status, apiError{Error: apiErrorBody{Code: code, Message: msg, Field: field}})
		return
	}
	heading := http.StatusText(status)
	_ = s.render(c, status, views.ErrorPage(s.page(c, heading, ""), status, heading, msg))
}

// botStatus is the HTTP status of an expected bot failure.
func botStatus(k bots.Kind) int {
	switch k {
	case bots.Invalid:
		return http.StatusUnprocessableEntity
	case bots.NotFound:
		return http.StatusNotFound
	case bots.Conflict:
		return http.StatusConflict
	case bots.Upstream:
		return http.StatusBadGateway
	case bots.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func statusText(status int) (code, msg string) {
	switch status {
	case http.StatusNotFound:
		return "not_found", "This page or object does not exist, or was deleted."
	case http.StatusForbidden:
		return "forbidden", "Your role does not allow this."
	case http.StatusUnauthorized:
		return "unauthorized", "Sign in or provide a valid API key."
	case http.StatusRequestEntityTooLarge:
		return "too_large", "The request is too large."
	case http.StatusMethodNotAllowed:
		return "method_not_allowed", "This method is not allowed here."
	case http.StatusTooManyRequests:
		return "rate_limited", "Too many requests; wait a moment and try again."
	case http.StatusBadRequest:
		return "bad_request", "The request could not be understood."
	case http.StatusRequestTimeout:
		return "timeout", "The request took too long to arrive."
	case http.StatusConflict:
		return "conflict", "This conflicts with the current state."
	case http.StatusUnprocessableEntity:
		return "invalid", "Some input is invalid."
	case http.StatusServiceUnavailable:
		return "unavailable", "The service is unavailable; try again shortly."
	}
	if status >= 500 {
		return "internal", "Something went wrong on our side. It has been logged; try again."
	}
	return "error", http.StatusText(status)
}

func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.Log.ErrorContext(c.Request().Context(), "panic in handler", "path", c.Request().URL.Path, "panic", r)
				err = echo.NewHTTPError(http.StatusInternalServerError)
			}
		}()
		return next(c)
	}
}

func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		// Paths only, never query strings: they can carry setup tokens.
		s.Log.DebugContext(c.Request().Context(), "http", "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", c.Response().Status, "dur_ms", time.Since(start).Milliseconds(), "ip", c.RealIP())
		return nil
	}
}

// securityHeaders sets a strict CSP (no inline script or style) and friends.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxSecure, s.secure)
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		// The browser reaches us over https (PublicURL), whatever the proxy
		// in front speaks to us.
		if s.secure || c.IsTLS() {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		return next(c)
	}
}

// faviconHandler answers /favicon.ico with the embedded icon.
func faviconHandler() echo.HandlerFunc {
	h := static.Handler()
	return func(c echo.Context) error {
		r := c.Request().Clone(c.Request().Context())
		r.URL.Path = "/" + static.Favicon
		h.ServeHTTP(c.Response(), r)
		return nil
	}
}

// staticHandler serves the embedded assets.
func staticHandler() echo.HandlerFunc {
	return echo.WrapHandler(http.StripPrefix("/static/", static.Handler()))
}
