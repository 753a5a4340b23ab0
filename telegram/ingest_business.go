package telegram

import (
	"encoding/json"
	"fmt"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/store"
)

// Update kinds of Telegram Business.
const (
	kindBusinessConnection      = "business_connection"
	kindBusinessMessage         = "business_message"
	kindEditedBusinessMessage   = "edited_business_message"
	kindDeletedBusinessMessages = "deleted_business_messages"
)

// decodeBusinessConnection reads a business_connection update.
func decodeBusinessConnection(body json.RawMessage) (*store.IngestBusinessConnection, error) {
	var bc telego.BusinessConnection
	if err := json.Unmarshal(body, &bc); err != nil || bc.ID == "" {
		return nil, fmt.Errorf("unreadable business_connection: %w", cmpErr(err, fmt.Errorf("no id")))
	}
	out := &store.IngestBusinessConnection{ID: bc.ID, UserID: bc.User.ID, UserChatID: bc.UserChatID,
		UserName: displayName(bc.User.FirstName, bc.User.LastName), Username: bc.User.Username,
		Enabled: bc.IsEnabled, Date: unixTime(bc.Date)}
	if bc.Rights != nil {
		out.CanReply = bc.Rights.CanReply
		if b, err := json.Marshal(bc.Rights); err == nil {
			out.Rights = string(b)
		}
	}
	return out, nil
}

// decodeDeletedBusinessMessages reads a deleted_business_messages update.
func decodeDeletedBusinessMessages(body json.RawMessage) (*store.IngestDeletedMessages, error) {
	var d telego.BusinessMessagesDeleted
	if err := json.Unmarshal(body, &d); err != nil || d.BusinessConnectionID == "" {
		return nil, fmt.Errorf("unreadable deleted_business_messages: %w", cmpErr(err, fmt.Errorf("no connection")))
	}
	out := &store.IngestDeletedMessages{BusinessConnectionID: d.BusinessConnectionID, ChatID: d.Chat.ID}
	for _, id := range d.MessageIDs {
		out.MessageIDs = append(out.MessageIDs, int64(id))
	}
	return out, nil
}
