package bots

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

func errChannelHasBot(b *models.Bot) *Error {
	msg := "This channel already has a bot. Use Update Token to change its token, or Delete it first."
	if b != nil {
		msg = "This channel already has a bot (@" + b.Username + "). Use Update Token to change its token, or Delete it first."
	}
	return &Error{Kind: Conflict, Code: "channel_has_bot", Message: msg}
}

func errBotInUse(username string, e *store.BotInUseError) *Error {
	// Operators and admins can see every channel, so naming it is safe and
	// saves them a search.
	return &Error{Kind: Conflict, Code: "bot_in_use",
		Message: fmt.Sprintf("Bot @%s is already connected to channel “%s” (%s). A bot can serve only one channel: delete it there first.", username, e.ChannelName, e.ChannelID)}
}

// Connect validates the token with getMe and stores the bot. Nothing is
// written unless getMe succeeded. Connecting the same token twice (a
// double-click) returns the existing bot with created=false.
func (s *Service) Connect(ctx context.Context, a store.Actor, ch *models.Channel, rawToken string) (bot *models.Bot, created bool, err error) {
	st := s.cfg.Store
	tok, err := parseToken(rawToken)
	if err != nil {
		return nil, false, err
	}
	if existing, err := st.BotByChannel(ctx, ch.ID); err == nil {
		if existing.TelegramID == tok.BotID() && s.sameToken(existing, tok) {
			return existing, false, nil
		}
		return nil, false, errChannelHasBot(existing)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	info, err := s.getMe(ctx, tok)
	if err != nil {
		return nil, false, err
	}
	sealed, err := s.cfg.Sealer.Seal([]byte(tok.Reveal()))
	if err != nil {
		return nil, false, fmt.Errorf("bots: seal token: %w", err)
	}
	bot = &models.Bot{ChannelID: ch.ID, TelegramID: info.ID, Username: info.Username, FirstName: info.FirstName,
		CanJoinGroups: info.CanJoinGroups, CanReadAllGroupMessages: info.CanReadAllGroupMessages,
		SupportsInlineQueries: info.SupportsInlineQueries, TokenEnc: sealed, TokenHint: tok.String(), State: models.BotConnecting}
	err = st.WithTx(ctx, func(ctx context.Context) error {
		if _, err := st.Channel(ctx, ch.ID); err != nil {
			return err // deleted meanwhile
		}
		if err := st.CreateBot(ctx, bot); err != nil {
			return err
		}
		if err := st.Audit(ctx, a, "bot.connect", "channel", ch.ID, "@"+bot.Username+" (id "+strconv.FormatInt(bot.TelegramID, 10)+")"); err != nil {
			return err
		}
		return s.notify(ctx, ch.ID, eventConnected, bot)
	})
	var inUse *store.BotInUseError
	switch {
	case errors.As(err, &inUse):
		return nil, false, errBotInUse(info.Username, inUse)
	case errors.Is(err, store.ErrChannelHasBot):
		// A concurrent connect won the race; if it was this very token
		// (double-click), report success with the bot it stored.
		if existing, gerr := st.BotByChannel(ctx, ch.ID); gerr == nil {
			if existing.TelegramID == info.ID && s.sameToken(existing, tok) {
				return existing, false, nil
			}
			return nil, false, errChannelHasBot(existing)
		}
		return nil, false, errChannelHasBot(nil)
	case err != nil:
		return nil, false, err
	}
	s.cfg.Log.InfoContext(ctx, "bot connected", "channel", ch.ID, "bot_id", bot.TelegramID, "username", bot.Username)
	s.changed(ctx, ch.ID)
	s.start(ctx, bot.TelegramID)
	return bot, true, nil
}
