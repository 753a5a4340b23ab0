package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/botdesk/botdesk/models"
)

// IngestMessage is one incoming Telegram message (message, channel_post or
// their edited_ forms) already mapped to botdesk's columns by the poller.
type IngestMessage struct {
	TelegramMessageID int64
	ChatID            int64
	ChatType          string // private, group, supergroup, channel
	ChatTitle         string // group/channel title, or the user's name in a private chat
	ChatUsername      string
	FromID            int64 // 0 for channel posts
	FromUsername      string
	FromName          string
	FromLanguage      string // the sender's Telegram language_code, "" when not sent
	Type              string // text, photo, document, … (models.Message* values)
	Text              string // text or caption
	Entities          string // JSON array of Telegram entities, "" when none
	Media             string // JSON object, see models.Media; "" when none
	ReplyToMessageID  *int64 // Telegram message id of the quoted message
	MessageThreadID   *int64 // forum topic, nil outside one
	// TopicName is the forum topic's name when the message tells it (it
	// created or renamed the topic, or it quotes the topic's creation).
	TopicName string
	// BusinessConnectionID is set for a business_message: the chat is one
	// of that connected business account.
	BusinessConnectionID string
	Date                 time.Time
	// Edited marks an edited_message / edited_channel_post: the stored
	// message with the same chat and Telegram id gets the new text.
	Edited   bool
	EditDate time.Time
}

// ConversationKey is the conversation the message belongs to.
func (m *IngestMessage) ConversationKey() models.ConversationKey {
	return models.KeyOf(m.ChatID, m.MessageThreadID, m.BusinessConnectionID)
}

// conversationTitle is the title the message gives its conversation, ""
// to keep the stored one: a forum topic is titled by its name (the
// group's title says nothing about the topic), any other chat by its
// title.
func (m *IngestMessage) conversationTitle() string {
	if m.MessageThreadID != nil {
		return m.TopicName
	}
	return m.ChatTitle
}

// newConversationTitle is the title of a conversation the message
// creates: a topic whose name no message told yet is "<group> #<topic>".
func (m *IngestMessage) newConversationTitle() string {
	if t := m.conversationTitle(); t != "" || m.MessageThreadID == nil {
		return t
	}
	return m.ChatTitle + " #" + strconv.FormatInt(*m.MessageThreadID, 10)
}

// IngestMember is a my_chat_member update: the bot's own membership in a chat
// changed (added, promoted, removed, blocked).
type IngestMember struct {
	ChatID   int64
	ChatType string
	Title    string
	Username string
	// Status is the bot's new status: member, administrator, creator,
	// restricted, left or kicked.
	Status string
	Date   time.Time
}

// IngestUpdate is one Telegram update. Kind is Telegram's name for it
// ("message", "my_chat_member", …); an update with neither Message nor
// Member (a kind botdesk does not handle, or one it could not read) is
// still recorded so it is never fetched again.
type IngestUpdate struct {
	UpdateID int64
	Kind     string
	Message  *IngestMessage
	Member   *IngestMember
	Reaction *IngestReaction
	// Business is a business_connection update, Deleted a
	// deleted_business_messages one (store/business.go).
	Business *IngestBusinessConnection
	Deleted  *IngestDeletedMessages
}

// IngestBatch is one getUpdates answer for one bot.
type IngestBatch struct {
	BotTelegramID int64
	Updates       []IngestUpdate
	// NextOffset is the offset to ask Telegram for next: the highest
	// update_id of the batch + 1. It is stored as is (not as a maximum):
	// Telegram may restart update ids lower after a week without updates.
	NextOffset int64
	// MOPayload builds the "mo" callback payload of a newly stored incoming
	// message (it needs the message id, known only after the insert). Nil
	// means no events, for tests of the store alone.
	MOPayload func(m *models.Message) ([]byte, error)
	// Lease, when set, fences the batch: it is stored only while Lease is
	// still the bot's lease, else IngestBatch returns ErrFenced and nothing
	// (the offset included) is written. The pollers always set it; nil is
	// for tests of the store alone.
	Lease *Lease
}

// IngestResult says what a batch did.
type IngestResult struct {
	ChannelID string
	// Ingested counts updates recorded for the first time, Replayed those
	// already recorded (skipped whole).
	Ingested, Replayed int
	// Changes were published to the hub after the commit, one per stored or
	// edited message.
	Changes []Change
}

// ingestTarget is what the batch needs to know about the bot's channel,
// read once per batch.
type ingestTarget struct {
	ChannelID     string
	WorkbenchMode models.WorkbenchMode
	Keywords      models.Keywords `gorm:"serializer:json"`
	QueueEnabled  bool
	// AutoAssign and AssignCapacity: the channel's auto-assignment
	// (store/assign.go).
	AutoAssign     models.AutoAssign
	AssignCapacity int
}

// entersWorkbench is the channel's workbench rule for an incoming message:
// "all" puts every chat in, "keyword" a chat whose message matches a
// keyword, "off" none.
func (t ingestTarget) entersWorkbench(m *IngestMessage) bool {
	switch t.WorkbenchMode {
	case models.WorkbenchAll:
		return true
	case models.WorkbenchKeyword:
		return len(t.Keywords.Match(m.Text)) > 0
	}
	return false
}

// incomingMessage is the messages row of a new incoming message of the
// target's channel, dated date (Telegram's date, or now when it gave none).
func incomingMessage(t ingestTarget, bot, updateID int64, m *IngestMessage, date, now time.Time) models.Message {
	tgID := m.TelegramMessageID
	msg := models.Message{
		ChannelID: t.ChannelID, BotTelegramID: bot, UpdateID: &updateID, ChatID: m.ChatID, ChatType: m.ChatType,
		TelegramMessageID: &tgID, Direction: "in", FromID: m.FromID, FromUsername: m.FromUsername, FromName: m.FromName,
		FromLanguage: m.FromLanguage, Type: m.Type, Text: m.Text, Entities: m.Entities, Media: m.Media, ReplyToMessageID: m.ReplyToMessageID,
		Status: "received", TelegramDate: &date, CreatedAt: now, MessageThreadID: m.MessageThreadID,
		BusinessConnectionID: m.BusinessConnectionID,
	}
	if msg.Type == "" {
		msg.Type = "text"
	}
	if m.Edited {
		// An edit whose original is not stored (it predates the bot's
		// connection) is kept as a new message that says it was edited.
		ed := orNow(m.EditDate, now)
		msg.EditedAt = &ed
	}
	return msg
}

// orNow is t, or now when Telegram gave no time.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// IngestBatch stores a getUpdates batch in ONE transaction: every update's
// id in ingested_updates (an id already there means the update was stored
// before and it is skipped whole, so a replayed batch is a no-op), the
// messages and edits, the chats and conversations rows, one "mo" outbox
// event per new incoming message (and its queue copy with Message Queue
// Monitoring on), and finally the bot's new offset, last_update_at and
// state polling. Changes are published to the hub only after the commit,
// so IngestBatch must not run inside an outer transaction.
//
// Every new message (and every edit whose original is not stored) is
// written by ingestBuffer with a few multi-row statements per batch: that
// is the one place the chats, conversations and workbench rules are
// applied. Edits of stored messages and my_chat_member updates first
// flush what is buffered, so they see every earlier update of the batch.
//
// Batches that several pollers submit at the same moment share one
// transaction (group commit, see ingestCommitter): each batch is still
// stored whole or not at all, and IngestBatch returns only after the
// transaction holding its batch has committed.
//
// It returns ErrNotFound when the bot no longer exists (deleted while the
// batch was in flight): nothing is stored, and the poller should stop.
func (s *Store) IngestBatch(ctx context.Context, b IngestBatch) (IngestResult, error) {
	if _, nested := ctx.Value(txKey{}).(*gorm.DB); nested {
		return s.ingestAlone(ctx, b)
	}
	return s.ingestGroup.submit(ctx, s, b)
}

// ingestAlone stores one batch in a transaction of its own (or in the
// caller's, which IngestBatch does not expect), publishes its changes and
// prepares the statements it missed.
func (s *Store) ingestAlone(ctx context.Context, b IngestBatch) (IngestResult, error) {
	var res IngestResult
	var conn *ingestConn
	// Inside an outer transaction (which IngestBatch does not expect) the
	// writer connection stays taken after this function, so statements
	// are neither taken from the cache nor prepared for it.
	_, nested := ctx.Value(txKey{}).(*gorm.DB)
	err := s.WithTx(ctx, func(ctx context.Context) error {
		var err error
		res, conn, err = s.ingestTx(ctx, b, nested)
		for _, c := range res.Changes {
			s.publish(ctx, c)
		}
		return err
	})
	if err != nil {
		return IngestResult{}, err
	}
	if conn != nil {
		// Outside the transaction, so the writer connection is free.
		s.ingestStmts.prepare(ctx, s, conn.missed)
	}
	return res, nil
}

// ingestTx writes one batch in the transaction of ctx. It returns the
// connection wrapper (nil when the batch had no updates) so the caller can
// prepare, after the commit, the statements it ran unprepared. nested
// means the transaction is a caller's: no cached statements are used.
func (s *Store) ingestTx(ctx context.Context, b IngestBatch, nested bool) (IngestResult, *ingestConn, error) {
	res := IngestResult{}
	db := s.w(ctx)
	if b.Lease != nil {
		// First, so the lease row is locked before anything is written.
		if err := s.fence(ctx, b.Lease); err != nil {
			return res, nil, err
		}
	}
	var t ingestTarget
	err := db.Raw(`SELECT bots.channel_id, channels.workbench_mode, channels.keywords, channels.queue_enabled,
		channels.auto_assign, channels.assign_capacity
		FROM bots JOIN channels ON channels.id = bots.channel_id WHERE bots.telegram_id = ?`, b.BotTelegramID).Scan(&t).Error
	if err != nil {
		return res, nil, fmt.Errorf("store: ingest: load bot: %w", err)
	}
	if t.ChannelID == "" {
		return res, nil, fmt.Errorf("store: ingest: bot %d: %w", b.BotTelegramID, ErrNotFound)
	}
	res.ChannelID = t.ChannelID
	if len(b.Updates) == 0 {
		return res, nil, nil
	}
	if err := s.lockMessageInserts(ctx); err != nil { // store/postgres.go
		return res, nil, err
	}
	now := s.now()
	conn := &ingestConn{pool: db.Statement.ConnPool, cache: &s.ingestStmts, s: s}
	if !nested {
		conn.tx, _ = db.Statement.ConnPool.(*sql.Tx)
	}
	fresh, err := recordUpdates(ctx, conn, b)
	if err != nil {
		return res, conn, err
	}
	buf := &ingestBuffer{s: s, conn: conn, t: t, b: b, now: now, res: &res}
	for _, u := range b.Updates {
		if !fresh[u.UpdateID] {
			res.Replayed++
			continue
		}
		// A second copy of an id within one batch is a replay too.
		delete(fresh, u.UpdateID)
		res.Ingested++
		switch {
		case u.Message != nil && !u.Message.Edited:
			buf.add(u.UpdateID, u.Message)
		case u.Message != nil:
			// The edited message may be in the buffer: write it first.
			if err := buf.flush(ctx); err != nil {
				return res, conn, err
			}
			ch, found, err := s.ingestEdit(ctx, t, b, u.UpdateID, u.Message, now)
			if err != nil {
				return res, conn, err
			}
			if found {
				res.Changes = append(res.Changes, ch)
				continue
			}
			// The original predates the bot's connection (or was never
			// delivered): the edited version is stored as a new message.
			buf.add(u.UpdateID, u.Message)
		case u.Member != nil:
			if err := buf.flush(ctx); err != nil {
				return res, conn, err
			}
			if err := s.ingestMember(ctx, t.ChannelID, u.Member, now); err != nil {
				return res, conn, err
			}
		case u.Business != nil:
			if err := s.ingestBusinessConnection(ctx, t.ChannelID, b.BotTelegramID, u.Business, now); err != nil {
				return res, conn, err
			}
		case u.Deleted != nil:
			// The deleted messages may be in the buffer: write them first.
			if err := buf.flush(ctx); err != nil {
				return res, conn, err
			}
			chs, err := s.ingestDeletedMessages(ctx, t.ChannelID, u.Deleted, now)
			if err != nil {
				return res, conn, err
			}
			res.Changes = append(res.Changes, chs...)
		case u.Reaction != nil:
			// The reacted-to message may be in the buffer: write it first.
			if err := buf.flush(ctx); err != nil {
				return res, conn, err
			}
			ch, found, err := s.ingestReaction(ctx, t.ChannelID, u.Reaction)
			if err != nil {
				return res, conn, err
			}
			if found {
				res.Changes = append(res.Changes, ch)
			}
		}
	}
	if err := buf.flush(ctx); err != nil {
		return res, conn, err
	}
	if len(buf.entered) > 0 || buf.round != nil {
		r, err := buf.roundFor(ctx)
		if err != nil {
			return res, conn, err
		}
		assigned, err := s.autoAssign(ctx, conn, r, t.ChannelID, buf.entered)
		if err != nil {
			return res, conn, err
		}
		res.Changes = append(res.Changes, assigned...)
		if err := s.saveRound(ctx, conn, t.ChannelID, r); err != nil {
			return res, conn, err
		}
	}
	// The poller health report: a batch means polling; note the change
	// if the bot was in another state.
	_, err = conn.ExecContext(ctx, `INSERT INTO bot_state_changes (channel_id, at, state, detail)
		SELECT channel_id, ?, ?, '' FROM bots WHERE telegram_id = ? AND state <> ?`, now.UnixMilli(), string(models.BotPolling), b.BotTelegramID, string(models.BotPolling))
	if err != nil {
		return res, conn, fmt.Errorf("store: ingest: note state change: %w", err)
	}
	_, err = conn.ExecContext(ctx, `UPDATE bots SET update_offset = ?, last_update_at = ?, state = ?, state_detail = '', updated_at = ?
		WHERE telegram_id = ?`, b.NextOffset, now, string(models.BotPolling), now, b.BotTelegramID)
	if err != nil {
		return res, conn, fmt.Errorf("store: ingest: save offset: %w", err)
	}
	return res, conn, nil
}

// ingestEdit applies an edit to the stored message it edits. found is
// false, with nothing written, when no such message is stored.
func (s *Store) ingestEdit(ctx context.Context, t ingestTarget, b IngestBatch, updateID int64, m *IngestMessage, now time.Time) (ch Change, found bool, err error) {
	var prev models.Message
	err = s.w(ctx).Where("channel_id = ? AND chat_id = ? AND telegram_message_id = ? AND business_connection_id = ? AND direction = 'in'",
		t.ChannelID, m.ChatID, m.TelegramMessageID, m.BusinessConnectionID).Order("id DESC").Take(&prev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Change{}, false, nil
	}
	if err != nil {
		return Change{}, false, fmt.Errorf("store: ingest: find edited message: %w", err)
	}
	at := orNow(m.EditDate, now)
	ch, err = s.applyEdit(ctx, t.ChannelID, &prev, m, at)
	if err != nil || b.MOPayload == nil {
		return ch, true, err
	}
	// The business gets the new version too: an edit is something that
	// arrived, and nothing that arrives is kept from it.
	edited := prev
	uid := updateID
	edited.Text, edited.Entities, edited.UpdateID = m.Text, m.Entities, &uid
	if m.Media != "" {
		edited.Media = m.Media
	}
	edited.EditedAt = &at
	payload, err := b.MOPayload(&edited)
	if err != nil {
		return Change{}, true, fmt.Errorf("store: ingest: mo payload of edit: %w", err)
	}
	if err := s.EnqueueEvent(ctx, t.ChannelID, OutboxMO, strconv.FormatInt(m.ChatID, 10), payload); err != nil {
		return Change{}, true, err
	}
	return ch, true, nil
}

// applyEdit keeps the previous text in message_edits and stores the new
// one, edited at at.
func (s *Store) applyEdit(ctx context.Context, channelID string, prev *models.Message, m *IngestMessage, at time.Time) (Change, error) {
	db := s.w(ctx)
	if prev.Text != m.Text {
		if err := db.Create(&models.MessageEdit{MessageID: prev.ID, Text: prev.Text, EditedAt: at}).Error; err != nil {
			return Change{}, fmt.Errorf("store: ingest: keep edited text: %w", err)
		}
	}
	fields := map[string]any{"text": m.Text, "entities": m.Entities, "edited_at": at}
	if m.Media != "" {
		fields["media"] = m.Media
	}
	if err := db.Model(&models.Message{}).Where("id = ?", prev.ID).Updates(fields).Error; err != nil {
		return Change{}, fmt.Errorf("store: ingest: apply edit: %w", err)
	}
	var convID int64
	where, args := conversationKeyWhere("", channelID, prev.ConversationKey())
	if err := db.Raw("SELECT id FROM conversations WHERE "+where, args...).Scan(&convID).Error; err != nil {
		return Change{}, fmt.Errorf("store: ingest: edited message's conversation: %w", err)
	}

	return Change{Kind: "message", ChannelID: channelID, ConversationID: convID, MessageID: prev.ID}, nil
}

// ingestMember tracks the groups and channels the bot is in: added or
// promoted → the chats row exists with the new status; left or kicked → it
// is deleted. Private chats (a user blocking the bot) have no chats row.
func (s *Store) ingestMember(ctx context.Context, channelID string, m *IngestMember, now time.Time) error {
	if !isGroupChat(m.ChatType) {
		return nil
	}
	switch m.Status {
	case "left", "kicked":
		if err := s.w(ctx).Where("channel_id = ? AND chat_id = ?", channelID, m.ChatID).Delete(&models.Chat{}).Error; err != nil {
			return fmt.Errorf("store: ingest: remove chat: %w", err)
		}
		return nil
	}
	return s.upsertChat(ctx, channelID, m.ChatID, m.ChatType, m.Title, m.Username, m.Status, now)
}

// upsertChat creates or refreshes the chats row of a group the bot's
// membership changed in, with its new member status.
func (s *Store) upsertChat(ctx context.Context, channelID string, chatID int64, typ, title, username, status string, now time.Time) error {
	row := models.Chat{ChannelID: channelID, ChatID: chatID, Type: typ, Title: title, Username: username,
		MemberStatus: status, AddedAt: now}
	set := map[string]any{"type": typ, "username": username, "member_status": status}
	if title != "" {
		set["title"] = title
	}
	err := s.w(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "channel_id"}, {Name: "chat_id"}},
		DoUpdates: clause.Assignments(set),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: ingest: upsert chat: %w", err)
	}
	return nil
}

func isGroupChat(typ string) bool {
	return typ == "group" || typ == "supergroup" || typ == "channel"
}

// maxPreview bounds conversations.last_message_text, which only feeds the
// workbench list.
const maxPreview = 200

// messagePreview is the list line of a message: its text, else its type in
// brackets ("[photo]").
func messagePreview(m *IngestMessage) string {
	text := strings.TrimSpace(m.Text)
	if text == "" {
		if m.Type == "" || m.Type == "text" {
			return ""
		}
		return "[" + m.Type + "]"
	}
	return clipPreview(text)
}

// clipPreview cuts text to maxPreview characters, marking the cut with "…".
func clipPreview(text string) string {
	if utf8.RuneCountInString(text) > maxPreview {
		return string([]rune(text)[:maxPreview]) + "…"
	}
	return text
}
