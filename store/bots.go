package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// BotByChannel returns the bot connected to a channel, or ErrNotFound.
func (s *Store) BotByChannel(ctx context.Context, channelID string) (*models.Bot, error) {
	var b models.Bot
	if err := s.r(ctx).Take(&b, "channel_id = ?", channelID).Error; err != nil {
		return nil, notFound("bot by channel", err)
	}
	return &b, nil
}

// ListChats returns the groups, supergroups and channels a channel's bot is in.
func (s *Store) ListChats(ctx context.Context, channelID string) ([]models.Chat, error) {
	var cs []models.Chat
	if err := s.r(ctx).Where("channel_id = ?", channelID).Order("added_at DESC, id DESC").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("store: list chats: %w", err)
	}
	return cs, nil
}

// ErrChannelHasBot means the channel already holds a bot (bots.channel_id is
// unique): the operator must delete it or use Update Token instead.
var ErrChannelHasBot = errors.New("channel already has a bot")

// BotInUseError means the bot is already connected to another channel
// (bots.telegram_id is unique). It names that channel so the console can
// point the operator at it.
type BotInUseError struct {
	ChannelID   string
	ChannelName string
}

func (e *BotInUseError) Error() string {
	return fmt.Sprintf("bot is already connected to channel %s (%s)", e.ChannelName, e.ChannelID)
}

// BotByTelegramID returns the bot with this Telegram id, or ErrNotFound.
func (s *Store) BotByTelegramID(ctx context.Context, telegramID int64) (*models.Bot, error) {
	var b models.Bot
	if err := s.r(ctx).Take(&b, "telegram_id = ?", telegramID).Error; err != nil {
		return nil, notFound("bot by telegram id", err)
	}
	return &b, nil
}

// CreateBot stores a newly connected bot. It checks both uniqueness rules
// first so each gets its own error: ErrChannelHasBot when the channel has a
// bot, *BotInUseError when this bot belongs to another channel. The checks
// and the insert run in one write transaction (SQLite's single writer), so
// two concurrent connects cannot both pass; the unique indexes remain the
// last word and map to the same errors.
func (s *Store) CreateBot(ctx context.Context, b *models.Bot) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.botUniqueness(ctx, b.ChannelID, b.TelegramID); err != nil {
			return err
		}
		now := s.now()
		b.ID = 0
		if b.ConnectedAt.IsZero() {
			b.ConnectedAt = now
		}
		b.UpdatedAt = now
		if b.State == "" {
			b.State = models.BotConnecting
		}
		err := s.savepoint(ctx, "create_bot", func(ctx context.Context) error { return s.w(ctx).Create(b).Error })
		if err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				if uerr := s.botUniqueness(ctx, b.ChannelID, b.TelegramID); uerr != nil {
					return uerr
				}
				return fmt.Errorf("store: create bot: %w", ErrConflict)
			}
			return fmt.Errorf("store: create bot: %w", err)
		}
		return recordBotState(ctx, gormExec{s.w(ctx)}, b.ChannelID, string(b.State), b.StateDetail, now)
	})
}

// botUniqueness reports which uniqueness rule a new bot would break.
func (s *Store) botUniqueness(ctx context.Context, channelID string, telegramID int64) error {
	var n int64
	if err := s.r(ctx).Model(&models.Bot{}).Where("channel_id = ?", channelID).Count(&n).Error; err != nil {
		return fmt.Errorf("store: check channel bot: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("store: create bot: %w", ErrChannelHasBot)
	}
	var other struct {
		ChannelID string
		Name      string
	}
	err := s.r(ctx).Raw("SELECT bots.channel_id, channels.name FROM bots JOIN channels ON channels.id = bots.channel_id WHERE bots.telegram_id = ?", telegramID).
		Scan(&other).Error
	if err != nil {
		return fmt.Errorf("store: check bot in use: %w", err)
	}
	if other.ChannelID != "" {
		return &BotInUseError{ChannelID: other.ChannelID, ChannelName: other.Name}
	}
	return nil
}

// BotProfile is what getMe reports about a bot; it is refreshed whenever
// the token is validated again.
type BotProfile struct {
	Username                string
	FirstName               string
	CanJoinGroups           bool
	CanReadAllGroupMessages bool
	SupportsInlineQueries   bool
}

// ReplaceBotToken swaps the sealed token of the channel's bot in one UPDATE,
// provided the channel's bot is still the bot with telegramID (else
// ErrNotFound). The profile is refreshed and the state reset to connecting
// for the restarted poller; the update offset is kept, so no update is lost
// or fetched twice.
func (s *Store) ReplaceBotToken(ctx context.Context, channelID string, telegramID int64, tokenEnc []byte, hint string, p BotProfile) error {
	res := s.w(ctx).Model(&models.Bot{}).Where("channel_id = ? AND telegram_id = ?", channelID, telegramID).Updates(map[string]any{
		"token_enc": tokenEnc, "token_hint": hint,
		"username": p.Username, "first_name": p.FirstName, "can_join_groups": p.CanJoinGroups,
		"can_read_all_group_messages": p.CanReadAllGroupMessages, "supports_inline_queries": p.SupportsInlineQueries,
		"state": models.BotConnecting, "state_detail": "", "updated_at": s.now(),
	})
	if res.Error != nil {
		return fmt.Errorf("store: replace bot token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: replace bot token: %w", ErrNotFound)
	}
	return nil
}

// DeleteBot removes the channel's bot and its synced groups/channels (chats
// rows) and returns how many chats rows went. Conversations and messages
// stay as read-only history. Run it inside WithTx together with the audit
// entry and notify event.
func (s *Store) DeleteBot(ctx context.Context, channelID string) (chats int64, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		res := s.w(ctx).Where("channel_id = ?", channelID).Delete(&models.Chat{})
		if res.Error != nil {
			return fmt.Errorf("store: delete bot chats: %w", res.Error)
		}
		chats = res.RowsAffected
		res = s.w(ctx).Where("channel_id = ?", channelID).Delete(&models.Bot{})
		if res.Error != nil {
			return fmt.Errorf("store: delete bot: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: delete bot of %s: %w", channelID, ErrNotFound)
		}
		// The poller health chart ends the bot's last period here.
		return recordBotState(ctx, gormExec{s.w(ctx)}, channelID, string(models.BotStopped), "bot deleted", s.now())
	})
	return chats, err
}

// SetWorkbench saves a channel's Message Workbench Settings. Keywords are
// cleaned by models.CleanKeywords; keyword mode needs at least one.
func (s *Store) SetWorkbench(ctx context.Context, channelID string, mode models.WorkbenchMode, keywords []string) (models.Keywords, error) {
	mode, err := models.ParseWorkbenchMode(string(mode))
	if err != nil {
		return nil, err
	}
	kw, err := models.CleanKeywords(keywords)
	if err != nil {
		return nil, err
	}
	if mode == models.WorkbenchKeyword && len(kw) == 0 {
		return nil, models.Invalid("keywords", "Add at least one keyword for Triggered by Keyword.")
	}
	raw, err := json.Marshal(kw)
	if err != nil {
		return nil, fmt.Errorf("store: set workbench: %w", err)
	}
	res := s.w(ctx).Model(&models.Channel{}).Where("id = ?", channelID).
		Updates(map[string]any{"workbench_mode": mode, "keywords": string(raw), "updated_at": s.now()})
	if res.Error != nil {
		return nil, fmt.Errorf("store: set workbench: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("store: set workbench %s: %w", channelID, ErrNotFound)
	}
	return kw, nil
}
