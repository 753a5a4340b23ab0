package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// callbackPolicy is the URL policy for saving and testing callback URLs;
// the dispatcher must be built with the same one.
func (s *Server) callbackPolicy() callbacks.Policy {
	return callbacks.Policy{AllowPrivate: s.Options.AllowPrivateCallbacks}
}

// formBool reads a checkbox: present and not an explicit "off".
func formBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "off", "false", "no":
		return false
	}
	return true
}

func webhookFormFrom(c echo.Context) views.WebhookForm {
	return views.WebhookForm{
		HTTPEnabled:  formBool(c.FormValue("http_enabled")),
		StatusURL:    strings.TrimSpace(c.FormValue("status_url")),
		MOURL:        strings.TrimSpace(c.FormValue("mo_url")),
		NotifyURL:    strings.TrimSpace(c.FormValue("notify_url")),
		QueueEnabled: formBool(c.FormValue("queue_enabled")),
	}
}

// webhookURLFields pairs each URL field name with its label and value, in
// form order, so errors come out in the order the operator reads them.
func webhookURLFields(f views.WebhookForm) [][3]string {
	return [][3]string{
		{"status_url", "Status Report Callback URL", f.StatusURL},
		{"mo_url", "MO Message Callback URL", f.MOURL},
		{"notify_url", "Notification Callback URL", f.NotifyURL},
	}
}

// validateWebhook checks the form: with HTTP Protocol on every URL is
// required; any URL given must pass callbacks.ValidateURL (https, public
// address), whether HTTP is on or not, so nothing unsafe is ever stored.
func (s *Server) validateWebhook(ctx context.Context, f views.WebhookForm) views.FieldErrors {
	errs := views.FieldErrors{}
	for _, fl := range webhookURLFields(f) {
		name, label, val := fl[0], fl[1], fl[2]
		if val == "" {
			if f.HTTPEnabled {
				errs[name] = label + " is required when HTTP Protocol is on."
			}
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := callbacks.ValidateURL(vctx, val, s.callbackPolicy())
		cancel()
		var ue *callbacks.URLError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			errs[name] = "This URL " + ue.Message + "."
			s.Log.DebugContext(ctx, "callback URL refused", "field", name, "reason", ue.Cause)
		default:
			errs[name] = "This URL could not be checked; try again."
		}
	}
	return errs
}

// saveWebhook validates and stores the settings, creating the signing
// secret on the first save, and audits the change in the same transaction.
func (s *Server) saveWebhook(c echo.Context, ch *models.Channel, f views.WebhookForm) (views.FieldErrors, error) {
	ctx := c.Request().Context()
	if errs := s.validateWebhook(ctx, f); len(errs) > 0 {
		return errs, nil
	}
	var sealed []byte
	if len(ch.SigningSecretEnc) == 0 {
		var err error
		if sealed, err = s.newSealedSecret(); err != nil {
			return nil, err
		}
	}
	cfg := store.WebhookConfig{HTTPEnabled: f.HTTPEnabled, StatusURL: f.StatusURL, MOURL: f.MOURL, NotifyURL: f.NotifyURL, QueueEnabled: f.QueueEnabled}
	return nil, s.Store.WithTx(ctx, func(ctx context.Context) error {
		created, err := s.Store.SaveWebhook(ctx, ch.ID, cfg, sealed)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("http=%s queue=%s", onOff(f.HTTPEnabled), onOff(f.QueueEnabled))
		if created {
			detail += "; signing secret created"
		}
		return s.Store.Audit(ctx, actor(c), "webhook.update", "channel", ch.ID, detail)
	})
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// newSealedSecret makes a whsec_ secret, encrypted for storage.
func (s *Server) newSealedSecret() ([]byte, error) {
	secret, err := callbacks.NewSecret()
	if err != nil {
		return nil, err
	}
	return s.Sealer.Seal([]byte(secret))
}

// webhookSave handles the Configure Webhook form from the tab, the dialog
// or a plain (no-JS) post. Errors re-render the form with 422.
func (s *Server) webhookSave(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	f := webhookFormFrom(c)
	dialog := c.FormValue("mode") == "dialog"
	errs, err := s.saveWebhook(c, ch, f)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		if isHTMX(c) {
			v, err := s.webhookView(c, ch, f, errs, dialog)
			if err != nil {
				return err
			}
			return s.render(c, http.StatusUnprocessableEntity, views.WebhookConfig(v))
		}
		panel, err := s.webhookPanelWith(c, ch, f, errs, false, s.secretView(c, ch, "", false))
		if err != nil {
			return err
		}
		return s.renderWebhookTab(c, http.StatusUnprocessableEntity, ch, bot, panel)
	}
	if !isHTMX(c) {
		setFlash(c, "success", tr(c, "Webhook settings saved."))
		return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/webhook")
	}
	if ch, err = s.Store.Channel(c.Request().Context(), ch.ID); err != nil {
		return err
	}
	if dialog {
		// The dialog closes on success (data-close-on-success).
		v, err := s.webhookView(c, ch, formOf(ch), nil, true)
		if err != nil {
			return err
		}
		v.Saved = true
		return s.render(c, http.StatusOK, views.WebhookConfig(v))
	}
	// On the tab, the secret card may have changed too (first save), so
	// the whole panel is swapped.
	panel, err := s.webhookPanelWith(c, ch, formOf(ch), nil, true, s.secretView(c, ch, "", false))
	if err != nil {
		return err
	}
	c.Response().Header().Set("HX-Retarget", "#tab-panel")
	c.Response().Header().Set("HX-Reswap", "innerHTML")
	return s.render(c, http.StatusOK, panel)
}
