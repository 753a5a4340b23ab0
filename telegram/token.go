package telegram

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// ErrMalformedToken is returned by ParseToken for text that cannot be a bot
// token. The message is meant to be shown next to the token field as is.
var ErrMalformedToken = errors.New("this is not a bot token: paste the whole token @BotFather gave you, like 123456789:AAF1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW")

var tokenPattern = regexp.MustCompile(`^[0-9]{3,20}:[A-Za-z0-9_-]{30,60}$`)

// Token is a validated bot token. Every way of printing or encoding it
// (String, %v, %+v, %#v, %q, slog, JSON, text) yields the masked form
// 123456789:••••••••wxyz; only Reveal returns the secret.
//
// The secret sits behind a pointer so that even reflection-based printing of
// a struct holding a Token in an unexported field (where fmt cannot call our
// methods) shows an address, not the token. The zero Token is empty.
type Token struct {
	s *secret
}

type secret struct {
	raw   string
	botID int64
}

// ParseToken validates s as a bot token. Surrounding spaces and newlines are
// trimmed because tokens are pasted from chats and password managers.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	if !tokenPattern.MatchString(s) {
		return Token{}, ErrMalformedToken
	}
	idPart, _, _ := strings.Cut(s, ":")
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil || id <= 0 {
		// 20 digits can overflow int64; Telegram ids never do.
		return Token{}, ErrMalformedToken
	}
	return Token{s: &secret{raw: s, botID: id}}, nil
}

// IsZero reports whether t is the zero Token.
func (t Token) IsZero() bool { return t.s == nil }

// BotID is the bot's Telegram user id, the part before the colon. It is not
// secret and identifies the bot across token changes.
func (t Token) BotID() int64 {
	if t.s == nil {
		return 0
	}
	return t.s.botID
}

// Reveal returns the secret token. Call it only where the token must leave
// the process: the Bot API request and encryption at rest.
func (t Token) Reveal() string {
	if t.s == nil {
		return ""
	}
	return t.s.raw
}

// Equal compares two tokens in constant time.
func (t Token) Equal(o Token) bool {
	return subtle.ConstantTimeCompare([]byte(t.Reveal()), []byte(o.Reveal())) == 1
}

// String returns the masked token, e.g. 123456789:••••••••wxyz.
func (t Token) String() string {
	if t.s == nil {
		return ""
	}
	return maskToken(t.s.raw)
}

// GoString masks %#v too.
func (t Token) GoString() string { return strconv.Quote(t.String()) }

// Format makes every fmt verb print the masked form; without it %x or %q
// of a Token would go through default struct formatting.
func (t Token) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		_, _ = f.Write([]byte(strconv.Quote(t.String())))
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(t.GoString()))
			return
		}
		_, _ = f.Write([]byte(t.String()))
	default:
		_, _ = f.Write([]byte(t.String()))
	}
}

// LogValue masks the token in slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText masks the token, so it cannot leak through encoders either.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// MarshalJSON masks the token.
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// maskToken keeps the bot id and the last four characters, enough for an
// operator to tell two tokens of the same bot apart.
func maskToken(raw string) string {
	id, rest, ok := strings.Cut(raw, ":")
	if !ok || len(rest) < 8 {
		return "••••••••"
	}
	return id + ":••••••••" + rest[len(rest)-4:]
}
