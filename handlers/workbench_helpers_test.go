package handlers

// Test helpers of the workbench tests: rows written straight into the
// SQLite file (as the ingest would write them) and an SSE reader.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// wbFixture seeds one channel's conversations and messages.
type wbFixture struct {
	env   *testEnv
	db    *gorm.DB
	ch    *models.Channel
	clock time.Time
}

func newWBFixture(t *testing.T, env *testEnv, name string) *wbFixture {
	t.Helper()
	db := pgtest.OpenGorm(t, env.Store.Path())
	return &wbFixture{env: env, db: db, ch: env.createChannel(t, name), clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

// tick is a strictly increasing time, so list order is deterministic.
func (f *wbFixture) tick() time.Time {
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

// bot connects a bot row so replies can be queued.
func (f *wbFixture) bot(t *testing.T, telegramID int64) {
	t.Helper()
	now := time.Now().UTC()
	b := &models.Bot{ChannelID: f.ch.ID, TelegramID: telegramID, Username: fmt.Sprintf("test%dbot", telegramID), TokenEnc: []byte("x"),
		TokenHint: "1:••••", State: models.BotPolling, ConnectedAt: now, UpdatedAt: now}
	if err := f.db.Create(b).Error; err != nil {
		t.Fatal(err)
	}
}

// setMode sets the channel's workbench mode and keywords.
func (f *wbFixture) setMode(t *testing.T, mode models.WorkbenchMode, kw ...string) {
	t.Helper()
	raw, _ := json.Marshal(append([]string{}, kw...))
	if err := f.db.Model(&models.Channel{}).Where("id = ?", f.ch.ID).Updates(map[string]any{"workbench_mode": mode, "keywords": string(raw)}).Error; err != nil {
		t.Fatal(err)
	}
}

// conv creates a conversation in the workbench (open) unless edit says otherwise.
func (f *wbFixture) conv(t *testing.T, chatID int64, title string, edit ...func(*models.Conversation)) *models.Conversation {
	t.Helper()
	c := &models.Conversation{ChannelID: f.ch.ID, ChatID: chatID, ChatType: "private", Title: title, Status: "open",
		InWorkbench: true, LastMessageAt: f.tick(), LastMessageText: "hi from " + title}
	for _, e := range edit {
		e(c)
	}
	if err := f.db.Create(c).Error; err != nil {
		t.Fatal(err)
	}
	return c
}

// msg stores an incoming message (fields of m override the defaults),
// bumps the conversation like the ingest does and announces it.
func (f *wbFixture) msg(t *testing.T, c *models.Conversation, text string, edit ...func(*models.Message)) *models.Message {
	t.Helper()
	at := f.tick()
	m := &models.Message{ChannelID: c.ChannelID, BotTelegramID: 1, ChatID: c.ChatID, ChatType: c.ChatType, Direction: "in",
		FromID: 42, FromUsername: "customer", FromName: "Cus Tomer", Type: "text", Text: text, Status: "received",
		TelegramDate: &at, CreatedAt: at}
	for _, e := range edit {
		e(m)
	}
	err := f.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		return tx.Model(&models.Conversation{}).Where("id = ?", c.ID).Updates(map[string]any{
			"last_message_at": at, "last_message_text": text, "unread": gorm.Expr("unread + 1")}).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	f.env.Store.Hub().Publish(store.Change{Kind: "message", ChannelID: c.ChannelID, ConversationID: c.ID, MessageID: m.ID, Incoming: m.Direction == "in"})
	return m
}

// convRow reads a conversation back.
func (f *wbFixture) convRow(t *testing.T, id int64) *models.ConversationRow {
	t.Helper()
	r, err := f.env.Store.Conversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	Name, ID, Data string
}

// sseStream is a live event stream read with bufio, like a browser's
// EventSource but without reconnecting on its own.
type sseStream struct {
	Status int
	Header http.Header
	events chan sseEvent
	done   chan struct{}
	cancel context.CancelFunc
	// lastID is the id of the last event next returned that had one.
	lastID string
	// history is every event next returned, in order.
	history []sseEvent
}

// openSSE connects c (its cookies) to path, optionally resuming from
// lastEventID as EventSource does on reconnect.
func openSSE(t *testing.T, c *testClient, path, lastEventID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("connect %s: %v", path, err)
	}
	s := &sseStream{Status: resp.StatusCode, Header: resp.Header, events: make(chan sseEvent, 1024), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		defer close(s.events)
		defer resp.Body.Close()
		rd := bufio.NewReader(resp.Body)
		var ev sseEvent
		var data []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.Name != "" || len(data) > 0 {
					ev.Data = strings.Join(data, "\n")
					select {
					case s.events <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"):
			default:
				field, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch field {
				case "event":
					ev.Name = value
				case "id":
					ev.ID = value
				case "data":
					data = append(data, value)
				}
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	<-s.done
}

// next returns the next event. The generous guard only turns a hang into
// a failure; no test depends on how fast events come.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.logHistory(t)
			t.Fatal("event stream ended")
		}
		if ev.ID != "" {
			s.lastID = ev.ID
		}
		s.history = append(s.history, ev)
		return ev
	case <-time.After(20 * time.Second):
		s.logHistory(t)
		t.Fatal("no event within 20s")
	}
	return sseEvent{}
}

// logHistory says what did come, so a failed wait is readable.
func (s *sseStream) logHistory(t *testing.T) {
	t.Helper()
	for _, ev := range s.history {
		t.Logf("seen before: event %q id %q: %s", ev.Name, ev.ID, ev.Data)
	}
}

// waitHistory reads events until done holds for everything seen so far.
func (s *sseStream) waitHistory(t *testing.T, done func([]sseEvent) bool) {
	t.Helper()
	for !done(s.history) {
		s.next(t)
	}
}

// until reads events until one matches, returning it and the events of
// name seen on the way (including the match when it has that name).
func (s *sseStream) until(t *testing.T, name string, match func(sseEvent) bool) (sseEvent, []sseEvent) {
	t.Helper()
	var seen []sseEvent
	for {
		ev := s.next(t)
		if ev.Name == name {
			seen = append(seen, ev)
		}
		if match(ev) {
			return ev, seen
		}
	}
}

// ended reports whether the server closed the stream (waiting for it).
func (s *sseStream) ended(t *testing.T) bool {
	t.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-time.After(20 * time.Second):
			return false
		}
	}
}
