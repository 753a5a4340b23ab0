package telegramtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/mymmrac/telego"
)

// ControlHandler serves a small JSON API under /_control/ so another process
// (an e2e test driving the real binary in demo mode) can do what Go tests do
// with methods. It has no authentication: serve it on loopback only.
//
//	POST /_control/bots                  {"id","username","first_name","can_join_groups",
//	                                      "can_read_all_group_messages","supports_inline_queries"} → {"token"}
//	POST /_control/bots/{id}/tokens      → {"token"} (another valid token)
//	POST /_control/tokens/revoke         {"token"} → {}
//	POST /_control/bots/{id}/updates     {"update": <Bot API Update JSON>} or the short form
//	                                      {"text","chat_id","chat_type","chat_title","from_id",
//	                                      "from_first_name","from_username"} → the queued update
//	GET  /_control/bots/{id}/sent        → [Message...]
//	GET  /_control/bots/{id}/pending     → {"pending": n}
//	GET  /_control/bots/{id}/overlaps    → {"overlaps": n} (getUpdates that met another open one)
//	POST /_control/bots/{id}/faults      {"method","status","description","retry_after",
//	                                      "delay_ms","drop_connection","times"} → {}
//	POST /_control/bots/{id}/webhook     {"url"} → {} ("" clears it)
//	POST /_control/latency               {"delay_ms"} → {}
//	GET  /_control/calls?method=getUpdates → {"calls": n}
//
// Errors are {"error": "..."} with a 4xx status.
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_control/bots", s.ctlAddBot)
	mux.HandleFunc("POST /_control/bots/{id}/tokens", s.withBot(func(w http.ResponseWriter, r *http.Request, id int64) {
		ctlJSON(w, http.StatusOK, map[string]string{"token": s.IssueToken(id)})
	}))
	mux.HandleFunc("POST /_control/tokens/revoke", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Token string }
		if !ctlDecode(w, r, &req) {
			return
		}
		s.RevokeToken(req.Token)
		ctlJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("POST /_control/bots/{id}/updates", s.withBot(s.ctlInject))
	mux.HandleFunc("GET /_control/bots/{id}/sent", s.withBot(func(w http.ResponseWriter, r *http.Request, id int64) {
		sent := s.Sent(id)
		if sent == nil {
			sent = []telego.Message{}
		}
		ctlJSON(w, http.StatusOK, sent)
	}))
	mux.HandleFunc("GET /_control/bots/{id}/overlaps", s.withBot(func(w http.ResponseWriter, r *http.Request, id int64) {
		ctlJSON(w, http.StatusOK, map[string]int{"overlaps": s.PollOverlaps(id)})
	}))
	mux.HandleFunc("GET /_control/bots/{id}/pending", s.withBot(func(w http.ResponseWriter, r *http.Request, id int64) {
		ctlJSON(w, http.StatusOK, map[string]int{"pending": s.Pending(id)})
	}))
	mux.HandleFunc("POST /_control/bots/{id}/faults", s.withBot(func(w http.ResponseWriter, r *http.Request, id int64) {
		var req struct {
			Method         string `json:"method"`
			Status         int    `json:"status"`
			Description    string `json:"description"`
			RetryAfter     int    `json:"retry_after"`
			DelayMS        int    `json:"delay_ms"`
			DropConnection bool   `json:"drop_connection"`
			Times          int    `json:"times"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		s.FailNext(id, req.Method, Fault{
			Status: req.Status, Description: req.Description, RetryAfter: req.RetryAfter,
			Delay: time.Duration(req.DelayMS) * time.Millisecond, DropConnection: req.DropConnection, Times: req.Times,
		})
		ctlJSON(w, http.StatusOK, struct{}{})
	}))
	mux.HandleFunc("POST /_control/bots/{id}/webhook", s.withBot(func(w http.ResponseWriter, r *http.Request, id int64) {
		var req struct {
			URL string `json:"url"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		s.SetWebhook(id, req.URL)
		ctlJSON(w, http.StatusOK, struct{}{})
	}))
	mux.HandleFunc("POST /_control/latency", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DelayMS int `json:"delay_ms"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		s.SetLatency(time.Duration(req.DelayMS) * time.Millisecond)
		ctlJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("GET /_control/calls", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, map[string]int{"calls": s.Calls(r.URL.Query().Get("method"))})
	})
	return mux
}

func (s *Server) ctlAddBot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID                      int64  `json:"id"`
		Username                string `json:"username"`
		FirstName               string `json:"first_name"`
		CanJoinGroups           bool   `json:"can_join_groups"`
		CanReadAllGroupMessages bool   `json:"can_read_all_group_messages"`
		SupportsInlineQueries   bool   `json:"supports_inline_queries"`
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	if req.ID <= 0 {
		ctlJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a positive bot id"})
		return
	}
	tok := s.AddBot(BotSpec{
		ID: req.ID, Username: req.Username, FirstName: req.FirstName, CanJoinGroups: req.CanJoinGroups,
		CanReadAllGroupMessages: req.CanReadAllGroupMessages, SupportsInlineQueries: req.SupportsInlineQueries,
	})
	ctlJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func (s *Server) ctlInject(w http.ResponseWriter, r *http.Request, id int64) {
	var req struct {
		Update        *telego.Update `json:"update"`
		Text          string         `json:"text"`
		ChatID        int64          `json:"chat_id"`
		ChatType      string         `json:"chat_type"`
		ChatTitle     string         `json:"chat_title"`
		FromID        int64          `json:"from_id"`
		FromFirstName string         `json:"from_first_name"`
		FromUsername  string         `json:"from_username"`
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	if req.Update != nil {
		ctlJSON(w, http.StatusOK, s.Inject(id, *req.Update))
		return
	}
	from := User(req.FromID, req.FromFirstName, req.FromUsername)
	if from.ID == 0 {
		from.ID = 5000000001
	}
	if from.FirstName == "" {
		from.FirstName = "User " + strconv.FormatInt(from.ID, 10)
	}
	var u telego.Update
	switch req.ChatType {
	case "", telego.ChatTypePrivate:
		u = PrivateText(from, req.Text)
	case telego.ChatTypeGroup:
		u = GroupText(Group(req.ChatID, req.ChatTitle), from, req.Text)
	case telego.ChatTypeSupergroup:
		u = GroupText(Supergroup(req.ChatID, req.ChatTitle), from, req.Text)
	case telego.ChatTypeChannel:
		u = ChannelPost(Channel(req.ChatID, req.ChatTitle, ""), req.Text)
	default:
		ctlJSON(w, http.StatusBadRequest, map[string]string{"error": "chat_type must be private, group, supergroup or channel"})
		return
	}
	ctlJSON(w, http.StatusOK, s.Inject(id, u))
}

// withBot resolves {id} to a registered bot so handlers cannot hit the panic
// Inject reserves for mistakes in Go tests.
func (s *Server) withBot(h func(http.ResponseWriter, *http.Request, int64)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		s.mu.Lock()
		_, ok := s.bots[id]
		s.mu.Unlock()
		if err != nil || !ok {
			ctlJSON(w, http.StatusNotFound, map[string]string{"error": "unknown bot"})
			return
		}
		h(w, r, id)
	}
}

func ctlDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		ctlJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON body: " + err.Error()})
		return false
	}
	return true
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
