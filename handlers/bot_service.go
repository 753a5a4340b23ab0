package handlers

// The rules of Chatbot Management (connect, update token, delete, workbench
// settings), shared by the console forms and the JSON API so both enforce
// exactly the same checks, audit entries and notify events.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// defaultTelegramTimeout bounds getMe when Options.TelegramTimeout is 0.
const defaultTelegramTimeout = 10 * time.Second

// botError is an expected failure of a bot operation: the API error code,
// the HTTP status for the API, and a plain-language message for the field.
// Messages never contain the token.
type botError struct {
	Status  int
	Code    string
	Message string
	Field   string
	// Retry: trying again unchanged may work (Telegram was unreachable).
	Retry bool
}

func (e *botError) Error() string { return e.Code + ": " + e.Message }

// asBotError turns expected errors (including field validation) into a
// botError; anything else is an internal failure for handleError.
func asBotError(err error) (*botError, bool) {
	var be *botError
	if errors.As(err, &be) {
		return be, true
	}
	if v, ok := models.AsValidation(err); ok {
		return &botError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: v.Message, Field: v.Field}, true
	}
	return nil, false
}

var (
	errMalformedToken = &botError{Status: http.StatusUnprocessableEntity, Code: "malformed_token",
		Message: "This is not a bot token. Paste the whole token @BotFather gave you: digits, a colon, then about 35 letters, digits, - or _ (like 123456789:AAF1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW)."}
	errTokenRejected = &botError{Status: http.StatusUnprocessableEntity, Code: "token_rejected",
		Message: "Telegram rejected this token: it was revoked in @BotFather or never existed. Copy the current token from @BotFather (/mybots → API Token) and try again. Nothing was saved."}
	errUnreachable = &botError{Status: http.StatusBadGateway, Code: "telegram_unreachable", Retry: true,
		Message: "Telegram could not be reached (network error or timeout), so the token could not be checked. Nothing was saved. Try again in a moment."}
	errNoBot = &botError{Status: http.StatusNotFound, Code: "not_found", Message: "This channel has no bot connected."}
)

func errChannelHasBot(b *models.Bot) *botError {
	msg := "This channel already has a bot. Use Update Token to change its token, or Delete it first."
	if b != nil {
		msg = "This channel already has a bot (@" + b.Username + "). Use Update Token to change its token, or Delete it first."
	}
	return &botError{Status: http.StatusConflict, Code: "channel_has_bot", Message: msg}
}

func errBotInUse(username string, e *store.BotInUseError) *botError {
	// Operators and admins can see every channel, so naming it is safe and
	// saves them a search.
	return &botError{Status: http.StatusConflict, Code: "bot_in_use",
		Message: fmt.Sprintf("Bot @%s is already connected to channel “%s” (%s). A bot can serve only one channel: delete it there first.", username, e.ChannelName, e.ChannelID)}
}

func errDifferentBot(bot *models.Bot, otherID int64) *botError {
	return &botError{Status: http.StatusUnprocessableEntity, Code: "different_bot",
		Message: fmt.Sprintf("This token belongs to a different bot (id %d), not @%s (id %d). The current token was kept. To switch bots, delete this one and connect the other.", otherID, bot.Username, bot.TelegramID)}
}

// parseBotToken trims and checks the shape before any network call.
func parseBotToken(raw string) (telegram.Token, error) {
	tok, err := telegram.ParseToken(raw)
	if err != nil {
		return telegram.Token{}, errMalformedToken
	}
	return tok, nil
}

// getMe validates a token with Telegram within the configured timeout.
func (s *Server) getMe(ctx context.Context, tok telegram.Token) (telegram.BotInfo, error) {
	timeout := s.Options.TelegramTimeout
	if timeout <= 0 {
		timeout = defaultTelegramTimeout
	}
	cl, err := telegram.NewClient(s.Options.TelegramAPI, tok, s.HTTPClient)
	if err != nil {
		return telegram.BotInfo{}, fmt.Errorf("bot: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
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
		return info, errTokenRejected
	case errors.As(err, &ra):
		return info, &botError{Status: http.StatusBadGateway, Code: "telegram_unreachable", Retry: true,
			Message: fmt.Sprintf("Telegram asked us to slow down; try again in %s. Nothing was saved.", ra.After)}
	case errors.As(err, &api):
		return info, &botError{Status: http.StatusBadGateway, Code: "telegram_error",
			Message: fmt.Sprintf("Telegram refused the token check (error %d: %s). Nothing was saved.", api.Code, api.Description)}
	default:
		// ErrUnavailable, our deadline, or anything unforeseen: the error
		// is already redacted by the client, and logged without the token.
		s.Log.Warn("getMe failed", "bot_id", tok.BotID(), "err", err)
		return info, errUnreachable
	}
}

// notify writes a notify event to the outbox; call inside the change's tx.
func (s *Server) notify(ctx context.Context, channelID, event string, bot *models.Bot, detail string) error {
	payload, err := json.Marshal(callbacks.NotifyEvent{Event: event, ChannelID: channelID, BotID: bot.TelegramID,
		BotUsername: bot.Username, Detail: detail, Timestamp: time.Now().UnixMilli()})
	if err != nil {
		return fmt.Errorf("bot: notify payload: %w", err)
	}
	return s.Store.EnqueueEvent(ctx, channelID, store.OutboxNotify, channelID, payload)
}

// startBot (re)starts the bot's poller. The request context ends with the
// response, the poller must not, hence WithoutCancel.
func (s *Server) startBot(ctx context.Context, telegramID int64) {
	if s.Bots == nil {
		return
	}
	if err := s.Bots.Start(context.WithoutCancel(ctx), telegramID); err != nil {
		s.Log.Error("bot poller did not start", "bot_id", telegramID, "err", telegram.RedactString(err.Error()))
	}
}

// sameToken reports whether the stored sealed token equals tok.
func (s *Server) sameToken(b *models.Bot, tok telegram.Token) bool {
	raw, err := s.Sealer.Open(b.TokenEnc)
	if err != nil {
		return false
	}
	old, err := telegram.ParseToken(string(raw))
	return err == nil && old.Equal(tok)
}

// connectBot validates the token with getMe and stores the bot. Nothing is
// written unless getMe succeeded. Connecting the same token twice (a
// double-click) returns the existing bot with created=false.
func (s *Server) connectBot(ctx context.Context, a store.Actor, ch *models.Channel, rawToken string) (bot *models.Bot, created bool, err error) {
	tok, err := parseBotToken(rawToken)
	if err != nil {
		return nil, false, err
	}
	if existing, err := s.Store.BotByChannel(ctx, ch.ID); err == nil {
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
	sealed, err := s.Sealer.Seal([]byte(tok.Reveal()))
	if err != nil {
		return nil, false, fmt.Errorf("bot: seal token: %w", err)
	}
	bot = &models.Bot{ChannelID: ch.ID, TelegramID: info.ID, Username: info.Username, FirstName: info.FirstName,
		CanJoinGroups: info.CanJoinGroups, CanReadAllGroupMessages: info.CanReadAllGroupMessages,
		SupportsInlineQueries: info.SupportsInlineQueries, TokenEnc: sealed, TokenHint: tok.String(), State: models.BotConnecting}
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.Store.Channel(ctx, ch.ID); err != nil {
			return err // deleted meanwhile
		}
		if err := s.Store.CreateBot(ctx, bot); err != nil {
			return err
		}
		if err := s.Store.Audit(ctx, a, "bot.connect", "channel", ch.ID, "@"+bot.Username+" (id "+strconv.FormatInt(bot.TelegramID, 10)+")"); err != nil {
			return err
		}
		return s.notify(ctx, ch.ID, callbacks.NotifyBotConnected, bot, "")
	})
	var inUse *store.BotInUseError
	switch {
	case errors.As(err, &inUse):
		return nil, false, errBotInUse(info.Username, inUse)
	case errors.Is(err, store.ErrChannelHasBot):
		// A concurrent connect won the race; if it was this very token
		// (double-click), report success with the bot it stored.
		if existing, gerr := s.Store.BotByChannel(ctx, ch.ID); gerr == nil {
			if existing.TelegramID == info.ID && s.sameToken(existing, tok) {
				return existing, false, nil
			}
			return nil, false, errChannelHasBot(existing)
		}
		return nil, false, errChannelHasBot(nil)
	case err != nil:
		return nil, false, err
	}
	s.Log.Info("bot connected", "channel", ch.ID, "bot_id", bot.TelegramID, "username", bot.Username)
	s.Store.Hub().Publish(store.Change{Kind: "bot", ChannelID: ch.ID})
	s.startBot(ctx, bot.TelegramID)
	return bot, true, nil
}

// updateBotToken swaps the token of the channel's bot after getMe proved
// the new token belongs to the same bot; on any error the old token stays.
func (s *Server) updateBotToken(ctx context.Context, a store.Actor, ch *models.Channel, bot *models.Bot, rawToken string) (*models.Bot, error) {
	tok, err := parseBotToken(rawToken)
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
	sealed, err := s.Sealer.Seal([]byte(tok.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("bot: seal token: %w", err)
	}
	p := store.BotProfile{Username: info.Username, FirstName: info.FirstName, CanJoinGroups: info.CanJoinGroups,
		CanReadAllGroupMessages: info.CanReadAllGroupMessages, SupportsInlineQueries: info.SupportsInlineQueries}
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		if err := s.Store.ReplaceBotToken(ctx, ch.ID, bot.TelegramID, sealed, tok.String(), p); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errNoBot // deleted or replaced meanwhile
			}
			return err
		}
		if err := s.Store.Audit(ctx, a, "bot.token_update", "channel", ch.ID, "@"+info.Username+" token "+tok.String()); err != nil {
			return err
		}
		updated := *bot
		updated.Username = info.Username
		return s.notify(ctx, ch.ID, callbacks.NotifyTokenUpdated, &updated, "")
	})
	if err != nil {
		return nil, err
	}
	s.Log.Info("bot token updated", "channel", ch.ID, "bot_id", bot.TelegramID)
	s.Store.Hub().Publish(store.Change{Kind: "bot", ChannelID: ch.ID})
	// Start restarts the poller, which resumes from the stored offset with
	// the new token.
	s.startBot(ctx, bot.TelegramID)
	return s.Store.BotByChannel(ctx, ch.ID)
}

// removeBot stops the poller, then deletes the bot and its synced
// groups/channels in one transaction with the audit entry and notify event.
// Conversations and messages stay as read-only history.
func (s *Server) removeBot(ctx context.Context, a store.Actor, ch *models.Channel, bot *models.Bot) (int64, error) {
	// Stop first: a poller still running could store new chats rows or use
	// the token after we deleted them.
	s.stopBot(bot)
	var chats int64
	err := s.Store.WithTx(ctx, func(ctx context.Context) error {
		n, err := s.Store.DeleteBot(ctx, ch.ID)
		if errors.Is(err, store.ErrNotFound) {
			return errNoBot
		}
		if err != nil {
			return err
		}
		chats = n
		detail := fmt.Sprintf("@%s (id %d); %d synced groups/channels removed", bot.Username, bot.TelegramID, n)
		if err := s.Store.Audit(ctx, a, "bot.delete", "channel", ch.ID, detail); err != nil {
			return err
		}
		return s.notify(ctx, ch.ID, callbacks.NotifyBotDeleted, bot, "")
	})
	if err != nil {
		// Nothing was deleted: put the poller back.
		s.startBot(ctx, bot.TelegramID)
		return 0, err
	}
	s.Log.Info("bot deleted", "channel", ch.ID, "bot_id", bot.TelegramID)
	s.Store.Hub().Publish(store.Change{Kind: "bot", ChannelID: ch.ID})
	return chats, nil
}

// saveWorkbench stores Message Workbench Settings and audits them.
func (s *Server) saveWorkbench(ctx context.Context, a store.Actor, ch *models.Channel, mode string, keywords []string) (models.WorkbenchMode, models.Keywords, error) {
	m, err := models.ParseWorkbenchMode(mode)
	if err != nil {
		return "", nil, err
	}
	var kw models.Keywords
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if kw, err = s.Store.SetWorkbench(ctx, ch.ID, m, keywords); err != nil {
			return err
		}
		return s.Store.Audit(ctx, a, "channel.workbench", "channel", ch.ID, fmt.Sprintf("%s, %d keywords", m, len(kw)))
	})
	if err != nil {
		return "", nil, err
	}
	return m, kw, nil
}

// stopBot stops a bot's poller and waits for it, before its rows go away.
func (s *Server) stopBot(bot *models.Bot) {
	if s.Bots != nil {
		s.Bots.Stop(bot.TelegramID)
	}
}
