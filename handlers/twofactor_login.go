package handlers

// The second step of signing in (docs/guide.md "Two-factor"): a correct
// password for an account with two-factor on creates no session but a
// challenge (a random cookie, stored hashed, live for
// store.LoginChallengeTTL); a correct code or an unused recovery code
// then finishes the sign-in. Wrong codes count against the challenge
// (void after store.MaxChallengeAttempts) and against the sign-in
// throttle of the email and IP, like wrong passwords.

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

const challengeCookie = "bd_2fa"

// startChallenge is where login sends a correct password of an account
// with two-factor on.
func (s *Server) startChallenge(c echo.Context, u *models.User, next string) error {
	tok, err := s.Store.CreateLoginChallenge(c.Request().Context(), u.ID, safeNext(next))
	if err != nil {
		return err
	}
	setCookie(c, challengeCookie, tok, int(store.LoginChallengeTTL.Seconds()))
	return c.Redirect(http.StatusSeeOther, "/login/two-factor")
}

// challenge returns the live challenge of this browser and its user, or
// sends the browser back to the sign-in form.
func (s *Server) challenge(c echo.Context) (tok string, ch store.LoginChallenge, u *models.User, err error) {
	ctx := c.Request().Context()
	tok = readCookie(c, challengeCookie)
	if tok == "" {
		return "", ch, nil, store.ErrNotFound
	}
	if ch, err = s.Store.LoginChallengeByToken(ctx, tok); err != nil {
		return "", ch, nil, err
	}
	if u, err = s.Store.UserByID(ctx, ch.UserID); err != nil {
		return "", ch, nil, err
	}
	if !u.Active || !u.PasswordLogin || !u.TOTPEnabled {
		return "", ch, nil, store.ErrNotFound
	}
	return tok, ch, u, nil
}

// challengeGone answers a missing, expired or used-up challenge: back to
// the password.
func (s *Server) challengeGone(c echo.Context, msg string) error {
	clearCookie(c, challengeCookie)
	setFlash(c, "error", msg)
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) twoFactorLoginForm(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	if _, _, _, err := s.challenge(c); errors.Is(err, store.ErrNotFound) {
		return s.challengeGone(c, tr(c, "Your sign-in expired. Enter your email and password again."))
	} else if err != nil {
		return err
	}
	return s.renderChallenge(c, http.StatusOK, "")
}

func (s *Server) renderChallenge(c echo.Context, status int, msg string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	p := s.page(c, "Two-factor code", "", views.Crumb{Label: "Sign in"})
	return s.render(c, status, views.TwoFactorLoginPage(p, views.TwoFactorLoginView{Error: msg}))
}

func (s *Server) twoFactorLogin(c echo.Context) error {
	ctx := c.Request().Context()
	ip := c.RealIP()
	tok, ch, u, err := s.challenge(c)
	if errors.Is(err, store.ErrNotFound) {
		return s.challengeGone(c, tr(c, "Your sign-in expired. Enter your email and password again."))
	}
	if err != nil {
		return err
	}
	wait, err := s.Store.LoginWait(ctx, u.Email, ip)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.loginThrottled.Add(1)
		retryAfter(c, wait)
		return s.renderChallenge(c, http.StatusTooManyRequests, tr(c, "Too many failed sign-ins from here. Wait a moment and try again."))
	}
	// The code is used up, the challenge taken, the sign-in audited and
	// the session created in one transaction: no session without the
	// code's use, no used code without the session.
	err = s.startSession(c, u, func(ctx context.Context) error {
		how, err := s.useSecondFactor(ctx, c, u, c.FormValue("code"))
		if err != nil {
			return err
		}
		// A concurrent request finishing the same challenge first wins.
		if err := s.Store.TakeLoginChallenge(ctx, tok); err != nil {
			return err
		}
		if err := s.Store.ClearLoginFailures(ctx, u.Email, ip); err != nil {
			return err
		}
		return s.Store.Audit(ctx, store.Actor{UserID: &u.ID, Name: u.Email, IP: ip}, "login", "user", u.Email, "password and "+how)
	})
	switch {
	case errors.Is(err, errWrongCode):
		return s.challengeFailed(c, tok, u)
	case errors.Is(err, store.ErrNotFound):
		return s.challengeGone(c, tr(c, "Your sign-in expired. Enter your email and password again."))
	case err != nil:
		return err
	}
	clearCookie(c, challengeCookie)
	return c.Redirect(http.StatusSeeOther, safeNext(ch.Next))
}

// challengeFailed counts a wrong code against the challenge and the
// sign-in throttle, audited with them.
func (s *Server) challengeFailed(c echo.Context, tok string, u *models.User) error {
	ctx := c.Request().Context()
	ip := c.RealIP()
	var left int
	err := s.Store.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if left, err = s.Store.FailLoginChallenge(ctx, tok); err != nil {
			return err
		}
		if err := s.Store.RecordLoginFailure(ctx, u.Email, ip); err != nil {
			return err
		}
		return s.Store.Audit(ctx, store.Actor{UserID: &u.ID, Name: u.Email, IP: ip}, "login.two_factor_failed", "user", u.Email, "")
	})
	if err != nil {
		return err
	}
	if left == 0 {
		return s.challengeGone(c, tr(c, "Too many wrong codes. Enter your email and password again."))
	}
	return s.renderChallenge(c, http.StatusUnauthorized, tr(c, "That code is not right, or it was already used."))
}
