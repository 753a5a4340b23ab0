package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) secretView(c echo.Context, ch *models.Channel, secret string, rotated bool) views.SecretView {
	return views.SecretView{ChannelID: ch.ID, CSRF: csrfToken(c), HasSecret: len(ch.SigningSecretEnc) > 0 || secret != "", Secret: secret, Rotated: rotated}
}

// openSecret decrypts a channel's signing secret ("" when none yet).
func (s *Server) openSecret(ch *models.Channel) (string, error) {
	if len(ch.SigningSecretEnc) == 0 {
		return "", nil
	}
	raw, err := s.Sealer.Open(ch.SigningSecretEnc)
	if err != nil {
		return "", fmt.Errorf("open signing secret of %s: %w", ch.ID, err)
	}
	return string(raw), nil
}

// revealSecret returns the secret and audits that it was read.
func (s *Server) revealSecret(c echo.Context, ch *models.Channel) (string, error) {
	secret, err := s.openSecret(ch)
	if err != nil || secret == "" {
		return "", err
	}
	if err := s.Store.Audit(c.Request().Context(), actor(c), "webhook.secret_reveal", "channel", ch.ID, ""); err != nil {
		return "", err
	}
	return secret, nil
}

// rotateSecret replaces the secret (or creates the first one) and audits it.
func (s *Server) rotateSecret(c echo.Context, ch *models.Channel) (string, error) {
	secret, err := callbacks.NewSecret()
	if err != nil {
		return "", err
	}
	sealed, err := s.Sealer.Seal([]byte(secret))
	if err != nil {
		return "", err
	}
	err = s.Store.WithTx(c.Request().Context(), func(ctx context.Context) error {
		if err := s.Store.SetSigningSecret(ctx, ch.ID, sealed); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "webhook.secret_rotate", "channel", ch.ID, "")
	})
	return secret, err
}

// renderSecret answers with the secret card (htmx) or the whole tab.
func (s *Server) renderSecret(c echo.Context, ch *models.Channel, bot *models.Bot, sv views.SecretView) error {
	if isHTMX(c) {
		return s.render(c, http.StatusOK, views.WebhookSecret(sv))
	}
	panel, err := s.webhookPanelWith(c, ch, formOf(ch), nil, false, sv)
	if err != nil {
		return err
	}
	return s.renderWebhookTab(c, http.StatusOK, ch, bot, panel)
}

// webhookSecretMasked hides a revealed secret again.
func (s *Server) webhookSecretMasked(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	return s.renderSecret(c, ch, bot, s.secretView(c, ch, "", false))
}

// webhookSecretReveal shows the secret to an operator; every reveal is in
// the audit log.
func (s *Server) webhookSecretReveal(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	secret, err := s.revealSecret(c, ch)
	if err != nil {
		return err
	}
	return s.renderSecret(c, ch, bot, s.secretView(c, ch, secret, false))
}

// webhookSecretRotate replaces the secret after the confirmation dialog and
// shows the new one once.
func (s *Server) webhookSecretRotate(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	secret, err := s.rotateSecret(c, ch)
	if err != nil {
		return err
	}
	return s.renderSecret(c, ch, bot, s.secretView(c, ch, secret, true))
}
