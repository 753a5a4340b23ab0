package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/i18n"
)

// locale picks the request's language (the user's setting, else
// Accept-Language, else English) and puts its localizer into the request
// context, where views.T and tr find it. It runs after loadIdentity.
func (s *Server) locale(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPI(c) {
			return next(c) // the JSON API speaks English to programs
		}
		pref := ""
		if u := currentUser(c); u != nil {
			pref = u.Language
		}
		l := s.I18n.Localizer(s.I18n.Negotiate(pref, c.Request().Header.Get("Accept-Language")))
		r := c.Request()
		c.SetRequest(r.WithContext(i18n.WithLocalizer(r.Context(), l)))
		h := c.Response().Header()
		h.Add(echo.HeaderVary, "Accept-Language")
		h.Set("Content-Language", string(l.Lang()))
		return next(c)
	}
}

// tr translates an English text (a fmt format when args are given) into the
// request's language, for flashes and messages built in handlers.
func tr(c echo.Context, key string, args ...any) string {
	return i18n.From(c.Request().Context()).T(key, args...)
}
