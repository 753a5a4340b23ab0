package models

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Role is what a user or API key may do.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleAgent    Role = "agent"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleAgent}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.TrimSpace(strings.ToLower(s))); r {
	case RoleAdmin, RoleOperator, RoleAgent:
		return r, nil
	}
	return "", fmt.Errorf("role must be admin, operator or agent, not %q", s)
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleOperator:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

// AtLeast reports whether r includes the powers of min: an admin can do
// what an operator can, an operator what an agent can.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// ValidationError is bad user input tied to a form field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Invalid builds a ValidationError.
func Invalid(field, msg string) error { return &ValidationError{Field: field, Message: msg} }

// AsValidation extracts a ValidationError from err.
func AsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}

// MaxChannelName bounds channel names, in characters.
const MaxChannelName = 64

// CleanChannelName trims and validates a channel name.
func CleanChannelName(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Invalid("name", "Enter a channel name.")
	case utf8.RuneCountInString(s) > MaxChannelName:
		return "", Invalid("name", fmt.Sprintf("Use at most %d characters.", MaxChannelName))
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", Invalid("name", "Remove control characters from the name.")
	}
	return s, nil
}

var channelIDPattern = regexp.MustCompile(`^tg-[a-z2-7]{10}$`)

// NewChannelID returns "tg-" + 10 lowercase base32 characters.
func NewChannelID() (string, error) {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("channel id: %w", err)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	return "tg-" + strings.ToLower(enc[:10]), nil
}

// ValidChannelID reports whether s has the shape of a channel id.
func ValidChannelID(s string) bool { return channelIDPattern.MatchString(s) }

// Emails: a pragmatic check; the real proof is the person signing in.
var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// CleanEmail trims, lowercases and validates an email address.
func CleanEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 254 || !emailPattern.MatchString(s) {
		return "", Invalid("email", "Enter a valid email address.")
	}
	return s, nil
}

// MinPassword is the shortest password accepted.
const MinPassword = 10

// CheckPassword validates a new password.
func CheckPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPassword:
		return Invalid("password", fmt.Sprintf("Use at least %d characters.", MinPassword))
	case len(p) > 1024:
		return Invalid("password", "Use at most 1024 bytes.")
	}
	return nil
}
