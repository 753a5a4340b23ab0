package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// ChannelRow is a channel with its bot summary for the list page.
type ChannelRow struct {
	models.Channel
	BotUsername *string
	BotState    *models.BotState
}

// ChannelList is one page of channels.
type ChannelList struct {
	Rows  []ChannelRow
	Total int64
	Page  int
	Pages int
}

// ListChannels returns channels matching q (name or id), newest first.
func (s *Store) ListChannels(ctx context.Context, q string, page, perPage int) (ChannelList, error) {
	if page < 1 {
		page = 1
	}
	base := s.r(ctx).Table("channels").Joins("LEFT JOIN bots ON bots.channel_id = channels.id")
	if q = strings.TrimSpace(q); q != "" {
		like := "%" + escapeLike(q) + "%"
		base = base.Where("channels.name LIKE ? ESCAPE '\\' OR channels.id LIKE ? ESCAPE '\\' OR bots.username LIKE ? ESCAPE '\\'", like, like, like)
	}
	var out ChannelList
	if err := base.Session(&gorm.Session{}).Count(&out.Total).Error; err != nil {
		return out, fmt.Errorf("store: count channels: %w", err)
	}
	err := base.Select("channels.*, bots.username AS bot_username, bots.state AS bot_state").
		Order("channels.created_at DESC, channels.id").Limit(perPage).Offset((page - 1) * perPage).Scan(&out.Rows).Error
	if err != nil {
		return out, fmt.Errorf("store: list channels: %w", err)
	}
	out.Page = page
	out.Pages = int((out.Total + int64(perPage) - 1) / int64(perPage))
	if out.Pages == 0 {
		out.Pages = 1
	}
	return out, nil
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// CreateChannel adds a channel with a fresh id. Names are unique,
// case-insensitively.
func (s *Store) CreateChannel(ctx context.Context, name string, by *int64) (*models.Channel, error) {
	name, err := models.CleanChannelName(name)
	if err != nil {
		return nil, err
	}
	id, err := models.NewChannelID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	ch := &models.Channel{ID: id, Name: name, CreatedBy: by, CreatedAt: now, UpdatedAt: now, WorkbenchMode: models.WorkbenchOff, Keywords: models.Keywords{}}
	if err := s.w(ctx).Create(ch).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, models.Invalid("name", "A channel with this name already exists.")
		}
		return nil, fmt.Errorf("store: create channel: %w", err)
	}
	return ch, nil
}

// Channel returns a channel by id.
func (s *Store) Channel(ctx context.Context, id string) (*models.Channel, error) {
	var ch models.Channel
	if !models.ValidChannelID(id) {
		return nil, fmt.Errorf("store: channel %q: %w", id, ErrNotFound)
	}
	if err := s.r(ctx).Take(&ch, "id = ?", id).Error; err != nil {
		return nil, notFound("channel", err)
	}
	return &ch, nil
}

// DeleteChannel removes a channel and, by cascade, its bot, chats,
// conversations, messages and outbox rows.
// Its queue messages have no foreign key (queues are named, not linked),
// so they are removed explicitly in the same transaction.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.w(ctx).Delete(&models.Channel{}, "id = ?", id)
		if res.Error != nil {
			return fmt.Errorf("store: delete channel: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: delete channel %s: %w", id, ErrNotFound)
		}
		if err := s.w(ctx).Exec("DELETE FROM queue_messages WHERE queue LIKE ? ESCAPE '\\'", "botdesk-"+escapeLike(id)+"-%").Error; err != nil {
			return fmt.Errorf("store: delete channel queues: %w", err)
		}
		return nil
	})
}

// ChannelStats counts what a channel holds, for Overview and delete dialogs.
type ChannelStats struct {
	Chats         int64 // synced groups/channels
	Conversations int64
	Messages      int64
}

// ChannelStats counts rows belonging to a channel.
func (s *Store) ChannelStats(ctx context.Context, id string) (ChannelStats, error) {
	var st ChannelStats
	db := s.r(ctx)
	for _, q := range []struct {
		table string
		dst   *int64
	}{{"chats", &st.Chats}, {"conversations", &st.Conversations}, {"messages", &st.Messages}} {
		if err := db.Table(q.table).Where("channel_id = ?", id).Count(q.dst).Error; err != nil {
			return st, fmt.Errorf("store: count %s: %w", q.table, err)
		}
	}
	return st, nil
}
