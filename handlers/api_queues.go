package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Queue API bounds. The long poll is capped so a consumer's request never
// outlives ordinary proxy timeouts; the visibility cap keeps a forgotten
// lease from hiding a message for days.
const (
	maxQueueWait       = 20 * time.Second
	defaultVisibility  = 30 * time.Second
	minVisibility      = time.Second
	maxVisibility      = 12 * time.Hour
	defaultQueueMax    = 10
	queueRecheckPeriod = 250 * time.Millisecond
)

// apiQueueMessage is one leased message.
type apiQueueMessage struct {
	Receipt      string          `json:"receipt"`
	EventID      string          `json:"event_id"`
	Payload      json.RawMessage `json:"payload"`
	ReceiveCount int             `json:"receive_count"`
	CreatedAt    time.Time       `json:"created_at"`
}

// queueChannel resolves a queue name to its channel and checks that the
// channel exists, so a queue of a deleted channel is a 404.
func (s *Server) queueChannel(c echo.Context) (*models.Channel, error) {
	chID, _, err := callbacks.ParseQueueName(c.Param("name"))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound, "No such queue: queue names look like botdesk-<channel id>-status, -mo or -notify.")
	}
	return s.Store.Channel(c.Request().Context(), chID)
}

// durationParam reads a Go duration ("20s") or plain seconds ("20").
func durationParam(c echo.Context, name string, def, lo, hi time.Duration) (time.Duration, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, models.Invalid(name, name+" must be a duration like 20s.")
		}
		d = time.Duration(n) * time.Second
	}
	if d < lo || d > hi {
		return 0, models.Invalid(name, name+" must be between "+lo.String()+" and "+hi.String()+".")
	}
	return d, nil
}

// apiQueueReceive is POST /api/v1/queues/{name}/receive: it leases up to
// max messages for visibility, waiting up to wait for the first one.
func (s *Server) apiQueueReceive(c echo.Context) error {
	ch, err := s.queueChannel(c)
	if err != nil {
		return err
	}
	name := c.Param("name")
	wait, err := durationParam(c, "wait", 0, 0, maxQueueWait)
	if err != nil {
		return err
	}
	vis, err := durationParam(c, "visibility", defaultVisibility, minVisibility, maxVisibility)
	if err != nil {
		return err
	}
	max := defaultQueueMax
	if v := c.QueryParam("max"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 1 || max > 100 {
			return models.Invalid("max", "max must be a number from 1 to 100.")
		}
	}
	ctx := c.Request().Context()
	deadline := time.Now().Add(wait)
	// Committed changes of this channel (a stored message, a status) are
	// the usual reason a queue fills; the ticker covers everything else.
	changes, unsubscribe := s.Store.Hub().Subscribe()
	defer unsubscribe()
	tick := time.NewTicker(queueRecheckPeriod)
	defer tick.Stop()
	for {
		msgs, err := s.Store.ReceiveQueue(ctx, name, time.Now(), vis, max)
		if err != nil {
			return err
		}
		// On shutdown the poll answers with what there is (usually
		// nothing) instead of holding http.Server.Shutdown for up to
		// maxQueueWait; consumers simply poll again.
		if len(msgs) > 0 || !time.Now().Before(deadline) || closed(s.Options.Shutdown) {
			out := make([]apiQueueMessage, 0, len(msgs))
			for _, m := range msgs {
				out = append(out, apiQueueMessage{Receipt: *m.Receipt, EventID: m.EventID, Payload: json.RawMessage(m.Payload), ReceiveCount: m.ReceiveCount, CreatedAt: m.CreatedAt})
			}
			return c.JSON(http.StatusOK, map[string]any{"messages": out})
		}
		if !waitForQueue(ctx.Done(), s.Options.Shutdown, deadline, tick.C, changes, ch.ID) {
			return ctx.Err()
		}
	}
}

// closed reports whether ch is closed; a nil channel never is.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitForQueue blocks until it is worth looking at the queue again: the
// deadline passed, the periodic recheck, a change of this channel, or the
// server is shutting down. It returns false when the request is gone.
func waitForQueue(done, shutdown <-chan struct{}, deadline time.Time, tick <-chan time.Time, changes <-chan store.Change, channelID string) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case <-done:
			return false
		case <-shutdown:
			return true
		case <-timer.C:
			return true
		case <-tick:
			return true
		case chg := <-changes:
			if chg.ChannelID == channelID || chg.Kind == store.ResyncChange {
				return true
			}
		}
	}
}

// apiQueueAck is DELETE /api/v1/queues/{name}/messages/{receipt}: 204, or
// 404 when the receipt is unknown or its lease expired.
func (s *Server) apiQueueAck(c echo.Context) error {
	if _, err := s.queueChannel(c); err != nil {
		return err
	}
	if err := s.Store.AckQueue(c.Request().Context(), c.Param("name"), c.Param("receipt"), time.Now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
