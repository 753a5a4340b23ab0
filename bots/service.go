// Package bots is the Chatbot Management service: connecting a bot,
// updating its token, deleting it and switching it back to polling. Each
// operation checks the token with Telegram first, then writes the change,
// its audit row and its notify event in one transaction, and only after
// the commit tells the hub and the pollers. The console forms and the
// JSON API both call it, so they enforce exactly the same rules; expected
// failures are *Error values, which the web layer turns into responses.
package bots

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// defaultTelegramTimeout bounds getMe when Config.TelegramTimeout is 0.
const defaultTelegramTimeout = 10 * time.Second

// Runner owns the pollers: the service (re)starts a bot after connect or a
// token update and stops it before delete.
type Runner interface {
	// Start (re)starts polling for the stored bot with this Telegram id.
	Start(ctx context.Context, botTelegramID int64) error
	// Stop stops polling and waits for the poller to exit.
	Stop(botTelegramID int64)
}

// PollingSwitcher is the part of a Runner behind "Switch this bot to
// polling" (telegram.Supervisor has it); runners that cannot do it (tests,
// a console without pollers) need not.
type PollingSwitcher interface {
	SwitchToPolling(ctx context.Context, botTelegramID int64) error
}

// Notifier builds notify event payloads (callbacks.Payloads).
type Notifier interface {
	Notify(event, channelID string, bot *models.Bot, detail string, at time.Time) ([]byte, error)
}

// Notification kinds the service sends (the callback contract's names).
const (
	eventConnected    = "bot_connected"
	eventTokenUpdated = "token_updated"
	eventDeleted      = "bot_deleted"
)

// Config are the service's collaborators.
type Config struct {
	Store  *store.Store
	Sealer *store.Sealer
	// Runner may be nil: bots are then stored but not polled.
	Runner   Runner
	Notifier Notifier
	// TelegramAPI is the Bot API base URL; HTTPClient carries getMe (nil
	// means a default client) and TelegramTimeout bounds it (0 = 10s).
	TelegramAPI     string
	HTTPClient      *http.Client
	TelegramTimeout time.Duration
	Log             *slog.Logger
}

// Service runs the bot operations.
type Service struct {
	cfg Config
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.TelegramTimeout <= 0 {
		cfg.TelegramTimeout = defaultTelegramTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// notify writes a notify event to the outbox; call inside the change's tx.
func (s *Service) notify(ctx context.Context, channelID, event string, bot *models.Bot) error {
	payload, err := s.cfg.Notifier.Notify(event, channelID, bot, "", time.Now())
	if err != nil {
		return fmt.Errorf("bots: notify payload: %w", err)
	}
	return s.cfg.Store.EnqueueEvent(ctx, channelID, store.OutboxNotify, channelID, payload)
}

// start (re)starts the bot's poller. The request context ends with the
// response, the poller must not, hence WithoutCancel.
func (s *Service) start(ctx context.Context, telegramID int64) {
	if s.cfg.Runner == nil {
		return
	}
	if err := s.cfg.Runner.Start(context.WithoutCancel(ctx), telegramID); err != nil {
		s.cfg.Log.ErrorContext(ctx, "bot poller did not start", "bot_id", telegramID, "err", telegram.RedactString(err.Error()))
	}
}

// Stop stops a bot's poller and waits for it, before its rows go away
// (Delete, and deleting its channel).
func (s *Service) Stop(bot *models.Bot) {
	if s.cfg.Runner != nil {
		s.cfg.Runner.Stop(bot.TelegramID)
	}
}

// changed tells open Chatbot Management panels that the bot changed.
func (s *Service) changed(ctx context.Context, channelID string) {
	s.cfg.Store.Publish(ctx, store.Change{Kind: "bot", ChannelID: channelID})
}
