package handlers

import (
	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

// wbTabOpen is how many open conversations the channel's Workbench tab lists.
const wbTabOpen = 20

// workbenchSettingsPanel is the channel's "Workbench" tab: the mode and
// keywords in force, where to change them (Chatbot Management), and the
// channel's open conversations.
func (s *Server) workbenchSettingsPanel(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
	open, err := s.Store.OpenConversationsByChannel(c.Request().Context(), ch.ID, wbTabOpen)
	if err != nil {
		return nil, err
	}
	return views.WorkbenchSettingsPanel(views.WorkbenchSettingsView{Channel: *ch, Open: open}), nil
}
