package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// WebhookConfig is what the Configure Webhook form and
// PUT /api/v1/channels/{id}/webhook change on a channel.
type WebhookConfig struct {
	HTTPEnabled  bool
	StatusURL    string
	MOURL        string
	NotifyURL    string
	QueueEnabled bool
}

// WebhookOf returns the webhook part of a channel.
func WebhookOf(ch *models.Channel) WebhookConfig {
	return WebhookConfig{HTTPEnabled: ch.HTTPEnabled, StatusURL: ch.StatusURL, MOURL: ch.MOURL, NotifyURL: ch.NotifyURL, QueueEnabled: ch.QueueEnabled}
}

// SaveWebhook stores a channel's webhook settings. The URLs must already be
// validated (callbacks.ValidateURL needs DNS and policy, which the store
// does not know). sealedSecret is stored only when the channel has no
// signing secret yet, so the first save creates it and later saves keep it;
// it reports whether it was stored.
func (s *Store) SaveWebhook(ctx context.Context, channelID string, cfg WebhookConfig, sealedSecret []byte) (created bool, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		var ch models.Channel
		if err := s.w(ctx).Select("id", "signing_secret_enc").Take(&ch, "id = ?", channelID).Error; err != nil {
			return notFound("save webhook", err)
		}
		upd := map[string]any{
			"http_enabled":  cfg.HTTPEnabled,
			"status_url":    cfg.StatusURL,
			"mo_url":        cfg.MOURL,
			"notify_url":    cfg.NotifyURL,
			"queue_enabled": cfg.QueueEnabled,
			"updated_at":    s.now(),
		}
		if len(ch.SigningSecretEnc) == 0 && len(sealedSecret) > 0 {
			upd["signing_secret_enc"] = sealedSecret
			created = true
		}
		if err := s.w(ctx).Model(&models.Channel{}).Where("id = ?", channelID).Updates(upd).Error; err != nil {
			return fmt.Errorf("store: save webhook: %w", err)
		}
		return nil
	})
	return created, err
}

// EnsureSigningSecret stores sealedSecret only when the channel has none
// yet (for example a test event sent before the first save) and reports
// whether it did.
func (s *Store) EnsureSigningSecret(ctx context.Context, channelID string, sealedSecret []byte) (bool, error) {
	res := s.w(ctx).Model(&models.Channel{}).
		Where("id = ? AND (signing_secret_enc IS NULL OR length(signing_secret_enc) = 0)", channelID).
		Update("signing_secret_enc", sealedSecret)
	if res.Error != nil {
		return false, fmt.Errorf("store: ensure signing secret: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SetSigningSecret replaces a channel's signing secret (rotation). The old
// secret stops working at once: deliveries after this are signed with the
// new one, including retries of older events.
func (s *Store) SetSigningSecret(ctx context.Context, channelID string, sealedSecret []byte) error {
	res := s.w(ctx).Model(&models.Channel{}).Where("id = ?", channelID).
		Updates(map[string]any{"signing_secret_enc": sealedSecret, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("store: set signing secret: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: set signing secret %s: %w", channelID, ErrNotFound)
	}
	return nil
}

// DisableHTTP turns HTTP Protocol off for a channel, which is what a
// receiver answering 410 Gone asks for. It reports whether it was on, so
// the caller raises the notification and audit entry only once.
func (s *Store) DisableHTTP(ctx context.Context, channelID string) (bool, error) {
	res := s.w(ctx).Model(&models.Channel{}).Where("id = ? AND http_enabled = TRUE", channelID).
		Updates(map[string]any{"http_enabled": false, "updated_at": s.now()})
	if res.Error != nil {
		return false, fmt.Errorf("store: disable http: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}
