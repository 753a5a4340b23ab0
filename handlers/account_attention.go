package handlers

// The user's own attention settings on the account page: message
// notifications and availability (store/presence.go).

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/views"
)

// accountNotifications saves "Notify me of new messages" (off unless the
// box is ticked).
func (s *Server) accountNotifications(c echo.Context) error {
	u := currentUser(c)
	on := c.FormValue("notify_messages") == "true"
	if err := s.Store.SetNotifyMessages(c.Request().Context(), actor(c), u.ID, on); err != nil {
		return err
	}
	msg := "Notifications are off."
	if on {
		msg = "Notifications are on. Allow them in this browser too."
	}
	setFlash(c, "success", tr(c, msg))
	return c.Redirect(http.StatusSeeOther, "/account")
}

// accountAvailability switches the user between online and away. htmx
// gets the switch back (the workbench and the account page both show
// it); a plain form goes to the account page.
func (s *Server) accountAvailability(c echo.Context) error {
	u := currentUser(c)
	away := c.FormValue("away") == "true"
	if err := s.Store.SetAway(c.Request().Context(), actor(c), u.ID, away); err != nil {
		return err
	}
	if isHTMX(c) {
		return s.render(c, http.StatusOK, views.AvailabilityForm(away, csrfToken(c)))
	}
	msg := "You are online."
	if away {
		msg = "You are away: auto-assignment skips you."
	}
	setFlash(c, "success", tr(c, msg))
	return c.Redirect(http.StatusSeeOther, "/account")
}
