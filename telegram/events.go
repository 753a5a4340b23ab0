package telegram

import (
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Events builds the payloads of the callback events the workers enqueue in
// the same transaction as what they record: the poller's mo events and
// token_invalid notifications, the sender's status reports. The workers
// know when an event happens, the callbacks package what it carries
// (callbacks.Payloads); passing it in keeps the arrival path one-way.
type Events interface {
	MO(m *models.Message) ([]byte, error)
	Status(m *models.Message, o store.SendOutcome, at time.Time) ([]byte, error)
	TokenInvalid(bot *models.Bot, detail string, at time.Time) ([]byte, error)
}
