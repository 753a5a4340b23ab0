package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// testEventBody is a sample event of kind with "test": true added, so a
// receiver can tell it from real traffic.
func testEventBody(channelID string, kind callbacks.EventType, now time.Time) ([]byte, error) {
	var ev any
	switch kind {
	case callbacks.TypeStatus:
		ev = callbacks.StatusEvent{MessageID: "msg_test", ChannelID: channelID, Status: callbacks.StatusSent, Timestamp: callbacks.Millis(now)}
	case callbacks.TypeMO:
		ev = callbacks.MOEvent{MessageID: "msg_test", ChannelID: channelID, ChatType: "private",
			From: &callbacks.Sender{DisplayName: "botdesk test"}, MessageType: models.MessageText,
			Text: "This is a test event from botdesk.", Timestamp: callbacks.Millis(now)}
	default:
		ev = callbacks.NotifyEvent{Event: "test", ChannelID: channelID, Detail: "This is a test event from botdesk.", Timestamp: callbacks.Millis(now)}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	// Every payload is a JSON object, so the field can be appended.
	return append(b[:len(b)-1], []byte(`,"test":true}`)...), nil
}

// sendTestEvent validates endpoint and POSTs one signed test event to it
// synchronously, through the same SSRF-safe client as real deliveries. The
// channel's signing secret is created first if it has none yet, so the
// receiver can verify the signature it will see in production.
func (s *Server) sendTestEvent(c echo.Context, ch *models.Channel, kind callbacks.EventType, endpoint string) (views.WebhookTestResult, error) {
	ctx := c.Request().Context()
	res := views.WebhookTestResult{Kind: string(kind)}
	if endpoint == "" {
		res.Error = "Enter the URL first."
		return res, nil
	}
	policy := s.callbackPolicy()
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := callbacks.ValidateURL(vctx, endpoint, policy)
	cancel()
	if err != nil {
		var ue *callbacks.URLError
		if errors.As(err, &ue) {
			res.Error = "This URL " + ue.Message + "."
			return res, nil
		}
		return res, err
	}
	secret, err := s.ensureSecret(c, ch)
	if err != nil {
		return res, err
	}
	now := time.Now()
	body, err := testEventBody(ch.ID, kind, now)
	if err != nil {
		return res, err
	}
	rnd, err := store.RandomToken(12)
	if err != nil {
		return res, err
	}
	client := callbacks.NewHTTPClient(policy)
	defer client.CloseIdleConnections()
	r := callbacks.Deliver(ctx, client, endpoint, secret, "evt_test_"+rnd, body, now)
	res.OK, res.StatusCode, res.LatencyMS = r.Outcome == callbacks.OutcomeSuccess, r.StatusCode, r.Latency.Milliseconds()
	switch {
	case r.Err != nil:
		res.Error = r.Err.Error()
	case !res.OK:
		res.Error = strings.TrimSpace(http.StatusText(r.StatusCode) + " " + r.ResponseSnippet)
	}
	return res, nil
}

// ensureSecret returns the channel's secret, creating it if needed.
func (s *Server) ensureSecret(c echo.Context, ch *models.Channel) (string, error) {
	if len(ch.SigningSecretEnc) > 0 {
		return s.openSecret(ch)
	}
	sealed, err := s.newSealedSecret()
	if err != nil {
		return "", err
	}
	ctx := c.Request().Context()
	if _, err := s.Store.EnsureSigningSecret(ctx, ch.ID, sealed); err != nil {
		return "", err
	}
	// Another request may have created one first: use whatever is stored.
	fresh, err := s.Store.Channel(ctx, ch.ID)
	if err != nil {
		return "", err
	}
	return s.openSecret(fresh)
}

func parseKind(k string) (callbacks.EventType, bool) {
	switch t := callbacks.EventType(k); t {
	case callbacks.TypeStatus, callbacks.TypeMO, callbacks.TypeNotify:
		return t, true
	}
	return "", false
}

// webhookTest is "Send test event" next to each URL field: it tests the URL
// currently in the form (saved or not) and shows the result inline.
func (s *Server) webhookTest(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	kind, ok := parseKind(c.QueryParam("kind"))
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "kind must be status, mo or notify.")
	}
	endpoint := strings.TrimSpace(c.FormValue(string(kind) + "_url"))
	if endpoint == "" {
		endpoint = callbacks.URLFor(ch, string(kind))
	}
	res, err := s.sendTestEvent(c, ch, kind, endpoint)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.WebhookTestOutcome(res))
}

// apiWebhookTest sends a test event to the saved URL of {"kind"}.
func (s *Server) apiWebhookTest(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	var in struct {
		Kind string `json:"kind"`
		URL  string `json:"url"`
	}
	if err := bindJSON(c, &in, `{"kind": "mo"}`); err != nil {
		return err
	}
	kind, ok := parseKind(in.Kind)
	if !ok {
		return models.Invalid("kind", "kind must be status, mo or notify.")
	}
	endpoint := strings.TrimSpace(in.URL)
	if endpoint == "" {
		endpoint = callbacks.URLFor(ch, string(kind))
	}
	res, err := s.sendTestEvent(c, ch, kind, endpoint)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"kind": res.Kind, "ok": res.OK, "status_code": res.StatusCode, "latency_ms": res.LatencyMS, "error": res.Error})
}
