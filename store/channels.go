package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// ChannelList is one page of channels.
type ChannelList struct {
	Rows  []models.ChannelRow
	Total int64
	Page  int
	Pages int
}

// channelRowCols is the SELECT list scanned by scanChannelRow, in order.
// The total comes from a window function, so a page is one query, not a
// COUNT(*) and a SELECT.
const channelRowCols = `channels.id, channels.name, channels.created_by, channels.created_at, channels.updated_at,
	channels.workbench_mode, channels.keywords, channels.http_enabled, channels.status_url, channels.mo_url,
	channels.notify_url, channels.queue_enabled, channels.signing_secret_enc,
	bots.username, bots.state, COUNT(*) OVER () AS total`

// channelSummaryCols is the SELECT list of ListChannelSummaries.
const channelSummaryCols = `channels.id, channels.name, channels.created_at, bots.username, bots.state, COUNT(*) OVER () AS total`

// ListChannels returns channels matching q (name or id), newest first,
// with every channel column (the API returns them).
func (s *Store) ListChannels(ctx context.Context, q string, page, perPage int) (ChannelList, error) {
	return s.listChannels(ctx, q, page, perPage, true)
}

// ListChannelSummaries is ListChannels for the Channel Management table:
// only ID, Name, CreatedAt, BotUsername and BotState are filled. The driver
// pays a cgo call per column per row, so reading 5 columns instead of 15
// is most of this page's SQLite time.
func (s *Store) ListChannelSummaries(ctx context.Context, q string, page, perPage int) (ChannelList, error) {
	return s.listChannels(ctx, q, page, perPage, false)
}

// listChannels runs on every Channel Management load, so the rows are
// scanned by hand instead of through GORM's reflection.
func (s *Store) listChannels(ctx context.Context, q string, page, perPage int, full bool) (ChannelList, error) {
	if page < 1 {
		page = 1
	}
	base := s.r(shortRead(ctx)).Table("channels").Joins("LEFT JOIN bots ON bots.channel_id = channels.id")
	if q = strings.TrimSpace(q); q != "" {
		like := "%" + escapeLike(q) + "%"
		l := s.like()
		base = base.Where("channels.name "+l+" ? ESCAPE '\\' OR channels.id "+l+" ? ESCAPE '\\' OR bots.username "+l+" ? ESCAPE '\\'", like, like, like)
	}
	out := ChannelList{Rows: make([]models.ChannelRow, 0, min(perPage, 100))}
	cols := channelSummaryCols
	if full {
		cols = channelRowCols
	}
	scan := scanChannelSummary
	if full {
		scan = scanChannelRow
	}
	rows, err := base.Session(&gorm.Session{}).Select(cols).
		Order("channels.created_at DESC, channels.id").Limit(perPage).Offset((page - 1) * perPage).Rows()
	if err == nil {
		err = eachRow(rows, func() error {
			var r models.ChannelRow
			if err := scan(rows, &r, &out.Total); err != nil {
				return err
			}
			out.Rows = append(out.Rows, r)
			return nil
		})
	}
	if err != nil {
		return out, fmt.Errorf("store: list channels: %w", err)
	}
	if len(out.Rows) == 0 && page > 1 {
		// Past the last page the window has no row to report the total on.
		if err := base.Session(&gorm.Session{}).Count(&out.Total).Error; err != nil {
			return out, fmt.Errorf("store: count channels: %w", err)
		}
	}
	out.Page = page
	out.Pages = int((out.Total + int64(perPage) - 1) / int64(perPage))
	if out.Pages == 0 {
		out.Pages = 1
	}
	return out, nil
}

// scanChannelRow reads one row of channelRowCols.
func scanChannelRow(rows *sql.Rows, r *models.ChannelRow, total *int64) error {
	var (
		createdBy sql.NullInt64
		keywords  sql.NullString
		username  sql.NullString
		state     sql.NullString
	)
	c := &r.Channel
	if err := rows.Scan(&c.ID, &c.Name, &createdBy, &c.CreatedAt, &c.UpdatedAt, &c.WorkbenchMode, &keywords,
		&c.HTTPEnabled, &c.StatusURL, &c.MOURL, &c.NotifyURL, &c.QueueEnabled, &c.SigningSecretEnc,
		&username, &state, total); err != nil {
		return err
	}
	if createdBy.Valid {
		v := createdBy.Int64
		c.CreatedBy = &v
	}
	if keywords.Valid && keywords.String != "" && keywords.String != "[]" && keywords.String != "null" {
		if err := json.Unmarshal([]byte(keywords.String), &c.Keywords); err != nil {
			return fmt.Errorf("channel %s keywords: %w", c.ID, err)
		}
	}
	setBot(r, username, state)
	return nil
}

// scanChannelSummary reads one row of channelSummaryCols.
func scanChannelSummary(rows *sql.Rows, r *models.ChannelRow, total *int64) error {
	var username, state sql.NullString
	if err := rows.Scan(&r.ID, &r.Name, &r.CreatedAt, &username, &state, total); err != nil {
		return err
	}
	setBot(r, username, state)
	return nil
}

// setBot fills the bot columns of a row from the LEFT JOIN.
func setBot(r *models.ChannelRow, username, state sql.NullString) {
	if username.Valid {
		v := username.String
		r.BotUsername = &v
	}
	if state.Valid {
		v := models.BotState(state.String)
		r.BotState = &v
	}
}

// ChannelChoices returns every channel's id and name (newest first, at most
// 500), for the workbench's channel filter: the other columns are not shown
// there, so they are not read.
func (s *Store) ChannelChoices(ctx context.Context) ([]models.ChannelRow, error) {
	var out []models.ChannelRow
	rows, err := s.r(shortRead(ctx)).Raw("SELECT id, name FROM channels ORDER BY created_at DESC, id LIMIT 500").Rows()
	if err == nil {
		err = eachRow(rows, func() error {
			var r models.ChannelRow
			if err := rows.Scan(&r.ID, &r.Name); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: channel choices: %w", err)
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
	if err := s.r(shortRead(ctx)).Take(&ch, "id = ?", id).Error; err != nil { // primary key
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
