package handlers

// The signed-in user's own account: password change and sessions (see
// where you are signed in, end one, sign out everywhere), and the admin's
// "sign out everywhere" for any user.

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) accountPage(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, views.AccountView{})
}

func (s *Server) renderAccount(c echo.Context, status int, v views.AccountView) error {
	u := currentUser(c)
	sessions, err := s.Store.ListSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	v.Sessions, v.Current = sessions, store.SessionID(readCookie(c, sessionCookie))
	v.TwoFactor, v.PasswordLogin = u.TOTPEnabled, u.PasswordLogin
	if u.TOTPEnabled {
		if v.RecoveryLeft, err = s.Store.RecoveryCodesLeft(c.Request().Context(), u.ID); err != nil {
			return err
		}
	}
	return s.render(c, status, views.AccountPage(s.page(c, tr(c, "Account"), "account", views.Crumb{Label: tr(c, "Account")}), v))
}

// accountPassword changes the user's password after checking the current
// one. The store ends every session of the user; this browser gets a
// fresh one so it stays signed in.
func (s *Server) accountPassword(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	current, next := c.FormValue("current_password"), c.FormValue("password")
	if len(current) > maxPasswordBytes {
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountView{Errors: views.FieldErrors{"current_password": tr(c, "The current password is incorrect.")}})
	}
	if err := models.CheckPassword(next); err != nil {
		v, _ := models.AsValidation(err)
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountView{Errors: views.FieldErrors{"password": v.Message}})
	}
	release, ok := s.tryHashSlot()
	if !ok {
		retryAfter(c, 0)
		return echo.NewHTTPError(http.StatusTooManyRequests, tr(c, "The server is busy; try again in a moment."))
	}
	good, _ := models.VerifyPassword(u.PasswordHash, current)
	release()
	if !good {
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountView{Errors: views.FieldErrors{"current_password": tr(c, "The current password is incorrect.")}})
	}
	err := s.Store.WithTx(ctx, func(ctx context.Context) error {
		if err := s.Store.SetPassword(ctx, u.ID, next); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "user.password", "user", u.Email, "changed by the user; other sessions ended")
	})
	if err != nil {
		return err
	}
	if err := s.startSession(c, u, func(context.Context) error { return nil }); err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Password changed. Every other session was signed out."))
	return c.Redirect(http.StatusSeeOther, "/account")
}

func (s *Server) accountEndSession(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	sid := c.Param("sid")
	err := s.Store.WithTx(ctx, func(ctx context.Context) error {
		if err := s.Store.EndSession(ctx, u.ID, sid); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "session.end", "user", u.Email, "one session")
	})
	if err != nil {
		return err // someone else's or unknown session: 404
	}
	if sid == store.SessionID(readCookie(c, sessionCookie)) {
		clearCookie(c, sessionCookie)
		setFlash(c, "info", tr(c, "You are signed out."))
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	setFlash(c, "success", tr(c, "Session ended."))
	return c.Redirect(http.StatusSeeOther, "/account")
}

func (s *Server) accountEndAll(c echo.Context) error {
	u := currentUser(c)
	if _, err := s.endAllSessions(c, u); err != nil {
		return err
	}
	clearCookie(c, sessionCookie)
	setFlash(c, "info", tr(c, "You are signed out everywhere."))
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) userEndSessions(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	n, err := s.endAllSessions(c, u)
	if err != nil {
		return err
	}
	return backToUsers(c, u, tr(c, "%s is signed out everywhere (%d sessions ended).", u.Email, n))
}

// backToUsers ends an admin's change that signed u out everywhere: the
// Users page with flash, or the sign-in page when u is the admin.
func backToUsers(c echo.Context, u *models.User, flash string) error {
	if me := currentUser(c); me != nil && me.ID == u.ID {
		clearCookie(c, sessionCookie)
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	setFlash(c, "success", flash)
	return c.Redirect(http.StatusSeeOther, "/users")
}

// endAllSessions is "sign out everywhere" for u, audited with the change.
func (s *Server) endAllSessions(c echo.Context, u *models.User) (int64, error) {
	var n int64
	err := s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		var err error
		if n, err = s.Store.EndUserSessions(ctx, u.ID); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "session.end_all", "user", u.Email, strconv.FormatInt(n, 10)+" sessions")
	})
	return n, err
}
