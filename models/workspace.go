package models

// The agent's workspace: canned responses, private notes and labels, with
// the rules their input must follow.

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// CannedResponse is a saved reply an agent inserts with "/" in the reply
// box. ChannelID nil = offered in every channel.
type CannedResponse struct {
	ID        int64 `gorm:"primaryKey"`
	ChannelID *string
	Shortcut  string
	Text      string
	CreatedBy *int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConversationNote is a private note agents leave on a conversation; it is
// never sent anywhere.
type ConversationNote struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64
	AuthorID       *int64
	Author         string
	Text           string
	CreatedAt      time.Time
}

// Label tags conversations; admins and operators create them.
type Label struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	NameKey   string `json:"-"`
	Color     string
	CreatedAt time.Time
}

// Limits of workspace input.
const (
	MaxShortcut   = 32
	MaxCannedText = 4096
	MaxNoteText   = 4096
	MaxLabelName  = 32
	MaxLabels     = 20 // labels on one conversation
)

var shortcutPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// CleanShortcut trims, drops a leading "/", lowercases and validates a
// canned response shortcut.
func CleanShortcut(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "/"))
	switch {
	case s == "":
		return "", Invalid("shortcut", "Enter a shortcut, like thanks.")
	case len(s) > MaxShortcut:
		return "", Invalid("shortcut", fmt.Sprintf("Use at most %d characters.", MaxShortcut))
	case !shortcutPattern.MatchString(s):
		return "", Invalid("shortcut", "Use lowercase letters, digits, - and _ only.")
	}
	return s, nil
}

// CleanCannedText validates a canned response text.
func CleanCannedText(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Invalid("text", "Enter the text of the response.")
	case utf8.RuneCountInString(s) > MaxCannedText:
		return "", Invalid("text", fmt.Sprintf("Use at most %d characters.", MaxCannedText))
	}
	return s, nil
}

// CleanNoteText validates a private note.
func CleanNoteText(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Invalid("text", "Enter the note.")
	case utf8.RuneCountInString(s) > MaxNoteText:
		return "", Invalid("text", fmt.Sprintf("Use at most %d characters.", MaxNoteText))
	}
	return s, nil
}

// CannedVars are the values of a canned response's variables.
type CannedVars struct {
	FirstName string // the customer's first name
	Username  string // the customer's @username, without the @
	AgentName string // the agent's name (the part of the email before @)
}

// Fill replaces {first_name}, {username} and {agent_name} in text. An
// unknown value becomes "" so no placeholder ever reaches a customer.
func (v CannedVars) Fill(text string) string {
	return strings.NewReplacer("{first_name}", v.FirstName, "{username}", v.Username, "{agent_name}", v.AgentName).Replace(text)
}

// FirstName is the first word of a Telegram display name ("first last").
func FirstName(display string) string {
	if f := strings.Fields(display); len(f) > 0 {
		return f[0]
	}
	return ""
}

// AgentName is how a canned response names the agent: the local part of
// the email, capitalised ("maria.k@…" → "Maria.k").
func AgentName(email string) string {
	local, _, _ := strings.Cut(email, "@")
	if local == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(local)
	return strings.ToUpper(string(r)) + local[size:]
}

// LabelColors are the colours a label may have, as named in the console;
// each has a style with enough contrast in static/css/app.css.
var LabelColors = []string{"gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink"}

// CleanLabel validates a label's name and colour; it returns the name and
// its case-folded key.
func CleanLabel(name, color string) (string, string, string, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return "", "", "", Invalid("name", "Enter a label name.")
	case utf8.RuneCountInString(name) > MaxLabelName:
		return "", "", "", Invalid("name", fmt.Sprintf("Use at most %d characters.", MaxLabelName))
	case strings.ContainsAny(name, ","):
		return "", "", "", Invalid("name", "A label name cannot contain a comma.")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", "", "", Invalid("name", "Remove control characters from the name.")
	}
	color = strings.ToLower(strings.TrimSpace(color))
	if color == "" {
		color = "gray"
	}
	for _, c := range LabelColors {
		if c == color {
			return name, strings.ToLower(name), color, nil
		}
	}
	return "", "", "", Invalid("color", "Choose one of: "+strings.Join(LabelColors, ", ")+".")
}
