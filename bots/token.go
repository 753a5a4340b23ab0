package bots

import (
	"context"
	"errors"
	"fmt"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// parseToken trims and checks the shape before any network call.
func parseToken(raw string) (telegram.Token, error) {
	tok, err := telegram.ParseToken(raw)
	if err != nil {
		return telegram.Token{}, ErrMalformedToken
	}
	return tok, nil
}

// getMe validates a token with Telegram within the configured timeout.
func (s *Service) getMe(ctx context.Context, tok telegram.Token) (telegram.BotInfo, error) {
	cl, err := telegram.NewClient(s.cfg.TelegramAPI, tok, s.cfg.HTTPClient)
	if err != nil {
		return telegram.BotInfo{}, fmt.Errorf("bots: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.TelegramTimeout)
	defer cancel()
	info, err := cl.GetMe(cctx)
	if err == nil {
		return info, nil
	}
	var ra *telegram.RetryAfterError
	var api *telegram.APIError
	switch {
	case ctx.Err() != nil:
		return info, ctx.Err() // the caller went away; nothing to tell them
	case errors.Is(err, telegram.ErrUnauthorized):
		return info, ErrTokenRejected
	case errors.As(err, &ra):
		return info, &Error{Kind: Upstream, Code: "telegram_unreachable", Retry: true,
			Message: fmt.Sprintf("Telegram asked us to slow down; try again in %s. Nothing was saved.", ra.After)}
	case errors.As(err, &api):
		return info, &Error{Kind: Upstream, Code: "telegram_error",
			Message: fmt.Sprintf("Telegram refused the token check (error %d: %s). Nothing was saved.", api.Code, api.Description)}
	default:
		// ErrUnavailable, our deadline, or anything unforeseen: the error
		// is already redacted by the client, and logged without the token.
		s.cfg.Log.WarnContext(ctx, "getMe failed", "bot_id", tok.BotID(), "err", err)
		return info, ErrUnreachable
	}
}

// sameToken reports whether the stored sealed token equals tok.
func (s *Service) sameToken(b *models.Bot, tok telegram.Token) bool {
	raw, err := s.cfg.Sealer.Open(b.TokenEnc)
	if err != nil {
		return false
	}
	old, err := telegram.ParseToken(string(raw))
	return err == nil && old.Equal(tok)
}

func errDifferentBot(bot *models.Bot, otherID int64) *Error {
	return &Error{Kind: Invalid, Code: "different_bot",
		Message: fmt.Sprintf("This token belongs to a different bot (id %d), not @%s (id %d). The current token was kept. To switch bots, delete this one and connect the other.", otherID, bot.Username, bot.TelegramID)}
}

// UpdateToken swaps the token of the channel's bot after getMe proved the
// new token belongs to the same bot; on any error the old token stays. It
// returns the bot as stored afterwards.
func (s *Service) UpdateToken(ctx context.Context, a store.Actor, ch *models.Channel, bot *models.Bot, rawToken string) (*models.Bot, error) {
	tok, err := parseToken(rawToken)
	if err != nil {
		return nil, err
	}
	// The bot id is the token's prefix: a mismatch needs no network call.
	if tok.BotID() != bot.TelegramID {
		return nil, errDifferentBot(bot, tok.BotID())
	}
	info, err := s.getMe(ctx, tok)
	if err != nil {
		return nil, err
	}
	if info.ID != bot.TelegramID {
		return nil, errDifferentBot(bot, info.ID)
	}
	sealed, err := s.cfg.Sealer.Seal([]byte(tok.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("bots: seal token: %w", err)
	}
	st := s.cfg.Store
	p := store.BotProfile{Username: info.Username, FirstName: info.FirstName, CanJoinGroups: info.CanJoinGroups,
		CanReadAllGroupMessages: info.CanReadAllGroupMessages, SupportsInlineQueries: info.SupportsInlineQueries}
	err = st.WithTx(ctx, func(ctx context.Context) error {
		if err := st.ReplaceBotToken(ctx, ch.ID, bot.TelegramID, sealed, tok.String(), p); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNoBot // deleted or replaced meanwhile
			}
			return err
		}
		if err := st.Audit(ctx, a, "bot.token_update", "channel", ch.ID, "@"+info.Username+" token "+tok.String()); err != nil {
			return err
		}
		updated := *bot
		updated.Username = info.Username
		return s.notify(ctx, ch.ID, eventTokenUpdated, &updated)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Log.InfoContext(ctx, "bot token updated", "channel", ch.ID, "bot_id", bot.TelegramID)
	s.changed(ctx, ch.ID)
	// Start restarts the poller, which resumes from the stored offset with
	// the new token.
	s.start(ctx, bot.TelegramID)
	return st.BotByChannel(ctx, ch.ID)
}
