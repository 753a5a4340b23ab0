package handlers

// The admin side of two-factor and single sign-on (docs/guide.md
// "Two-factor"): the policy "Require two-factor for admins" and the gate
// that enforces it, an admin's reset of a user's two-factor, and the
// per-user switch that turns local passwords off for SSO accounts. Every
// change is audited in its transaction.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
)

// twoFactorRequired reports whether the policy requires u to enrol: an
// admin who signs in with a password and has no two-factor yet, while
// "Require two-factor for admins" is on. SSO-only admins are exempt: their
// provider owns the second factor.
func (s *Server) twoFactorRequired(ctx context.Context, u *models.User) (bool, error) {
	if u == nil || u.Role != models.RoleAdmin || u.TOTPEnabled || !u.PasswordLogin {
		return false, nil
	}
	return s.Store.RequireTwoFactorForAdmins(ctx)
}

// enrolRoutes stay open to an admin the policy holds back: the enrolment
// itself and the language picker.
var enrolRoutes = map[string]bool{
	"/account/two-factor":        true,
	"/account/two-factor/start":  true,
	"/account/two-factor/enable": true,
	"/account/language":          true,
}

// twoFactorGate sends an admin the policy holds back to the enrolment
// (guard calls it on every signed-in console route). ok is false when it
// answered the request.
func (s *Server) twoFactorGate(c echo.Context) (ok bool, err error) {
	if enrolRoutes[c.Path()] {
		return true, nil
	}
	must, err := s.twoFactorRequired(c.Request().Context(), currentUser(c))
	if err != nil || !must {
		return !must, err
	}
	const target = "/account/two-factor"
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return false, c.NoContent(http.StatusForbidden)
	}
	return false, c.Redirect(http.StatusSeeOther, target)
}

func (s *Server) twoFactorPolicy(c echo.Context) error {
	on := c.FormValue("require_two_factor_admins") == "1"
	err := s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		if err := s.Store.SetRequireTwoFactorForAdmins(ctx, on); err != nil {
			return err
		}
		detail := "off"
		if on {
			detail = "on"
		}
		return s.Store.Audit(ctx, actor(c), "settings.require_two_factor_admins", "settings", "require_two_factor_admins", detail)
	})
	if err != nil {
		return err
	}
	if on {
		setFlash(c, "success", tr(c, "Two-factor is now required for admins."))
	} else {
		setFlash(c, "success", tr(c, "Two-factor is no longer required for admins."))
	}
	return c.Redirect(http.StatusSeeOther, "/users")
}

// userParam is the user of the :uid route parameter.
func (s *Server) userParam(c echo.Context) (*models.User, error) {
	id, err := strconv.ParseInt(c.Param("uid"), 10, 64)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	return s.Store.UserByID(c.Request().Context(), id)
}

// twoFactorReset turns a user's two-factor off (a lost phone and no
// recovery codes); they sign in with the password and can enrol again.
// Their sessions end with it: whoever has the lost phone may also have a
// signed-in browser.
func (s *Server) twoFactorReset(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	var ended int64
	err = s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		if err := s.Store.DisableTOTP(ctx, u.ID); err != nil {
			return err
		}
		if ended, err = s.Store.EndUserSessions(ctx, u.ID); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "user.two_factor_reset", "user", u.Email, fmt.Sprintf("by an admin, %d sessions ended", ended))
	})
	if err != nil {
		return err
	}
	return backToUsers(c, u, tr(c, "Two-factor of %s is reset and they are signed out everywhere (%d sessions ended).", u.Email, ended))
}

// userPasswordLogin allows or refuses local-password sign-in of an
// account linked to single sign-on (a local-only account would be locked
// out, so its password cannot be turned off).
func (s *Server) userPasswordLogin(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	on := c.FormValue("password_login") == "1"
	if !on && u.OIDCSubject == "" {
		return models.Invalid("password_login", tr(c, "%s has no single sign-on identity: without a password they could not sign in.", u.Email))
	}
	err = s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		if err := s.Store.SetPasswordLogin(ctx, u.ID, on); err != nil {
			return err
		}
		detail := "off"
		if on {
			detail = "on"
		}
		return s.Store.Audit(ctx, actor(c), "user.password_login", "user", u.Email, detail)
	})
	if err != nil {
		return err
	}
	if on {
		setFlash(c, "success", tr(c, "%s may sign in with a password.", u.Email))
	} else {
		setFlash(c, "success", tr(c, "%s signs in only through single sign-on now.", u.Email))
	}
	return c.Redirect(http.StatusSeeOther, "/users")
}
