package handlers

import (
	"github.com/botdesk/botdesk/bots"

	"errors"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

// chatbotPanel builds the Chatbot Management tab.
func (s *Server) chatbotPanel(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
	v, err := s.botPanelView(c, ch, bot)
	if err != nil {
		return nil, err
	}
	return views.BotPanel(v), nil
}

func (s *Server) botPanelView(c echo.Context, ch *models.Channel, bot *models.Bot) (views.BotPanelView, error) {
	st, err := s.Store.ChannelStats(c.Request().Context(), ch.ID)
	if err != nil {
		return views.BotPanelView{}, err
	}
	role := currentRole(c)
	v := views.BotPanelView{Channel: *ch, Bot: bot, Stats: st, CSRF: csrfToken(c),
		CanEdit: role.AtLeast(models.RoleOperator), CanDelete: role.AtLeast(models.RoleAdmin)}
	if bot != nil {
		if v.Business, err = s.Store.BusinessConnections(c.Request().Context(), ch.ID); err != nil {
			return views.BotPanelView{}, err
		}
	}
	return v, nil
}

// botState is the connection-state fragment the tab polls.
func (s *Server) botState(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.BotStateFragment(ch.ID, bot))
}

// botFormDone finishes a console form of the tab. With htmx, success
// re-renders the panel (with a notice) and an expected error goes, as a
// 422, into the form's feedback area, so the dialog stays open and the
// pasted token stays in its field for a retry. Without JS both redirect
// back to the tab with a flash.
func (s *Server) botFormDone(c echo.Context, ch *models.Channel, form string, opErr error, notice string) error {
	back := "/channels/" + ch.ID + "/chatbot"
	if opErr != nil {
		be, ok := formError(opErr)
		if !ok {
			return opErr
		}
		if !isHTMX(c) {
			setFlash(c, "error", tr(c, be.Message))
			return c.Redirect(http.StatusSeeOther, back)
		}
		h := c.Response().Header()
		h.Set("HX-Retarget", "#"+form+"-feedback")
		h.Set("HX-Reswap", "innerHTML")
		return s.render(c, http.StatusUnprocessableEntity, views.BotFormErrorBlock(be))
	}
	if !isHTMX(c) {
		setFlash(c, "success", notice)
		return c.Redirect(http.StatusSeeOther, back)
	}
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	v, err := s.botPanelView(c, ch, bot)
	if err != nil {
		return err
	}
	v.Notice = notice
	return s.render(c, http.StatusOK, views.BotPanel(v))
}

// formError is the form feedback of an expected failure: a bots.Error or
// a validation error. Anything else is for handleError.
func formError(err error) (views.BotFormError, bool) {
	var be *bots.Error
	if errors.As(err, &be) {
		return views.BotFormError{Code: be.Code, Message: be.Message, Retry: be.Retry}, true
	}
	if v, ok := models.AsValidation(err); ok {
		return views.BotFormError{Code: "invalid", Message: v.Message}, true
	}
	return views.BotFormError{}, false
}

// requireBot loads the channel and its bot, failing with bots.ErrNoBot when
// there is none.
func (s *Server) requireBot(c echo.Context) (*models.Channel, *models.Bot, error) {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return nil, nil, err
	}
	if bot == nil {
		return ch, nil, bots.ErrNoBot
	}
	return ch, bot, nil
}

// isNoBot reports the "channel has no bot" case.
func isNoBot(err error) bool { return errors.Is(err, bots.ErrNoBot) }
