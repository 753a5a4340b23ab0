package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// setupForm shows the first-admin form for a valid one-time link.
func (s *Server) setupForm(c echo.Context) error {
	tok := c.QueryParam("token")
	ok, err := s.Store.SetupTokenValid(c.Request().Context(), tok)
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "This set-up link was already used or is unknown. Sign in, or run `botdesk user add` on the server.")
	}
	p := s.page(c, "Set up botdesk", "", views.Crumb{Label: "Set up"})
	return s.render(c, http.StatusOK, views.SetupPage(p, views.SetupForm{Token: tok}))
}

func (s *Server) setup(c echo.Context) error {
	ctx := c.Request().Context()
	form := views.SetupForm{Token: c.FormValue("token"), Email: c.FormValue("email")}
	var u *models.User
	err := s.Store.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.Store.CompleteSetup(ctx, form.Token, form.Email, c.FormValue("password")); err != nil {
			return err
		}
		return s.Store.Audit(ctx, store.Actor{UserID: &u.ID, Name: u.Email, IP: c.RealIP()}, "user.create", "user", u.Email, "first admin via set-up link")
	})
	if v, ok := models.AsValidation(err); ok {
		form.Errors = views.FieldErrors{v.Field: v.Message}
		p := s.page(c, "Set up botdesk", "", views.Crumb{Label: "Set up"})
		return s.render(c, http.StatusUnprocessableEntity, views.SetupPage(p, form))
	}
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This set-up link was already used or is unknown.")
	}
	if err != nil {
		return err
	}
	if err := s.startSession(c, u, func(context.Context) error { return nil }); err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Welcome! You are the first admin. Create a channel to get started."))
	return c.Redirect(http.StatusSeeOther, "/channels")
}
