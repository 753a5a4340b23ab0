package telegram

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/botdesk/botdesk/store"
)

// kindMessageReaction is a user's reactions on a message changing.
const kindMessageReaction = "message_reaction"

// looseReaction reads message_reaction without telego's polymorphic
// ReactionType decoding: only emoji reactions are shown (custom emoji and
// paid reactions have no emoji text to show).
type looseReaction struct {
	Chat      looseChat  `json:"chat"`
	MessageID int64      `json:"message_id"`
	User      *looseChat `json:"user"`
	ActorChat *looseChat `json:"actor_chat"`
	New       []struct {
		Type  string `json:"type"`
		Emoji string `json:"emoji"`
	} `json:"new_reaction"`
}

func decodeReaction(body json.RawMessage) (*store.IngestReaction, error) {
	var lr looseReaction
	if err := json.Unmarshal(body, &lr); err != nil {
		return nil, fmt.Errorf("unreadable message_reaction: %w", err)
	}
	if lr.Chat.ID == 0 || lr.MessageID == 0 {
		return nil, errors.New("message_reaction without chat or message")
	}
	r := &store.IngestReaction{ChatID: lr.Chat.ID, TelegramMessageID: lr.MessageID}
	switch {
	case lr.User != nil:
		r.UserID = lr.User.ID
	case lr.ActorChat != nil:
		r.ActorChatID = lr.ActorChat.ID
	default:
		r.ActorChatID = lr.Chat.ID
	}
	for _, n := range lr.New {
		if n.Type == "emoji" && n.Emoji != "" {
			r.Emoji = append(r.Emoji, n.Emoji)
		}
	}
	return r, nil
}
