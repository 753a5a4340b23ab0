package handlers

// Single sign-on (DESIGN.md "Single sign-on"): /auth/oidc/login starts an
// authorization code flow with PKCE, /auth/oidc/callback finishes it. The
// state, nonce and PKCE verifier are stored server-side under the state's
// hash and used up by the callback (a replayed state finds nothing); the
// state is also in a short-lived cookie, so a callback started in another
// browser (login CSRF) is refused.

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/sso"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

const oidcCookie = "bd_oidc"

// ssoRedirectURL is <public URL>/auth/oidc/callback; without a configured
// public URL (tests) the request's own host.
func (s *Server) ssoRedirectURL(c echo.Context) string {
	base := s.Options.PublicURL
	if base == "" {
		base = "http://" + c.Request().Host
	}
	return base + "/auth/oidc/callback"
}

func (s *Server) ssoLogin(c echo.Context) error {
	if s.SSO == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Single sign-on is not configured here.")
	}
	ctx := c.Request().Context()
	state, err := store.RandomToken(32)
	if err != nil {
		return err
	}
	nonce, err := store.RandomToken(32)
	if err != nil {
		return err
	}
	verifier, err := store.RandomToken(48) // RFC 7636: 43–128 characters
	if err != nil {
		return err
	}
	if err := s.Store.SaveOIDCState(ctx, state, nonce, verifier, safeNext(c.QueryParam("next"))); err != nil {
		return err
	}
	u, err := s.SSO.AuthURL(ctx, s.ssoRedirectURL(c), state, nonce, verifier)
	if err != nil {
		s.Log.WarnContext(ctx, "sso: start", "err", err)
		return s.ssoRefuse(c, http.StatusBadGateway, "The single sign-on provider cannot be reached right now. Try again in a moment, or sign in with your password.")
	}
	setCookie(c, oidcCookie, state, int(store.OIDCStateTTL.Seconds()))
	return c.Redirect(http.StatusSeeOther, u)
}

func (s *Server) ssoCallback(c echo.Context) error {
	if s.SSO == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Single sign-on is not configured here.")
	}
	ctx := c.Request().Context()
	state := c.QueryParam("state")
	cookieState := readCookie(c, oidcCookie)
	clearCookie(c, oidcCookie)
	if e := c.QueryParam("error"); e != "" {
		return s.ssoRefuse(c, http.StatusUnauthorized, "The single sign-on provider did not sign you in. Try again.")
	}
	if state == "" || cookieState == "" || state != cookieState {
		return s.ssoRefuse(c, http.StatusBadRequest, "This sign-in was not started in this browser, or it was already used. Start again with \"Sign in with SSO\".")
	}
	nonce, verifier, next, err := s.Store.TakeOIDCState(ctx, state)
	if errors.Is(err, store.ErrNotFound) {
		return s.ssoRefuse(c, http.StatusBadRequest, "This sign-in link was already used or has expired. Start again with \"Sign in with SSO\".")
	}
	if err != nil {
		return err
	}
	id, err := s.SSO.Exchange(ctx, s.ssoRedirectURL(c), c.QueryParam("code"), verifier, nonce)
	audit := func(action, detail string) error {
		return s.Store.Audit(ctx, store.Actor{Name: id.Email, IP: c.RealIP()}, action, "user", id.Email, detail)
	}
	switch {
	case errors.Is(err, sso.ErrNoRole):
		if err := audit("login.sso_refused", "no mapped role"); err != nil {
			return err
		}
		return s.ssoRefuse(c, http.StatusForbidden, "Your single sign-on account has no botdesk role: none of your groups is mapped to admin, operator or agent. Ask your administrator to add you to a botdesk group.")
	case errors.Is(err, sso.ErrDomain):
		if err := audit("login.sso_refused", "e-mail domain not allowed"); err != nil {
			return err
		}
		return s.ssoRefuse(c, http.StatusForbidden, "Accounts of this e-mail domain may not sign in to botdesk.")
	case errors.Is(err, sso.ErrNoEmail):
		return s.ssoRefuse(c, http.StatusForbidden, "The single sign-on provider did not tell botdesk your e-mail address, so you cannot be signed in.")
	case errors.Is(err, sso.ErrProvider), errors.Is(err, sso.ErrToken):
		s.Log.WarnContext(ctx, "sso: callback", "err", err)
		return s.ssoRefuse(c, http.StatusUnauthorized, "The answer of the single sign-on provider could not be verified, so you are not signed in. Try again; if it keeps failing, tell your administrator.")
	case err != nil:
		return err
	}
	var u *models.User
	err = s.Store.WithTx(ctx, func(ctx2 context.Context) error {
		var created bool
		var err error
		if u, created, err = s.Store.SSOSignIn(ctx2, id.Issuer, id.Subject, id.Email, id.EmailVerified, id.Role); err != nil {
			return err
		}
		detail := "single sign-on"
		if created {
			if err := s.Store.Audit(ctx2, store.Actor{UserID: &u.ID, Name: u.Email, IP: c.RealIP()}, "user.create", "user", u.Email, "role "+string(u.Role)+" via single sign-on"); err != nil {
				return err
			}
		}
		return s.Store.Audit(ctx2, store.Actor{UserID: &u.ID, Name: u.Email, IP: c.RealIP()}, "login", "user", u.Email, detail)
	})
	switch {
	case errors.Is(err, store.ErrInactive):
		return s.ssoRefuse(c, http.StatusForbidden, "Your botdesk account is deactivated. Ask an admin.")
	case errors.Is(err, store.ErrSSOUnverified):
		return s.ssoRefuse(c, http.StatusForbidden, "A botdesk account with this e-mail exists, but your provider has not verified the address, so it cannot be linked. Sign in with your password, or ask your administrator.")
	case err != nil:
		return err
	}
	if err := s.startSession(c, u, func(context.Context) error { return nil }); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// ssoRefuse shows the login page with a plain-language refusal.
func (s *Server) ssoRefuse(c echo.Context, status int, msg string) error {
	p := s.page(c, "Sign in", "", views.Crumb{Label: "Sign in"})
	return s.render(c, status, views.LoginPage(p, views.LoginForm{Error: msg, SSO: s.SSO != nil}))
}
