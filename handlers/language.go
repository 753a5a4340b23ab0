package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/models"
)

// languageSave stores the signed-in user's console language and returns to
// the page they came from. "auto" (or empty) follows the browser again.
func (s *Server) languageSave(c echo.Context) error {
	u := currentUser(c)
	v := c.FormValue("language")
	if v == "auto" {
		v = ""
	}
	if _, ok := i18n.Parse(v); v != "" && !ok {
		return models.Invalid("language", "Choose a language from the list.")
	}
	if err := s.Store.SetUserLanguage(c.Request().Context(), u.ID, v); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}
