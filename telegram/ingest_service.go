package telegram

import (
	"strings"

	"github.com/mymmrac/telego"
)

// serviceText describes a service message (members joined or left, title
// changed, a message pinned) for the workbench's system lines; ok is false
// for every other message.
func serviceText(m *telego.Message) (string, bool) {
	actor := "Someone"
	if m.From != nil {
		actor = displayName(m.From.FirstName, m.From.LastName)
	}
	switch {
	case len(m.NewChatMembers) > 0:
		names := make([]string, 0, len(m.NewChatMembers))
		self := len(m.NewChatMembers) == 1 && m.From != nil && m.NewChatMembers[0].ID == m.From.ID
		for _, u := range m.NewChatMembers {
			names = append(names, displayName(u.FirstName, u.LastName))
		}
		if self {
			return names[0] + " joined the group", true
		}
		return actor + " added " + strings.Join(names, ", "), true
	case m.LeftChatMember != nil:
		who := displayName(m.LeftChatMember.FirstName, m.LeftChatMember.LastName)
		if m.From != nil && m.From.ID != m.LeftChatMember.ID {
			return actor + " removed " + who, true
		}
		return who + " left the group", true
	case m.NewChatTitle != "":
		return actor + " changed the title to “" + m.NewChatTitle + "”", true
	case m.PinnedMessage != nil:
		return actor + " pinned a message", true
	case m.ForumTopicCreated != nil:
		return actor + " created the topic “" + m.ForumTopicCreated.Name + "”", true
	case m.ForumTopicEdited != nil && m.ForumTopicEdited.Name != "":
		return actor + " renamed the topic to “" + m.ForumTopicEdited.Name + "”", true
	}
	return "", false
}

// topicName is the forum topic's name as far as the message tells it: it
// created or renamed the topic, or (as every message in a topic that
// quotes nothing else does) it replies to the topic's creation.
func topicName(m *telego.Message) string {
	switch {
	case m.ForumTopicCreated != nil:
		return m.ForumTopicCreated.Name
	case m.ForumTopicEdited != nil:
		return m.ForumTopicEdited.Name
	case m.ReplyToMessage != nil && m.ReplyToMessage.ForumTopicCreated != nil:
		return m.ReplyToMessage.ForumTopicCreated.Name
	}
	return ""
}
