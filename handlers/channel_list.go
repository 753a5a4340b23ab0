package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

// channelsPerPage is the Channel Management page size.
const channelsPerPage = 20

var channelsCrumb = views.Crumb{Label: "Channel Management", Href: "/channels"}

func (s *Server) channelList(c echo.Context) error {
	return s.renderChannelList(c, http.StatusOK, "", nil)
}

func (s *Server) renderChannelList(c echo.Context, status int, newName string, errs views.FieldErrors) error {
	page, _ := strconv.Atoi(c.QueryParam("page"))
	q := c.QueryParam("q")
	if len(q) > 200 {
		q = q[:200]
	}
	// The table shows id, name, bot and creation time: the summary reads
	// only those columns.
	ctx := c.Request().Context()
	table, err := s.cachedHTML(ctx, fmt.Sprintf("channel-table|%q|%d", q, page), func() (templ.Component, error) {
		list, err := s.Store.ListChannelSummaries(ctx, q, page, channelsPerPage)
		return views.ChannelTable(list, q), err
	})
	if err != nil {
		return err
	}
	p := s.page(c, "Channel Management", "channels", views.Crumb{Label: "Channel Management"})
	v := views.ChannelListView{Table: table, Query: q, NewName: newName, Errors: errs, CanCreate: currentRole(c).AtLeast(models.RoleOperator)}
	return s.render(c, status, views.ChannelListPage(p, v))
}

func (s *Server) channelCreate(c echo.Context) error {
	name := c.FormValue("name")
	ch, err := s.createChannel(c, name)
	if v, ok := models.AsValidation(err); ok {
		return s.renderChannelList(c, http.StatusUnprocessableEntity, name, views.FieldErrors{v.Field: v.Message})
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Channel %s created. Connect a bot on Chatbot Management.", ch.Name))
	return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/chatbot")
}

// createChannel creates a channel with its audit row in one transaction;
// shared by the console and the API.
func (s *Server) createChannel(c echo.Context, name string) (*models.Channel, error) {
	var ch *models.Channel
	err := s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		var err error
		if ch, err = s.Store.CreateChannel(ctx, name, actor(c).UserID); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "channel.create", "channel", ch.ID, ch.Name)
	})
	return ch, err
}
