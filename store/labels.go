package store

// Labels: created and coloured by admins and operators, put on
// conversations by agents. The workbench list filters by one and shows
// them on its rows.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// ListLabels returns every label by name.
func (s *Store) ListLabels(ctx context.Context) ([]models.Label, error) {
	var out []models.Label
	if err := s.r(shortRead(ctx)).Order("name_key").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list labels: %w", err)
	}
	return out, nil
}

// CreateLabel stores a new label, audited in the same transaction.
func (s *Store) CreateLabel(ctx context.Context, a Actor, name, color string) (*models.Label, error) {
	name, key, color, err := models.CleanLabel(name, color)
	if err != nil {
		return nil, err
	}
	l := &models.Label{Name: name, NameKey: key, Color: color, CreatedAt: s.now()}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Create(l).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return models.Invalid("name", "A label with this name exists already.")
			}
			return fmt.Errorf("store: create label: %w", err)
		}
		return s.Audit(ctx, a, "label.create", "label", strconv.FormatInt(l.ID, 10), l.Name)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DeleteLabel deletes a label (and takes it off every conversation).
func (s *Store) DeleteLabel(ctx context.Context, a Actor, id int64) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		var l models.Label
		if err := s.w(ctx).Take(&l, "id = ?", id).Error; err != nil {
			return notFound(fmt.Sprintf("label %d", id), err)
		}
		if err := s.w(ctx).Delete(&models.Label{}, id).Error; err != nil {
			return fmt.Errorf("store: delete label: %w", err)
		}
		return s.Audit(ctx, a, "label.delete", "label", strconv.FormatInt(id, 10), l.Name)
	})
}

// SetConversationLabels replaces the labels of a conversation with the
// named ones (case-insensitive); an unknown name is a validation error.
func (s *Store) SetConversationLabels(ctx context.Context, a Actor, conversationID int64, names []string) ([]models.Label, error) {
	keys := map[string]bool{}
	for _, n := range names {
		if k := strings.ToLower(strings.Join(strings.Fields(n), " ")); k != "" {
			keys[k] = true
		}
	}
	if len(keys) > models.MaxLabels {
		return nil, models.Invalid("labels", fmt.Sprintf("Use at most %d labels on a conversation.", models.MaxLabels))
	}
	var (
		conv   models.Conversation
		labels []models.Label
	)
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&conv, "id = ?", conversationID).Error; err != nil {
			return notFound("conversation", err)
		}
		if len(keys) > 0 {
			list := make([]string, 0, len(keys))
			for k := range keys {
				list = append(list, k)
			}
			if err := s.w(ctx).Where("name_key IN ?", list).Order("name_key").Find(&labels).Error; err != nil {
				return fmt.Errorf("store: labels by name: %w", err)
			}
			if len(labels) != len(list) {
				found := map[string]bool{}
				for _, l := range labels {
					found[l.NameKey] = true
				}
				var missing []string
				for _, k := range list {
					if !found[k] {
						missing = append(missing, k)
					}
				}
				sort.Strings(missing)
				return models.Invalid("labels", "No such label: "+strings.Join(missing, ", ")+". An operator creates labels first.")
			}
		}
		if err := s.w(ctx).Exec("DELETE FROM conversation_labels WHERE conversation_id = ?", conversationID).Error; err != nil {
			return fmt.Errorf("store: clear labels: %w", err)
		}
		for _, l := range labels {
			if err := s.w(ctx).Exec("INSERT INTO conversation_labels (conversation_id, label_id) VALUES (?, ?)", conversationID, l.ID).Error; err != nil {
				return fmt.Errorf("store: add label: %w", err)
			}
		}
		var b strings.Builder
		for i, l := range labels {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l.Name)
		}
		s.publish(ctx, Change{Kind: "conversation", ChannelID: conv.ChannelID, ConversationID: conversationID})
		return s.Audit(ctx, a, "conversation.labels", "conversation", strconv.FormatInt(conversationID, 10), b.String())
	})
	if err != nil {
		return nil, err
	}
	return labels, nil
}

// ConversationLabels returns the labels of the given conversations, by
// name, keyed by conversation id.
func (s *Store) ConversationLabels(ctx context.Context, ids []int64) (map[int64][]models.Label, error) {
	out := map[int64][]models.Label{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.r(shortRead(ctx)).Raw(`SELECT cl.conversation_id, l.id, l.name, l.name_key, l.color, l.created_at
		FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
		WHERE cl.conversation_id IN ?`, ids).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: conversation labels: %w", err)
	}
	err = eachRow(rows, func() error {
		var (
			cid int64
			l   models.Label
		)
		if err := rows.Scan(&cid, &l.ID, &l.Name, &l.NameKey, &l.Color, &l.CreatedAt); err != nil {
			return err
		}
		out[cid] = append(out[cid], l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: conversation labels: %w", err)
	}
	// Sorted here: an ORDER BY would need a temporary b-tree on every
	// list page (TestWorkbenchQueriesUseIndexes).
	for _, ls := range out {
		sort.Slice(ls, func(i, j int) bool { return ls[i].NameKey < ls[j].NameKey })
	}
	return out, nil
}

// attachLabels fills in the labels of list rows with one query.
func (s *Store) attachLabels(ctx context.Context, rows []models.ConversationRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	byConv, err := s.ConversationLabels(ctx, ids)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].Labels = byConv[rows[i].ID]
	}
	return nil
}
