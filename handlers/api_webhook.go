package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

// apiWebhookIn is the body of PUT /api/v1/channels/{id}/webhook.
type apiWebhookIn struct {
	HTTPEnabled  bool   `json:"http_enabled"`
	StatusURL    string `json:"status_url"`
	MOURL        string `json:"mo_url"`
	NotifyURL    string `json:"notify_url"`
	QueueEnabled bool   `json:"queue_enabled"`
}

// apiWebhook is the webhook configuration as the API returns it.
type apiWebhook struct {
	apiWebhookIn
	// Queues maps the event type to its queue name.
	Queues map[string]string `json:"queues"`
	// SigningSecret is omitted until the first save creates it.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// apiValidationError carries every field error at once, so a client
// fixing its request sees all problems, not one per round trip.
type apiValidationError struct {
	Error struct {
		apiErrorBody
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

func (s *Server) toAPIWebhook(c echo.Context, ch *models.Channel) (apiWebhook, error) {
	out := apiWebhook{apiWebhookIn: apiWebhookIn{HTTPEnabled: ch.HTTPEnabled, StatusURL: ch.StatusURL, MOURL: ch.MOURL, NotifyURL: ch.NotifyURL, QueueEnabled: ch.QueueEnabled},
		Queues: map[string]string{}}
	for _, q := range channelQueues(ch.ID) {
		out.Queues[string(q.kind)] = q.name
	}
	secret, err := s.revealSecret(c, ch)
	out.SigningSecret = secret
	return out, err
}

// apiWebhookGet returns the settings with the signing secret (operator+,
// audited as a reveal).
func (s *Server) apiWebhookGet(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	out, err := s.toAPIWebhook(c, ch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// apiWebhookPut replaces the settings; validation is the form's.
func (s *Server) apiWebhookPut(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	var in apiWebhookIn
	if err := bindJSON(c, &in, `{"http_enabled": true, "status_url": "https://…", "mo_url": "https://…", "notify_url": "https://…", "queue_enabled": false}`); err != nil {
		return err
	}
	f := views.WebhookForm{HTTPEnabled: in.HTTPEnabled, StatusURL: strings.TrimSpace(in.StatusURL), MOURL: strings.TrimSpace(in.MOURL),
		NotifyURL: strings.TrimSpace(in.NotifyURL), QueueEnabled: in.QueueEnabled}
	errs, err := s.saveWebhook(c, ch, f)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		var body apiValidationError
		body.Error.Code, body.Error.Fields = "invalid", errs
		// The first error in form order is the headline.
		for _, fl := range webhookURLFields(f) {
			if msg, ok := errs[fl[0]]; ok {
				body.Error.Field, body.Error.Message = fl[0], msg
				break
			}
		}
		return c.JSON(http.StatusUnprocessableEntity, body)
	}
	if ch, err = s.Store.Channel(c.Request().Context(), ch.ID); err != nil {
		return err
	}
	out, err := s.toAPIWebhook(c, ch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// apiWebhookRotate replaces the signing secret and returns the new one.
func (s *Server) apiWebhookRotate(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	secret, err := s.rotateSecret(c, ch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"signing_secret": secret})
}
