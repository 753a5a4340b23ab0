package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// webhookPanel is the Webhook tab: the Configure Webhook form, the signing
// secret and the delivery log (filtered by the query string).
func (s *Server) webhookPanel(c echo.Context, ch *models.Channel, _ *models.Bot) (templ.Component, error) {
	return s.webhookPanelWith(c, ch, formOf(ch), nil, false, s.secretView(c, ch, "", false))
}

// webhookPanelWith builds the tab around a given form state and secret
// card, so a full-page response after a plain form post shows the errors
// or the revealed secret in place.
func (s *Server) webhookPanelWith(c echo.Context, ch *models.Channel, f views.WebhookForm, errs views.FieldErrors, saved bool, sec views.SecretView) (templ.Component, error) {
	v, err := s.webhookView(c, ch, f, errs, false)
	if err != nil {
		return nil, err
	}
	v.Saved = saved
	log, err := s.deliveryLogView(c, ch, c.QueryParam("kind"), c.QueryParam("state"), c.QueryParam("before"))
	if err != nil {
		return nil, err
	}
	return views.WebhookPanel(v, sec, log), nil
}

// renderWebhookTab renders the whole channel page on the Webhook tab.
func (s *Server) renderWebhookTab(c echo.Context, status int, ch *models.Channel, bot *models.Bot, panel templ.Component) error {
	return s.renderChannel(c, status, ch, bot, "webhook", func(echo.Context, *models.Channel, *models.Bot) (templ.Component, error) {
		return panel, nil
	})
}

func formOf(ch *models.Channel) views.WebhookForm {
	return views.WebhookForm{HTTPEnabled: ch.HTTPEnabled, StatusURL: ch.StatusURL, MOURL: ch.MOURL, NotifyURL: ch.NotifyURL, QueueEnabled: ch.QueueEnabled}
}

// webhookView builds the form's view-model with the queues' current load.
func (s *Server) webhookView(c echo.Context, ch *models.Channel, f views.WebhookForm, errs views.FieldErrors, dialog bool) (views.WebhookView, error) {
	ctx := c.Request().Context()
	v := views.WebhookView{ChannelID: ch.ID, CSRF: csrfToken(c), Form: f, Errors: errs, Dialog: dialog}
	now := time.Now().UTC()
	stats, err := s.Store.QueueStats(ctx, ch.ID, now)
	if err != nil {
		return v, err
	}
	for _, q := range channelQueues(ch.ID) {
		qi := views.QueueInfo{Kind: string(q.kind), Label: q.label, Name: q.name, OldestAge: "—"}
		if i := slices.IndexFunc(stats, func(st store.QueueStat) bool { return st.Queue == q.name }); i >= 0 {
			qi.Depth, qi.InFlight = stats[i].Depth, stats[i].InFlight
			if stats[i].Oldest != nil {
				qi.OldestAge = humanAge(now.Sub(*stats[i].Oldest))
			}
		}
		v.Queues = append(v.Queues, qi)
	}
	if !ch.HTTPEnabled {
		a, err := s.Store.LastDisable(ctx, ch.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return v, err
		// Only while nobody saved the form since the 410 (saving again
		// is how HTTP is turned back on, or deliberately left off).
		case !ch.UpdatedAt.After(a.At.Add(time.Minute)):
			v.DisabledBy = a
		}
	}
	return v, nil
}

type channelQueue struct {
	kind  callbacks.EventType
	label string
	name  string
}

// channelQueues lists a channel's queues with the console's labels.
func channelQueues(channelID string) []channelQueue {
	return []channelQueue{
		{callbacks.TypeStatus, "Message Receipt Queue", callbacks.QueueName(channelID, callbacks.TypeStatus)},
		{callbacks.TypeMO, "MO Message Queue", callbacks.QueueName(channelID, callbacks.TypeMO)},
		{callbacks.TypeNotify, "Notification Queue", callbacks.QueueName(channelID, callbacks.TypeNotify)},
	}
}

// humanAge says how old the oldest queued message is, coarsely.
func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// deliveryLogView loads one page of the delivery log. Unknown filter
// values show everything rather than fail: they come from a URL.
func (s *Server) deliveryLogView(c echo.Context, ch *models.Channel, kind, state, before string) (views.DeliveryLogView, error) {
	if !slices.Contains(store.OutboxKinds, kind) {
		kind = ""
	}
	if state != "retrying" && !slices.Contains(store.OutboxStates, state) {
		state = ""
	}
	b, _ := strconv.ParseInt(before, 10, 64)
	page, err := s.Store.ListDeliveries(c.Request().Context(), ch.ID, store.DeliveryFilter{Kind: kind, State: state, Before: b, Limit: 50})
	if err != nil {
		return views.DeliveryLogView{}, err
	}
	return views.DeliveryLogView{ChannelID: ch.ID, CSRF: csrfToken(c), Kind: kind, State: state, Page: page,
		CanResend: currentRole(c).AtLeast(models.RoleOperator)}, nil
}

// webhookConfigure returns the Configure Webhook dialog for htmx (the
// "Configure Webhook" button of Chatbot Management); a direct load goes to
// the Webhook tab, where the same form is inline.
func (s *Server) webhookConfigure(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/webhook")
	}
	v, err := s.webhookView(c, ch, formOf(ch), nil, true)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.WebhookDialog(v))
}
