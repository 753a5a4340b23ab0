package store

// Canned responses: saved replies, global or per channel. Changes are
// audited in the same transaction. Reply boxes fetch the list each time
// "/" opens it, so nothing is announced on the hub.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// CannedInput is a new or changed canned response; ChannelID nil = global.
type CannedInput struct {
	Shortcut  string
	Text      string
	ChannelID *string
}

func (in CannedInput) clean() (CannedInput, error) {
	var err error
	if in.Shortcut, err = models.CleanShortcut(in.Shortcut); err != nil {
		return in, err
	}
	if in.Text, err = models.CleanCannedText(in.Text); err != nil {
		return in, err
	}
	if in.ChannelID != nil && *in.ChannelID == "" {
		in.ChannelID = nil
	}
	return in, nil
}

// ListCanned returns the canned responses offered in channelID (the global
// ones and the channel's own), or every one when channelID is "", ordered
// by shortcut.
func (s *Store) ListCanned(ctx context.Context, channelID string) ([]models.CannedResponse, error) {
	q := s.r(ctx).Order("shortcut, channel_id IS NULL, id")
	if channelID != "" {
		q = q.Where("channel_id IS NULL OR channel_id = ?", channelID)
	}
	var out []models.CannedResponse
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list canned responses: %w", err)
	}
	return out, nil
}

// CannedResponse returns one canned response.
func (s *Store) CannedResponse(ctx context.Context, id int64) (*models.CannedResponse, error) {
	var c models.CannedResponse
	if err := s.r(ctx).Take(&c, "id = ?", id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("canned response %d", id), err)
	}
	return &c, nil
}

func (s *Store) checkCannedChannel(ctx context.Context, channelID *string) error {
	if channelID == nil {
		return nil
	}
	var n int64
	if err := s.r(ctx).Model(&models.Channel{}).Where("id = ?", *channelID).Count(&n).Error; err != nil {
		return fmt.Errorf("store: canned response channel: %w", err)
	}
	if n == 0 {
		return models.Invalid("channel_id", "This channel does not exist.")
	}
	return nil
}

func cannedConflict(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.Invalid("shortcut", "This shortcut is already used here; choose another.")
	}
	return err
}

// CreateCanned stores a new canned response and audits it.
func (s *Store) CreateCanned(ctx context.Context, a Actor, in CannedInput) (*models.CannedResponse, error) {
	in, err := in.clean()
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &models.CannedResponse{ChannelID: in.ChannelID, Shortcut: in.Shortcut, Text: in.Text, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.checkCannedChannel(ctx, in.ChannelID); err != nil {
			return err
		}
		if err := s.w(ctx).Create(c).Error; err != nil {
			return fmt.Errorf("store: create canned response: %w", cannedConflict(err))
		}
		return s.Audit(ctx, a, "canned.create", "canned_response", strconv.FormatInt(c.ID, 10), "/"+c.Shortcut)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCanned changes a canned response and audits it.
func (s *Store) UpdateCanned(ctx context.Context, a Actor, id int64, in CannedInput) (*models.CannedResponse, error) {
	in, err := in.clean()
	if err != nil {
		return nil, err
	}
	var c models.CannedResponse
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&c, "id = ?", id).Error; err != nil {
			return notFound(fmt.Sprintf("canned response %d", id), err)
		}
		if err := s.checkCannedChannel(ctx, in.ChannelID); err != nil {
			return err
		}
		c.Shortcut, c.Text, c.ChannelID, c.UpdatedAt = in.Shortcut, in.Text, in.ChannelID, s.now()
		err := s.w(ctx).Model(&models.CannedResponse{}).Where("id = ?", id).
			Updates(map[string]any{"shortcut": c.Shortcut, "text": c.Text, "channel_id": c.ChannelID, "updated_at": c.UpdatedAt}).Error
		if err != nil {
			return fmt.Errorf("store: update canned response: %w", cannedConflict(err))
		}
		return s.Audit(ctx, a, "canned.update", "canned_response", strconv.FormatInt(id, 10), "/"+c.Shortcut)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCanned deletes a canned response and audits it.
func (s *Store) DeleteCanned(ctx context.Context, a Actor, id int64) error {
	err := s.WithTx(ctx, func(ctx context.Context) error {
		var c models.CannedResponse
		if err := s.w(ctx).Take(&c, "id = ?", id).Error; err != nil {
			return notFound(fmt.Sprintf("canned response %d", id), err)
		}
		if err := s.w(ctx).Delete(&models.CannedResponse{}, id).Error; err != nil {
			return fmt.Errorf("store: delete canned response: %w", err)
		}
		return s.Audit(ctx, a, "canned.delete", "canned_response", strconv.FormatInt(id, 10), "/"+c.Shortcut)
	})
	if err != nil {
		return err
	}
	return nil
}
