package handlers

import (
	"errors"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// panelFunc builds one channel tab's content.
type panelFunc func(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error)

func (s *Server) panel(tab string) panelFunc {
	switch tab {
	case "overview":
		return s.overviewPanel
	case "chatbot":
		return s.chatbotPanel
	case "groups":
		return s.groupsPanel
	case "workbench":
		return s.workbenchSettingsPanel
	case "webhook":
		return s.webhookPanel
	}
	return nil
}

func (s *Server) channelRedirect(c echo.Context) error {
	if _, err := s.channelParam(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/channels/"+c.Param("id")+"/overview")
}

// channelParam loads the channel of the :id route parameter; handlers that
// also need its bot use loadChannel.
func (s *Server) channelParam(c echo.Context) (*models.Channel, error) {
	return s.Store.Channel(c.Request().Context(), c.Param("id"))
}

// loadChannel returns the channel and its bot (nil when none).
func (s *Server) loadChannel(c echo.Context) (*models.Channel, *models.Bot, error) {
	ch, err := s.channelParam(c)
	if err != nil {
		return nil, nil, err
	}
	bot, err := s.Store.BotByChannel(c.Request().Context(), ch.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ch, nil, nil
	}
	return ch, bot, err
}

// channelTab renders a tab: the partial for htmx tab clicks, the full page
// for direct loads (so a reload or shared link lands on the same tab).
func (s *Server) channelTab(c echo.Context) error {
	tab := c.Param("tab")
	build := s.panel(tab)
	if build == nil {
		return echo.NewHTTPError(http.StatusNotFound, "This channel tab does not exist.")
	}
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	return s.renderChannel(c, http.StatusOK, ch, bot, tab, build)
}

func (s *Server) renderChannel(c echo.Context, status int, ch *models.Channel, bot *models.Bot, tab string, build panelFunc) error {
	panel, err := build(c, ch, bot)
	if err != nil {
		return err
	}
	label := tab
	for _, t := range views.ChannelTabs {
		if t.Slug == tab {
			label = tr(c, t.Label)
		}
	}
	p := s.page(c, ch.Name+" · "+label, "channels", channelsCrumb, views.Crumb{Label: ch.ID, Href: "/channels/" + ch.ID + "/overview"}, views.Crumb{Label: label})
	v := views.ChannelView{Channel: *ch, Tab: tab, Panel: panel}
	if isHTMX(c) {
		return s.render(c, status, views.ChannelBody(p, v))
	}
	return s.render(c, status, views.ChannelPage(p, v))
}

func (s *Server) overviewPanel(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
	st, err := s.Store.ChannelStats(c.Request().Context(), ch.ID)
	if err != nil {
		return nil, err
	}
	v := views.OverviewView{Channel: *ch, Bot: bot, Stats: st, CSRF: csrfToken(c), CanDelete: currentRole(c).AtLeast(models.RoleAdmin)}
	if v.Range, v.Charts, err = s.overviewCharts(c, ch.ID, c.QueryParam("range")); err != nil {
		return nil, err
	}
	return views.OverviewPanel(v), nil
}

func (s *Server) groupsPanel(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
	chats, err := s.Store.ListChats(c.Request().Context(), ch.ID)
	if err != nil {
		return nil, err
	}
	return views.GroupsPanel(chats, bot != nil), nil
}
