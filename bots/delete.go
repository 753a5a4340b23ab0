package bots

import (
	"context"
	"errors"
	"fmt"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// Delete stops the poller, then deletes the bot and its synced
// groups/channels in one transaction with the audit row and notify event.
// Conversations and messages stay as read-only history. It returns how
// many synced chats were removed.
func (s *Service) Delete(ctx context.Context, a store.Actor, ch *models.Channel, bot *models.Bot) (int64, error) {
	st := s.cfg.Store
	// Stop first: a poller still running could store new chats rows or use
	// the token after we deleted them.
	s.Stop(bot)
	var chats int64
	err := st.WithTx(ctx, func(ctx context.Context) error {
		n, err := st.DeleteBot(ctx, ch.ID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoBot
		}
		if err != nil {
			return err
		}
		chats = n
		detail := fmt.Sprintf("@%s (id %d); %d synced groups/channels removed", bot.Username, bot.TelegramID, n)
		if err := st.Audit(ctx, a, "bot.delete", "channel", ch.ID, detail); err != nil {
			return err
		}
		return s.notify(ctx, ch.ID, eventDeleted, bot)
	})
	if err != nil {
		// Nothing was deleted: put the poller back.
		s.start(ctx, bot.TelegramID)
		return 0, err
	}
	s.cfg.Log.InfoContext(ctx, "bot deleted", "channel", ch.ID, "bot_id", bot.TelegramID)
	s.changed(ctx, ch.ID)
	return chats, nil
}

// SwitchToPolling deletes the bot's webhook and restarts polling, after an
// operator confirmed it. It is audited, failed or not: it takes the bot
// away from whatever service set the webhook. The Telegram call cannot be
// part of a transaction, so its audit row follows it.
func (s *Service) SwitchToPolling(ctx context.Context, a store.Actor, ch *models.Channel, bot *models.Bot) error {
	sw, ok := s.cfg.Runner.(PollingSwitcher)
	if !ok {
		return ErrNoPollers
	}
	err := sw.SwitchToPolling(ctx, bot.TelegramID)
	detail := "@" + bot.Username
	if err != nil {
		detail += ": failed: " + switchFailure(err)
	}
	if aerr := s.cfg.Store.Audit(ctx, a, "bot.switch_polling", "channel", ch.ID, detail); aerr != nil {
		return aerr
	}
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "switch to polling failed", "channel", ch.ID, "bot_id", bot.TelegramID, "err", err)
		return &Error{Kind: Upstream, Code: CodeSwitchFailed, Message: switchFailure(err)}
	}
	return nil
}

// switchFailure says in plain words why deleteWebhook or the restart
// failed. Telegram errors are already token-free; anything else is
// internal and not shown.
func switchFailure(err error) string {
	var op *telegram.OpError
	switch {
	case errors.Is(err, telegram.ErrUnauthorized):
		return "Telegram rejected the bot token. Paste a new one with Update Token."
	case errors.Is(err, telegram.ErrUnavailable):
		return "Telegram could not be reached. Try again in a moment."
	case errors.As(err, &op):
		return telegram.RedactString(op.Err.Error())
	}
	return "an internal error occurred; it has been logged."
}
