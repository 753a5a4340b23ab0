package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// deliveryLog is the filtered delivery log: the partial for htmx, the
// Webhook tab for a direct load (filters and cursor in the query string).
func (s *Server) deliveryLog(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		return s.renderChannel(c, http.StatusOK, ch, bot, "webhook", s.webhookPanel)
	}
	v, err := s.deliveryLogView(c, ch, c.QueryParam("kind"), c.QueryParam("state"), c.QueryParam("before"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.DeliveryLog(v))
}

// resend puts an event back to pending with a fresh schedule, audited.
func (s *Server) resend(c echo.Context, ch *models.Channel, eventID string) (*models.OutboxEvent, error) {
	var ev *models.OutboxEvent
	err := s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		var err error
		if ev, err = s.Store.ResendOutbox(ctx, ch.ID, eventID); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "webhook.resend", "channel", ch.ID, eventID)
	})
	return ev, err
}

// deliveryResend is the log's Resend button.
func (s *Server) deliveryResend(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	if _, err := s.resend(c, ch, c.Param("eid")); err != nil {
		return err
	}
	if !isHTMX(c) {
		setFlash(c, "success", tr(c, "Event %s will be sent again shortly.", c.Param("eid")))
		return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/webhook")
	}
	v, err := s.deliveryLogView(c, ch, c.FormValue("kind"), c.FormValue("state"), "")
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.DeliveryLog(v))
}

// apiAttempt and apiDelivery are the JSON shapes of the delivery log.
type apiAttempt struct {
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code"`
	LatencyMS  int64     `json:"latency_ms"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
}

type apiDelivery struct {
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	State         string          `json:"state"`
	AttemptCount  int             `json:"attempt_count"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	Payload       json.RawMessage `json:"payload"`
	Attempts      []apiAttempt    `json:"attempts"`
}

func toAPIDelivery(e store.DeliveryEntry) apiDelivery {
	d := apiDelivery{EventID: e.Event.EventID, Type: e.Event.Kind, State: e.Event.State, AttemptCount: e.Event.Attempts,
		DeliveredAt: e.Event.DeliveredAt, LastError: e.Event.LastError, CreatedAt: e.Event.CreatedAt,
		Payload: json.RawMessage(e.Event.Payload), Attempts: []apiAttempt{}}
	if e.Event.State == store.OutboxStatePending {
		t := e.Event.NextAttemptAt
		d.NextAttemptAt = &t
	}
	for _, a := range e.Attempts {
		d.Attempts = append(d.Attempts, apiAttempt{At: a.At, URL: a.URL, StatusCode: a.StatusCode, LatencyMS: a.LatencyMS, Outcome: a.Outcome, Error: a.Error})
	}
	return d
}

// apiDeliveries is GET /api/v1/channels/{id}/deliveries?type=&state=&before=&limit=.
func (s *Server) apiDeliveries(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	f := store.DeliveryFilter{Kind: c.QueryParam("type"), State: c.QueryParam("state")}
	if f.Kind != "" && !slices.Contains(store.OutboxKinds, f.Kind) {
		return models.Invalid("type", "type must be status, mo or notify.")
	}
	if f.State != "" && f.State != "retrying" && !slices.Contains(store.OutboxStates, f.State) {
		return models.Invalid("state", "state must be pending, retrying, delivering, delivered, failed or skipped.")
	}
	if v := c.QueryParam("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 200 {
			return models.Invalid("limit", "limit must be a number from 1 to 200.")
		}
	}
	if v := c.QueryParam("before"); v != "" {
		if f.Before, err = strconv.ParseInt(v, 10, 64); err != nil || f.Before < 0 {
			return models.Invalid("before", "before must be the next_before value of the previous page.")
		}
	}
	page, err := s.Store.ListDeliveries(c.Request().Context(), ch.ID, f)
	if err != nil {
		return err
	}
	out := make([]apiDelivery, 0, len(page.Entries))
	for _, e := range page.Entries {
		out = append(out, toAPIDelivery(e))
	}
	resp := map[string]any{"deliveries": out, "next_before": nil}
	if page.Before > 0 {
		resp["next_before"] = page.Before
	}
	return c.JSON(http.StatusOK, resp)
}

// apiDeliveryResend is POST /api/v1/channels/{id}/deliveries/{event_id}/resend.
func (s *Server) apiDeliveryResend(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	ev, err := s.resend(c, ch, c.Param("eid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"event_id": ev.EventID, "state": ev.State})
}
