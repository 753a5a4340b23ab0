package handlers

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Cookie names. Behind https (Options.PublicURL) they carry the __Host-
// prefix: the browser then only keeps them when Secure, for this host and
// Path=/, so a sibling subdomain or a plain-http page cannot plant them.
const (
	sessionCookie = "bd_session"
	csrfCookie    = "bd_csrf"
	flashCookie   = "bd_flash"
	hostPrefix    = "__Host-"
)

// context keys
const (
	ctxUser   = "bd.user"
	ctxAPIKey = "bd.apikey"
	ctxCSRF   = "bd.csrf"
	ctxSecure = "bd.secure"
)

// Access is the rule guarding a route: Public routes need nothing, the
// others a signed-in user (or API key on /api) with at least MinRole.
type Access struct {
	Public  bool
	MinRole models.Role
}

// Access rules used in the route table.
var (
	public     = Access{Public: true}
	asAgent    = Access{MinRole: models.RoleAgent}
	asOperator = Access{MinRole: models.RoleOperator}
	asAdmin    = Access{MinRole: models.RoleAdmin}
)

func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(ctxUser).(*models.User)
	return u
}

// userID is the signed-in user's id, 0 for an API key or nobody.
func userID(c echo.Context) int64 {
	if u := currentUser(c); u != nil {
		return u.ID
	}
	return 0
}

func currentKey(c echo.Context) *models.APIKey {
	k, _ := c.Get(ctxAPIKey).(*models.APIKey)
	return k
}

// currentRole is the role of whoever is calling: user or API key.
func currentRole(c echo.Context) models.Role {
	if u := currentUser(c); u != nil {
		return u.Role
	}
	if k := currentKey(c); k != nil {
		return k.Role
	}
	return ""
}

// actor describes the caller for the audit log.
func actor(c echo.Context) store.Actor {
	a := store.Actor{IP: c.RealIP(), Name: "anonymous"}
	if u := currentUser(c); u != nil {
		a.UserID, a.Name = &u.ID, u.Email
	} else if k := currentKey(c); k != nil {
		a.UserID, a.Name = k.CreatedBy, "api:"+k.Name
	}
	return a
}

func (s *Server) bodyLimit(limit string) echo.MiddlewareFunc {
	// Sends with a file have their own, larger bound.
	small := middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: limit, Skipper: isUploadRoute})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := small(next)
		return func(c echo.Context) error {
			if isUploadRoute(c) {
				c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxUploadBody)
			}
			return h(c)
		}
	}
}

// loadIdentity resolves the session cookie (console) or the bearer key
// (API). The API never accepts cookies, so it needs no CSRF token.
func (s *Server) loadIdentity(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		auth := c.Request().Header.Get("Authorization")
		// /metrics also takes a key: a Prometheus scraper has no session.
		if isAPI(c) || (c.Path() == "/metrics" && auth != "") {
			if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
				k, err := s.Store.APIKeyByToken(ctx, strings.TrimSpace(tok))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if k != nil {
					c.Set(ctxAPIKey, k)
				}
			}
			return next(c)
		}
		// A console page's cached reads share one version probe
		// (store.WithPageScope); streams drop it (workbenchEvents).
		ctx = store.WithPageScope(ctx)
		c.SetRequest(c.Request().WithContext(ctx))
		if v := readCookie(c, sessionCookie); v != "" {
			u, err := s.Store.SessionUser(ctx, v)
			switch {
			case err == nil:
				c.Set(ctxUser, u)
			case errors.Is(err, store.ErrNotFound):
				clearCookie(c, sessionCookie)
			default:
				return err
			}
		}
		return next(c)
	}
}

// guard enforces an Access rule.
func (s *Server) guard(a Access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if a.Public {
				return next(c)
			}
			role := currentRole(c)
			if role == "" {
				return s.unauthenticated(c)
			}
			if !role.AtLeast(a.MinRole) {
				return echo.NewHTTPError(http.StatusForbidden, "Your role ("+string(role)+") does not allow this; it needs "+string(a.MinRole)+" or above.")
			}
			if ok, err := s.twoFactorGate(c); !ok || err != nil {
				return err
			}
			return next(c)
		}
	}
}

// unauthenticated sends browsers to the login page (htmx via HX-Redirect)
// and API clients a 401.
func (s *Server) unauthenticated(c echo.Context) error {
	if isAPI(c) || c.Path() == "/metrics" {
		return echo.NewHTTPError(http.StatusUnauthorized, "Provide a valid API key as Authorization: Bearer <key>.")
	}
	next := c.Request().URL.RequestURI()
	if c.Request().Method != http.MethodGet {
		next = "/"
	}
	target := "/login?next=" + url.QueryEscape(next)
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// csrf implements double-submit tokens for the console: a random value in
// an HttpOnly SameSite cookie that every state-changing request must echo
// in the csrf_token field or the X-CSRF-Token header (set by app.js for htmx).
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPI(c) {
			return next(c)
		}
		tok := ""
		if v := readCookie(c, csrfCookie); len(v) >= 32 {
			tok = v
		} else {
			t, err := store.RandomToken(32)
			if err != nil {
				return err
			}
			tok = t
			setCookie(c, csrfCookie, tok, 0)
		}
		c.Set(ctxCSRF, tok)
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		sent := c.Request().Header.Get("X-CSRF-Token")
		if sent == "" {
			sent = c.FormValue("csrf_token")
		}
		if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired or did not come from botdesk (missing or wrong CSRF token). Reload the page and try again.")
		}
		return next(c)
	}
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(ctxCSRF).(string)
	return t
}

// secureCookies reports whether cookies must be Secure with the __Host-
// prefix (set per request by securityHeaders from Options.PublicURL).
func secureCookies(c echo.Context) bool {
	sec, _ := c.Get(ctxSecure).(bool)
	return sec || c.IsTLS()
}

func cookieName(c echo.Context, name string) string {
	if secureCookies(c) {
		return hostPrefix + name
	}
	return name
}

// readCookie returns the value of one of botdesk's cookies, "" if absent.
func readCookie(c echo.Context, name string) string {
	ck, err := c.Cookie(cookieName(c, name))
	if err != nil {
		return ""
	}
	return ck.Value
}

func setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: cookieName(c, name), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secureCookies(c), MaxAge: maxAge})
}

func clearCookie(c echo.Context, name string) { setCookie(c, name, "", -1) }

// setFlash leaves a one-time message for the next page.
func setFlash(c echo.Context, kind, msg string) {
	setCookie(c, flashCookie, url.QueryEscape(kind+"|"+msg), 60)
}
