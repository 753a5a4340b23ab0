package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// SetBotState records what the bot's poller is doing, for the Chatbot
// Management panel and /metrics. detail is shown to operators as is, so it
// must be plain words and never contain the token. It returns the previous
// state so a caller can act only on a transition (e.g. send the
// token_invalid notification once). A bot that no longer exists is
// ErrNotFound.
func (s *Store) SetBotState(ctx context.Context, telegramID int64, state models.BotState, detail string) (prev models.BotState, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		var b models.Bot
		if err := s.w(ctx).Select("state", "channel_id").Take(&b, "telegram_id = ?", telegramID).Error; err != nil {
			return notFound("set bot state", err)
		}
		prev = b.State
		now := s.now()
		res := s.w(ctx).Model(&models.Bot{}).Where("telegram_id = ?", telegramID).
			Updates(map[string]any{"state": state, "state_detail": detail, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("store: set bot state: %w", res.Error)
		}
		if prev == state {
			return nil
		}
		return recordBotState(ctx, gormExec{s.w(ctx)}, b.ChannelID, string(state), detail, now)
	})
	return prev, err
}

// PollableBots returns every connected bot whose token is not known to be
// invalid: the bots the supervisor starts polling at boot. A bot marked
// token_invalid waits for Update Token.
func (s *Store) PollableBots(ctx context.Context) ([]models.Bot, error) {
	var bots []models.Bot
	if err := s.r(ctx).Where("state <> ?", models.BotTokenInvalid).Order("id").Find(&bots).Error; err != nil {
		return nil, fmt.Errorf("store: pollable bots: %w", err)
	}
	return bots, nil
}

// SetUpdateOffset overwrites the bot's stored getUpdates offset. The poller
// never needs it (IngestBatch saves the offset with the data); it exists for
// operators repairing a bot and for replay tests: any offset at or below the
// true one is safe, because already ingested updates are skipped.
func (s *Store) SetUpdateOffset(ctx context.Context, telegramID, offset int64) error {
	res := s.w(ctx).Model(&models.Bot{}).Where("telegram_id = ?", telegramID).
		Updates(map[string]any{"update_offset": offset, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("store: set update offset: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: set update offset of bot %d: %w", telegramID, ErrNotFound)
	}
	return nil
}
