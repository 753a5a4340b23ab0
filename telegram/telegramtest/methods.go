package telegramtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/mymmrac/telego"
)

func (s *Server) getMe(w http.ResponseWriter, b *fakeBot) {
	s.mu.Lock()
	u := b.user()
	u.CanJoinGroups = b.spec.CanJoinGroups
	u.CanReadAllGroupMessages = b.spec.CanReadAllGroupMessages
	u.SupportsInlineQueries = b.spec.SupportsInlineQueries
	s.mu.Unlock()
	writeOK(w, u)
}

func intParam(p url.Values, name string, def int64) (int64, bool) {
	v := p.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// getUpdates follows the documented semantics: a positive offset confirms
// (forgets) every update below it, a negative one keeps only the last
// -offset updates; returned updates stay queued until confirmed, so a client
// that crashes before storing them gets them again.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, b *fakeBot, p url.Values) {
	offset, ok1 := intParam(p, "offset", 0)
	limit, ok2 := intParam(p, "limit", 100)
	timeout, ok3 := intParam(p, "timeout", 0)
	if !ok1 || !ok2 || !ok3 {
		writeError(w, http.StatusBadRequest, "Bad Request: wrong parameter value", nil)
		return
	}
	limit = min(max(limit, 1), 100)
	timeout = max(timeout, 0)
	var allowed []string
	if raw := p.Get("allowed_updates"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &allowed); err != nil {
			writeError(w, http.StatusBadRequest, "Bad Request: can't parse allowed updates", nil)
			return
		}
	}

	s.mu.Lock()
	if b.webhookURL != "" {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, DescConflictWebhook, nil)
		return
	}
	if allowed != nil {
		// Like Telegram, the setting sticks for later calls that omit it.
		b.allowed = allowed
	}
	b.confirm(offset)
	if b.poll != nil {
		b.overlaps++
		b.poll.reason = DescConflictPolling
		close(b.poll.kicked)
	}
	pw := &pollWait{kicked: make(chan struct{})}
	b.poll = pw
	timer := time.NewTimer(time.Duration(timeout) * time.Second)
	defer timer.Stop()

	var result []telego.Update
	var conflict string
	for {
		result = b.deliverable(int(limit))
		if len(result) > 0 || timeout == 0 {
			break
		}
		wake := b.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-pw.kicked:
		case <-timer.C:
			timeout = 0 // one last look, then answer with what there is
		case <-r.Context().Done():
		case <-s.closed:
		}
		s.mu.Lock()
		if r.Context().Err() != nil {
			if b.poll == pw {
				b.poll = nil
			}
			s.mu.Unlock()
			return
		}
		select {
		case <-pw.kicked:
			conflict = pw.reason
		case <-s.closed:
			timeout = 0
		default:
		}
		if conflict != "" {
			break
		}
	}
	if b.poll == pw {
		b.poll = nil
	}
	s.mu.Unlock()
	if conflict != "" {
		writeError(w, http.StatusConflict, conflict, nil)
		return
	}
	if result == nil {
		result = []telego.Update{}
	}
	writeOK(w, result)
}

// confirm forgets updates as a getUpdates with this offset does.
func (b *fakeBot) confirm(offset int64) {
	switch {
	case offset > 0:
		i := 0
		for i < len(b.queue) && int64(b.queue[i].UpdateID) < offset {
			i++
		}
		b.queue = slices.Delete(b.queue, 0, i)
	case offset < 0:
		if keep := int(-offset); keep < len(b.queue) {
			b.queue = slices.Delete(b.queue, 0, len(b.queue)-keep)
		}
	}
}

// excludedByDefault lists what Telegram leaves out when allowed_updates was
// never set or set to an empty list.
var excludedByDefault = []string{"chat_member", "message_reaction", "message_reaction_count"}

// deliverable returns up to limit queued updates the bot subscribed to.
// Updates of other types are dropped for good, as Telegram never keeps them.
func (b *fakeBot) deliverable(limit int) []telego.Update {
	b.queue = slices.DeleteFunc(b.queue, func(u telego.Update) bool {
		kind := updateKind(u)
		if len(b.allowed) == 0 {
			return slices.Contains(excludedByDefault, kind)
		}
		return !slices.Contains(b.allowed, kind)
	})
	n := min(limit, len(b.queue))
	if n == 0 {
		return nil
	}
	return slices.Clone(b.queue[:n])
}

func updateKind(u telego.Update) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.ChannelPost != nil:
		return "channel_post"
	case u.EditedChannelPost != nil:
		return "edited_channel_post"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChatMember != nil:
		return "chat_member"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.MessageReaction != nil:
		return "message_reaction"
	case u.MessageReactionCount != nil:
		return "message_reaction_count"
	case u.InlineQuery != nil:
		return "inline_query"
	case u.BusinessConnection != nil:
		return "business_connection"
	case u.BusinessMessage != nil:
		return "business_message"
	case u.EditedBusinessMessage != nil:
		return "edited_business_message"
	case u.DeletedBusinessMessages != nil:
		return "deleted_business_messages"
	default:
		return "other"
	}
}

func (s *Server) sendMessage(w http.ResponseWriter, b *fakeBot, p url.Values) {
	text := p.Get("text")
	if strings.TrimSpace(text) == "" {
		writeError(w, http.StatusBadRequest, "Bad Request: message text is empty", nil)
		return
	}
	if len(utf16.Encode([]rune(text))) > 4096 {
		writeError(w, http.StatusBadRequest, "Bad Request: message is too long", nil)
		return
	}
	s.mu.Lock()
	msg, ok := s.outgoing(w, b, p)
	if !ok {
		s.mu.Unlock()
		return
	}
	msg.Text = text
	b.commit(&msg)
	s.mu.Unlock()
	writeOK(w, msg)
}

// resolveChat accepts a numeric id or an @username of a chat the bot has seen.
func (b *fakeBot) resolveChat(raw string) (telego.Chat, bool) {
	if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return b.chat(id), true
	}
	for _, c := range b.chats {
		if c.Username != "" && "@"+c.Username == raw {
			return c, true
		}
	}
	return telego.Chat{}, false
}

// chat returns what the bot knows about a chat id, guessing the type from the
// id's shape when it has never seen it (Telegram's own numbering: users are
// positive, supergroups and channels start at -100..., basic groups are
// other negatives).
func (b *fakeBot) chat(id int64) telego.Chat {
	if c, ok := b.chats[id]; ok {
		return c
	}
	switch {
	case id > 0:
		return telego.Chat{ID: id, Type: telego.ChatTypePrivate, FirstName: "User " + strconv.FormatInt(id, 10)}
	case id <= -1000000000000:
		return telego.Chat{ID: id, Type: telego.ChatTypeSupergroup, Title: "Supergroup " + strconv.FormatInt(-id, 10)}
	default:
		return telego.Chat{ID: id, Type: telego.ChatTypeGroup, Title: "Group " + strconv.FormatInt(-id, 10)}
	}
}

func (s *Server) setWebhookMethod(w http.ResponseWriter, b *fakeBot, p url.Values) {
	s.mu.Lock()
	b.setWebhook(p.Get("url"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": true, "description": "Webhook was set"})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, b *fakeBot, p url.Values) {
	s.mu.Lock()
	had := b.webhookURL != ""
	b.webhookURL = ""
	if v, _ := strconv.ParseBool(p.Get("drop_pending_updates")); v {
		b.queue = nil
	}
	s.mu.Unlock()
	desc := "Webhook is already deleted"
	if had {
		desc = "Webhook was deleted"
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": true, "description": desc})
}

func (s *Server) getWebhookInfo(w http.ResponseWriter, b *fakeBot) {
	s.mu.Lock()
	info := telego.WebhookInfo{URL: b.webhookURL, PendingUpdateCount: len(b.queue)}
	if b.allowed != nil {
		info.AllowedUpdates = slices.Clone(b.allowed)
	}
	s.mu.Unlock()
	writeOK(w, info)
}

func (s *Server) getFile(w http.ResponseWriter, p url.Values) {
	s.mu.Lock()
	f, ok := s.files[p.Get("file_id")]
	var file telego.File
	if ok {
		file = f.file
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "Bad Request: invalid file_id", nil)
		return
	}
	writeOK(w, file)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, token, filePath string) {
	s.mu.Lock()
	s.calls["file"]++
	_, authed := s.tokens[token]
	f, ok := s.filePaths[filePath]
	var data []byte
	if ok {
		data = f.data
	}
	s.mu.Unlock()
	if !authed {
		writeError(w, http.StatusUnauthorized, DescUnauthorized, nil)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, DescNotFound, nil)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}
