package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

func (s *Server) apiKeyList(c echo.Context) error {
	return s.renderAPIKeys(c, http.StatusOK, views.APIKeysView{})
}

func (s *Server) renderAPIKeys(c echo.Context, status int, v views.APIKeysView) error {
	ks, err := s.Store.ListAPIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	v.Keys = ks
	// The page may carry a secret shown once: never cache it.
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, status, views.APIKeysPage(s.page(c, "API keys", "apikeys", views.Crumb{Label: "API keys"}), v))
}

// apiKeyCreate shows the new key in the response itself (not a redirect),
// so it is displayed once and never stored anywhere readable.
func (s *Server) apiKeyCreate(c echo.Context) error {
	ctx := c.Request().Context()
	role, err := models.ParseRole(c.FormValue("role"))
	if err != nil {
		return s.renderAPIKeys(c, http.StatusUnprocessableEntity, views.APIKeysView{Errors: views.FieldErrors{"role": err.Error()}})
	}
	var key string
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		var k *models.APIKey
		var err error
		if key, k, err = s.Store.CreateAPIKey(ctx, c.FormValue("name"), role, actor(c).UserID); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "apikey.create", "apikey", k.Prefix, k.Name+" ("+string(k.Role)+")")
	})
	if v, ok := models.AsValidation(err); ok {
		return s.renderAPIKeys(c, http.StatusUnprocessableEntity, views.APIKeysView{Errors: views.FieldErrors{v.Field: v.Message}})
	}
	if err != nil {
		return err
	}
	return s.renderAPIKeys(c, http.StatusOK, views.APIKeysView{Created: key})
}

func (s *Server) apiKeyRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("kid"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		if err := s.Store.RevokeAPIKey(ctx, id); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "apikey.revoke", "apikey", strconv.FormatInt(id, 10), "")
	})
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "API key revoked."))
	return c.Redirect(http.StatusSeeOther, "/apikeys")
}
