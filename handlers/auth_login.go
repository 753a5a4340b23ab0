package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

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
	return s.render(c, http.StatusOK, views.LoginPage(p, views.LoginForm{Next: c.QueryParam("next"), SSO: s.SSO != nil}))
}

// genericLoginError never says whether the email exists.
const genericLoginError = "Email or password is incorrect."

// passwordLoginOff answers a correct password of an account that may sign
// in only through single sign-on.
const passwordLoginOff = "This account signs in with single sign-on only: use \"Sign in with SSO\"."

func (s *Server) login(c echo.Context) error {
	ctx := c.Request().Context()
	rawEmail, password := c.FormValue("email"), c.FormValue("password")
	form := views.LoginForm{Next: c.FormValue("next"), SSO: s.SSO != nil}
	ip := c.RealIP()
	fail := func(status int, msg string) error {
		p := s.page(c, "Sign in", "", views.Crumb{Label: "Sign in"})
		form.Error = msg
		return s.render(c, status, views.LoginPage(p, form))
	}
	// Oversized input is refused before anything is stored or hashed: no
	// account has such an email, and argon2 over a huge password is work
	// an attacker chooses.
	if len(rawEmail) > maxEmailBytes || len(password) > maxPasswordBytes {
		return fail(http.StatusUnprocessableEntity, "Email or password is too long.")
	}
	email := strings.ToLower(strings.TrimSpace(rawEmail))
	form.Email = email

	// Throttled and busy refusals are counted (/metrics), not audited one
	// row each, and answered before the hash: the same for every email.
	wait, err := s.Store.LoginWait(ctx, email, ip)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.loginThrottled.Add(1)
		retryAfter(c, wait) // the exact wait; the message is one catalogue key
		return fail(http.StatusTooManyRequests, "Too many failed sign-ins from here. Wait a moment and try again.")
	}
	release, ok := s.tryHashSlot()
	if !ok {
		s.loginThrottled.Add(1)
		retryAfter(c, time.Second)
		return fail(http.StatusTooManyRequests, "The server is busy signing others in. Try again in a moment.")
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		release()
		return err
	}
	// An account without a local password (created by single sign-on)
	// is hashed against the dummy too, so its answer takes as long.
	hash := models.DummyHash
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, _ = models.VerifyPassword(hash, password)
	ok = ok && u != nil && u.PasswordHash != ""
	release()
	if u == nil || !ok || !u.Active {
		err := s.Store.WithTx(ctx, func(ctx context.Context) error {
			if err := s.Store.RecordLoginFailure(ctx, email, ip); err != nil {
				return err
			}
			return s.Store.Audit(ctx, store.Actor{Name: email, IP: ip}, "login.failed", "user", email, "")
		})
		if err != nil {
			return err
		}
		return fail(http.StatusUnauthorized, genericLoginError)
	}
	// Only someone who knows the password learns that it is turned off
	// (an admin's switch for single sign-on accounts).
	if !u.PasswordLogin {
		err := s.Store.WithTx(ctx, func(ctx context.Context) error {
			if err := s.Store.RecordLoginFailure(ctx, email, ip); err != nil {
				return err
			}
			return s.Store.Audit(ctx, store.Actor{UserID: &u.ID, Name: email, IP: ip}, "login.refused", "user", email, "password sign-in is off for this account")
		})
		if err != nil {
			return err
		}
		return fail(http.StatusForbidden, passwordLoginOff)
	}
	if u.TOTPEnabled {
		return s.startChallenge(c, u, form.Next)
	}
	err = s.startSession(c, u, func(ctx context.Context) error {
		if err := s.Store.ClearLoginFailures(ctx, email, ip); err != nil {
			return err
		}
		return s.Store.Audit(ctx, store.Actor{UserID: &u.ID, Name: u.Email, IP: ip}, "login", "user", u.Email, "")
	})
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(form.Next))
}

// startSession issues a fresh session id (never reusing one from before
// login) and a fresh CSRF token. also (the audit row of the sign-in) runs
// in the session's transaction: no session without it.
func (s *Server) startSession(c echo.Context, u *models.User, also func(ctx context.Context) error) error {
	var tok string
	err := s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		if v := readCookie(c, sessionCookie); v != "" {
			if err := s.Store.DeleteSession(ctx, v); err != nil {
				return err
			}
		}
		var err error
		if tok, err = s.Store.CreateSession(ctx, u.ID, c.RealIP(), c.Request().UserAgent()); err != nil {
			return err
		}
		return also(ctx)
	})
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
	err := s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		if v := readCookie(c, sessionCookie); v != "" {
			if err := s.Store.DeleteSession(ctx, v); err != nil {
				return err
			}
		}
		if u := currentUser(c); u != nil {
			return s.Store.Audit(ctx, actor(c), "logout", "user", u.Email, "")
		}
		return nil
	})
	if err != nil {
		return err
	}
	clearCookie(c, sessionCookie)
	setFlash(c, "info", tr(c, "You are signed out."))
	return c.Redirect(http.StatusSeeOther, "/login")
}
