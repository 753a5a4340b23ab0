package telegramtest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
)

// Descriptions the real Bot API returns for the errors botdesk must tell
// apart. They are exported so tests can assert on them and fault rules can
// reuse them.
const (
	DescUnauthorized    = "Unauthorized"
	DescNotFound        = "Not Found"
	DescConflictPolling = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	DescConflictWebhook = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	DescBadGateway      = "Bad Gateway"
)

// BotSpec describes a bot known to the fake, as getMe reports it.
type BotSpec struct {
	ID                      int64
	Username                string // without the leading @
	FirstName               string
	CanJoinGroups           bool
	CanReadAllGroupMessages bool
	SupportsInlineQueries   bool
}

// Server is a fake Bot API. The zero value is not usable; call New. All
// methods are safe for concurrent use.
type Server struct {
	mu        sync.Mutex
	bots      map[int64]*fakeBot
	tokens    map[string]int64 // valid token -> bot id
	files     map[string]*fakeFile
	filePaths map[string]*fakeFile
	nextFile  int
	faults    []*faultRule
	latency   time.Duration
	calls     map[string]int // lower-cased method -> count

	closed    chan struct{}
	closeOnce sync.Once
	hs        *httptest.Server
}

type fakeBot struct {
	spec         BotSpec
	queue        []telego.Update // not yet confirmed, ascending update_id
	nextUpdateID int
	webhookURL   string
	allowed      []string // nil: Telegram's default set
	sent         []telego.Message
	nextMsgID    map[int64]int
	chats        map[int64]telego.Chat
	wake         chan struct{} // closed (and replaced) whenever queue grows
	poll         *pollWait     // the getUpdates currently long-polling, if any
	// overlaps counts getUpdates calls that arrived while another one of
	// the bot was still open (Telegram ends the older with 409): two
	// programs polling one bot.
	overlaps int
	calls    map[string]int
	msgs     map[msgKey]*fakeMessage // sent and received, for edits and deletes
	actions  map[int64][]string      // chat actions per chat
	// topics are the forum topics created (by TopicCreated updates).
	topics map[topicKey]bool
	// business are the business connections, by id, as last announced.
	business map[string]telego.BusinessConnection
	// nextBizMsgID numbers the messages of business chats, per
	// connection and chat.
	nextBizMsgID map[msgKey]int
}

// pollWait lets a newer getUpdates (or setWebhook) terminate an older one the
// way Telegram does, with a 409 naming the reason.
type pollWait struct {
	kicked chan struct{}
	reason string
}

type fakeFile struct {
	file telego.File
	data []byte
}

// New returns an empty fake. Register bots with AddBot, then either mount
// Handler on your own listener or call Start.
func New() *Server {
	return &Server{
		bots:      make(map[int64]*fakeBot),
		tokens:    make(map[string]int64),
		files:     make(map[string]*fakeFile),
		filePaths: make(map[string]*fakeFile),
		calls:     make(map[string]int),
		closed:    make(chan struct{}),
	}
}

// Start serves both the Bot API and the control API on a loopback port and
// returns the base URL to give to the client (BOTDESK_TELEGRAM_API).
func (s *Server) Start() string {
	mux := http.NewServeMux()
	mux.Handle("/_control/", s.ControlHandler())
	mux.Handle("/", s.Handler())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs == nil {
		s.hs = httptest.NewServer(mux)
	}
	return s.hs.URL
}

// Close wakes every pending long poll (so shutdown does not wait for their
// timeouts) and stops the server started by Start.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs != nil {
		hs.Close()
	}
}

// AddBot registers a bot (replacing the profile of an existing one with the
// same id) and returns a fresh valid token for it.
func (s *Server) AddBot(spec BotSpec) string {
	if spec.FirstName == "" {
		spec.FirstName = "Bot " + strconv.FormatInt(spec.ID, 10)
	}
	if spec.Username == "" {
		spec.Username = "bot" + strconv.FormatInt(spec.ID, 10) + "_bot"
	}
	spec.Username = strings.TrimPrefix(spec.Username, "@")
	s.mu.Lock()
	if b, ok := s.bots[spec.ID]; ok {
		b.spec = spec
	} else {
		s.bots[spec.ID] = &fakeBot{
			spec: spec,
			// Telegram starts update ids at an arbitrary large number, which
			// catches code that assumes they start at 1.
			nextUpdateID: 700000001,
			nextMsgID:    make(map[int64]int),
			chats:        make(map[int64]telego.Chat),
			wake:         make(chan struct{}),
			calls:        make(map[string]int),
			topics:       make(map[topicKey]bool),
			business:     make(map[string]telego.BusinessConnection),
			nextBizMsgID: make(map[msgKey]int),
		}
	}
	s.mu.Unlock()
	return s.IssueToken(spec.ID)
}

// BotUser is the bot as a telego.User, as it appears in my_chat_member
// updates and in the from field of messages it sent.
func (s *Server) BotUser(botID int64) telego.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBot(botID).user()
}

func (b *fakeBot) user() telego.User {
	return telego.User{ID: b.spec.ID, IsBot: true, FirstName: b.spec.FirstName, Username: b.spec.Username}
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// IssueToken returns a new valid token for the bot, shaped like the ones
// @BotFather hands out: "<id>:AA" followed by 33 characters. Earlier tokens
// stay valid until revoked, which is what lets tests exercise Update Token.
// An unknown bot id is registered with a default profile.
func (s *Server) IssueToken(botID int64) string {
	s.mu.Lock()
	_, known := s.bots[botID]
	s.mu.Unlock()
	if !known {
		return s.AddBot(BotSpec{ID: botID})
	}
	buf := make([]byte, 33)
	_, _ = rand.Read(buf) // never fails on supported platforms
	for i := range buf {
		buf[i] = tokenAlphabet[int(buf[i])%len(tokenAlphabet)]
	}
	tok := strconv.FormatInt(botID, 10) + ":AA" + string(buf)
	s.mu.Lock()
	s.tokens[tok] = botID
	s.mu.Unlock()
	return tok
}

// RevokeToken makes every later call with the token fail with 401, as after
// "/revoke" in @BotFather.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// SetWebhook sets (or with "" clears) the bot's webhook as if another program
// had called setWebhook, so getUpdates answers 409.
func (s *Server) SetWebhook(botID int64, webhookURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustBot(botID).setWebhook(webhookURL)
}

func (b *fakeBot) setWebhook(u string) {
	b.webhookURL = u
	if u != "" && b.poll != nil {
		b.poll.reason = DescConflictWebhook
		close(b.poll.kicked)
		b.poll = nil
	}
}

// Sent returns copies of the messages the bot sent with sendMessage, oldest
// first.
func (s *Server) Sent(botID int64) []telego.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bots[botID]
	if !ok {
		return nil
	}
	return append([]telego.Message(nil), b.sent...)
}

// Pending is the number of updates Telegram still holds for the bot because
// no getUpdates has confirmed them with a higher offset.
func (s *Server) Pending(botID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bots[botID]
	if !ok {
		return 0
	}
	return len(b.queue)
}

// Calls counts requests for a Bot API method (case-insensitive) across all
// bots, including failed and faulted ones; "" counts every request.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// PollOverlaps counts the getUpdates calls of a bot that found another of
// its getUpdates still open, which Telegram answers by ending the older
// one with 409: each is a moment two clients polled the bot at once.
func (s *Server) PollOverlaps(botID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bots[botID]
	if !ok {
		return 0
	}
	return b.overlaps
}

// BotCalls counts authenticated requests of one bot for a method; "" counts
// all of them.
func (s *Server) BotCalls(botID int64, method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bots[botID]
	if !ok {
		return 0
	}
	return b.calls[strings.ToLower(method)]
}

func (s *Server) mustBot(botID int64) *fakeBot {
	b, ok := s.bots[botID]
	if !ok {
		panic(fmt.Sprintf("telegramtest: unknown bot %d; call AddBot first", botID))
	}
	return b
}

// Handler serves the Bot API: /bot<token>/<method> and
// /file/bot<token>/<path>. It does not serve the control API, so a demo can
// expose it without handing out control.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

var tokenShape = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/file/bot"); ok {
		token, filePath, _ := strings.Cut(rest, "/")
		s.serveFile(w, r, token, filePath)
		return
	}
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		writeError(w, http.StatusNotFound, DescNotFound, nil)
		return
	}
	token, method, _ := strings.Cut(rest, "/")
	s.serveMethod(w, r, token, method)
}

func (s *Server) serveMethod(w http.ResponseWriter, r *http.Request, token, method string) {
	key := strings.ToLower(method)
	s.mu.Lock()
	s.calls[key]++
	s.calls[""]++
	latency := s.latency
	var b *fakeBot
	var fault *Fault
	if id, ok := s.tokens[token]; ok {
		b = s.bots[id]
		b.calls[key]++
		b.calls[""]++
		fault = s.takeFault(id, token, key)
	}
	s.mu.Unlock()

	if !sleepCtx(r, s.closed, latency) {
		return
	}
	if fault != nil && s.applyFault(w, r, fault) {
		return
	}
	if b == nil {
		// Telegram answers 404 to a path that is not shaped like a token and
		// 401 to a well-formed token it does not know (or no longer knows).
		if !tokenShape.MatchString(token) {
			writeError(w, http.StatusNotFound, DescNotFound, nil)
			return
		}
		writeError(w, http.StatusUnauthorized, DescUnauthorized, nil)
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), nil)
		return
	}
	switch key {
	case "getme":
		s.getMe(w, b)
	case "getupdates":
		s.getUpdates(w, r, b, params)
	case "sendmessage":
		s.sendMessage(w, b, params)
	case "sendphoto":
		s.sendPhoto(w, r, b, params)
	case "senddocument":
		s.sendDocument(w, r, b, params)
	case "editmessagetext":
		s.editMessageText(w, b, params)
	case "deletemessage":
		s.deleteMessage(w, b, params)
	case "deletebusinessmessages":
		s.deleteBusinessMessages(w, b, params)
	case "setmessagereaction":
		s.setMessageReaction(w, b, params)
	case "sendchataction":
		s.sendChatAction(w, b, params)
	case "setwebhook":
		s.setWebhookMethod(w, b, params)
	case "deletewebhook":
		s.deleteWebhook(w, b, params)
	case "getwebhookinfo":
		s.getWebhookInfo(w, b)
	case "getfile":
		s.getFile(w, params)
	default:
		writeError(w, http.StatusNotFound, DescNotFound, nil)
	}
}

// readParams accepts every encoding Telegram accepts: query string, form,
// multipart form and a JSON object. Non-string JSON values are kept as their
// JSON text, matching how Telegram reads arrays and objects sent in forms.
func readParams(r *http.Request) (url.Values, error) {
	vals := url.Values{}
	for k, v := range r.URL.Query() {
		vals[k] = v
	}
	if r.Method != http.MethodPost {
		return vals, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		// Strict like the Bot API emulators and proxies botdesk must work
		// with: the body is a JSON object, and the literal null is not one.
		var raw json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			return nil, fmt.Errorf("can't parse JSON object")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("can't parse JSON object")
		}
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				vals.Set(k, s)
			} else {
				vals.Set(k, string(raw))
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("can't parse form")
		}
		for k, v := range r.PostForm {
			vals[k] = v
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return nil, fmt.Errorf("can't parse multipart form")
		}
		for k, v := range r.MultipartForm.Value {
			vals[k] = v
		}
	}
	return vals, nil
}

type okResponse struct {
	OK     bool `json:"ok"`
	Result any  `json:"result"`
}

type errResponse struct {
	OK          bool                   `json:"ok"`
	ErrorCode   int                    `json:"error_code"`
	Description string                 `json:"description"`
	Parameters  *ta.ResponseParameters `json:"parameters,omitempty"`
}

func writeOK(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, okResponse{OK: true, Result: result})
}

func writeError(w http.ResponseWriter, code int, desc string, params *ta.ResponseParameters) {
	writeJSON(w, code, errResponse{ErrorCode: code, Description: desc, Parameters: params})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sleepCtx waits d unless the request or the server goes away first; it
// reports whether the caller should carry on.
func sleepCtx(r *http.Request, closed <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-closed:
		return false
	}
}
