package store

// Manual assignment: "Assign to me" and reassigning a conversation to
// another agent, in the console and the JSON API, all go through AssignTo,
// so who may take a conversation, what is audited and what live views
// hear is one rule in one place (auto-assignment is store/assign.go).

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// MayTake is whether u may be given conversations of the channel: an
// active user of role agent or above. Every such user sees the workbench of
// every channel (docs/guide.md, "Roles"), so the channel adds no condition
// yet; it is a parameter so that a per-channel team changes this rule only.
func MayTake(u *models.User, channelID string) bool {
	_ = channelID
	return u != nil && u.Active && u.Role.AtLeast(models.RoleAgent)
}

// Assignees lists the users conversations of the channel may be assigned
// to (MayTake), by email.
func (s *Store) Assignees(ctx context.Context, channelID string) ([]models.User, error) {
	var users []models.User
	if err := s.r(ctx).Where("active = TRUE").Order("email").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("store: assignees: %w", err)
	}
	out := users[:0]
	for i := range users {
		if MayTake(&users[i], channelID) {
			out = append(out, users[i])
		}
	}
	return out, nil
}

// AssignTo gives the open workbench conversation convID to the user
// userID, audited in the same transaction and announced after the commit:
// every list re-renders the row, and the new assignee (unless they took it
// themselves) gets the "Assigned to you" notice. A conversation outside the
// workbench is ErrNotFound; a resolved one, or a user who may not take the
// channel's conversations, a validation error. Giving it to whom it already
// has changes nothing.
func (s *Store) AssignTo(ctx context.Context, a Actor, convID, userID int64) (*models.User, error) {
	var to models.User
	err := s.WithTx(ctx, func(ctx context.Context) error {
		db := s.w(ctx)
		var conv models.Conversation
		if err := db.Take(&conv, "id = ? AND in_workbench = TRUE", convID).Error; err != nil {
			return notFound("conversation to assign", err)
		}
		if err := db.Take(&to, "id = ?", userID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return models.Invalid("assignee", "Choose an active agent, operator or admin.")
			}
			return fmt.Errorf("store: assignee: %w", err)
		}
		if !MayTake(&to, conv.ChannelID) {
			return models.Invalid("assignee", "Choose an active agent, operator or admin.")
		}
		if conv.Status != ConversationOpen {
			return models.Invalid("assignee", "Reopen the conversation before assigning it.")
		}
		if conv.AssignedTo != nil && *conv.AssignedTo == to.ID {
			return nil
		}
		res := db.Model(&models.Conversation{}).Where("id = ? AND status = ?", convID, ConversationOpen).Update("assigned_to", to.ID)
		if res.Error != nil {
			return fmt.Errorf("store: assign conversation: %w", res.Error)
		}
		if res.RowsAffected == 0 { // resolved since it was read (PostgreSQL)
			return models.Invalid("assignee", "Reopen the conversation before assigning it.")
		}
		from := "nobody"
		if conv.AssignedTo != nil {
			var prev models.User
			if err := db.Select("email").Take(&prev, "id = ?", *conv.AssignedTo).Error; err != nil {
				return notFound("previous assignee", err)
			}
			from = prev.Email
		}
		detail := fmt.Sprintf("to=%s from=%s", to.Email, from)
		if err := s.Audit(ctx, a, "conversation.assign", "conversation", fmt.Sprint(convID), detail); err != nil {
			return err
		}
		s.publish(ctx, Change{Kind: "conversation", ChannelID: conv.ChannelID, ConversationID: convID})
		if a.UserID == nil || *a.UserID != to.ID {
			s.publish(ctx, Change{Kind: "assigned", ChannelID: conv.ChannelID, ConversationID: convID, UserID: to.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &to, nil
}
