package bots

// Kind classifies an expected failure; the web layer maps it to a status.
type Kind int

// The kinds of expected failure.
const (
	// Invalid: the input cannot work as given (a malformed token, a token
	// of another bot, a token Telegram rejected).
	Invalid Kind = iota + 1
	// NotFound: the channel has no bot (any more).
	NotFound
	// Conflict: the channel already has a bot, or the bot serves another
	// channel.
	Conflict
	// Upstream: Telegram could not be reached or refused the call.
	Upstream
	// Unavailable: this process does not run the pollers.
	Unavailable
)

// Error is an expected failure of a bot operation, in words for the person
// who tried it: Code is the API error code, Field the input at fault, and
// Retry says trying again unchanged may work. Messages never contain the
// token.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	Retry   bool
}

func (e *Error) Error() string { return "bots: " + e.Code + ": " + e.Message }

// Errors callers may test for with errors.Is.
var (
	ErrMalformedToken = &Error{Kind: Invalid, Code: "malformed_token",
		Message: "This is not a bot token. Paste the whole token @BotFather gave you: digits, a colon, then about 35 letters, digits, - or _ (like 123456789:AAF1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW)."}
	ErrTokenRejected = &Error{Kind: Invalid, Code: "token_rejected",
		Message: "Telegram rejected this token: it was revoked in @BotFather or never existed. Copy the current token from @BotFather (/mybots → API Token) and try again. Nothing was saved."}
	ErrUnreachable = &Error{Kind: Upstream, Code: "telegram_unreachable", Retry: true,
		Message: "Telegram could not be reached (network error or timeout), so the token could not be checked. Nothing was saved. Try again in a moment."}
	ErrNoBot     = &Error{Kind: NotFound, Code: "not_found", Message: "This channel has no bot connected."}
	ErrNoPollers = &Error{Kind: Unavailable, Code: "unavailable", Message: "Polling is not running in this botdesk process."}
)

// CodeSwitchFailed is the code of a failed SwitchToPolling; its Message is
// the reason alone, which the caller words into its notice.
const CodeSwitchFailed = "switch_failed"
