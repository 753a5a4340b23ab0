package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// home sends signed-in users to their landing page.
func (s *Server) home(c echo.Context) error {
	u := currentUser(c)
	switch {
	case u == nil:
		return c.Redirect(http.StatusSeeOther, "/login")
	case u.Role.AtLeast(models.RoleOperator):
		return c.Redirect(http.StatusSeeOther, "/channels")
	default:
		return c.Redirect(http.StatusSeeOther, "/workbench")
	}
}

// safeNext keeps post-login redirects on this site: a path, never a
// scheme or host. Control characters and backslashes are refused anywhere,
// because browsers drop tabs and newlines inside a URL ("/\t/evil" is
// "//evil") and read a backslash as a slash.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) >= 0 {
		return "/"
	}
	return next
}

func (s *Server) loginForm(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	p := s.page(c, "Sign in", "", views.Crumb{Label: "Sign in"})
	return s.render(c, http.StatusOK, views.LoginPage(p, views.LoginForm{Next: c.QueryParam("next")}))
}

// genericLoginError never says whether the email exists.
const genericLoginError = "Email or password is incorrect."

func (s *Server) login(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	password := c.FormValue("password")
	form := views.LoginForm{Email: email, Next: c.FormValue("next")}
	ip := c.RealIP()
	fail := func(status int, msg string) error {
		p := s.page(c, "Sign in", "", views.Crumb{Label: "Sign in"})
		form.Error = msg
		return s.render(c, status, views.LoginPage(p, form))
	}

	throttled, err := s.Store.LoginThrottled(ctx, email, ip)
	if err != nil {
		return err
	}
	if throttled {
		_ = s.Store.Audit(ctx, store.Actor{Name: email, IP: ip}, "login.throttled", "user", email, "")
		return fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait 15 minutes and try again.")
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash := models.DummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	ok, _ := models.VerifyPassword(hash, password)
	if u == nil || !ok || !u.Active {
		if err := s.Store.RecordLoginFailure(ctx, email, ip); err != nil {
			return err
		}
		_ = s.Store.Audit(ctx, store.Actor{Name: email, IP: ip}, "login.failed", "user", email, "")
		return fail(http.StatusUnauthorized, genericLoginError)
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	_ = s.Store.ClearLoginFailures(ctx, email)
	_ = s.Store.Audit(ctx, store.Actor{UserID: &u.ID, Name: u.Email, IP: ip}, "login", "user", u.Email, "")
	return c.Redirect(http.StatusSeeOther, safeNext(form.Next))
}

// startSession issues a fresh session id (never reusing one from before
// login) and a fresh CSRF token.
func (s *Server) startSession(c echo.Context, u *models.User) error {
	ctx := c.Request().Context()
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		_ = s.Store.DeleteSession(ctx, ck.Value)
	}
	tok, err := s.Store.CreateSession(ctx, u.ID, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	setCookie(c, sessionCookie, tok, int(store.SessionTTL.Seconds()))
	csrf, err := store.RandomToken(32)
	if err != nil {
		return err
	}
	setCookie(c, csrfCookie, csrf, 0)
	return nil
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := s.Store.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	if u := currentUser(c); u != nil {
		_ = s.Store.Audit(c.Request().Context(), actor(c), "logout", "user", u.Email, "")
	}
	clearCookie(c, sessionCookie)
	setFlash(c, "info", tr(c, "You are signed out."))
	return c.Redirect(http.StatusSeeOther, "/login")
}
