package handlers

import (
	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// wbTabOpen is how many open conversations the channel's Workbench tab lists.
const wbTabOpen = 20

// workbenchSettingsPanel is the channel's "Workbench" tab: the mode and
// keywords in force, where to change them (Chatbot Management), the
// channel's open conversations and its auto-assignment.
func (s *Server) workbenchSettingsPanel(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
	set, err := s.Store.AssignSettingsOf(c.Request().Context(), ch.ID)
	if err != nil {
		return nil, err
	}
	return s.workbenchTab(c, ch, set, nil)
}

// workbenchTab is the tab with the auto-assignment card showing set (and
// errs, when a form was refused).
func (s *Server) workbenchTab(c echo.Context, ch *models.Channel, set store.AssignSettings, errs views.FieldErrors) (templ.Component, error) {
	open, err := s.Store.OpenConversationsByChannel(c.Request().Context(), ch.ID, wbTabOpen)
	if err != nil {
		return nil, err
	}
	av, err := s.autoAssignView(c, ch.ID, set, errs)
	if err != nil {
		return nil, err
	}
	return templ.Join(views.WorkbenchSettingsPanel(views.WorkbenchSettingsView{Channel: *ch, Open: open}), views.AutoAssignPanel(av)), nil
}
