package models

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Message types (messages.type, and "type" of the mo callback). A message
// Telegram sends in a form botdesk does not name yet is stored as
// MessageOther rather than dropped.
const (
	MessageText      = "text"
	MessagePhoto     = "photo"
	MessageDocument  = "document"
	MessageSticker   = "sticker"
	MessageVoice     = "voice"
	MessageAudio     = "audio"
	MessageVideo     = "video"
	MessageVideoNote = "video_note"
	MessageAnimation = "animation"
	MessageLocation  = "location"
	MessageVenue     = "venue"
	MessageContact   = "contact"
	MessagePoll      = "poll"
	MessageDice      = "dice"
	// MessageService is a service message: members joined or left, the
	// title changed, a message was pinned (the text describes it).
	MessageService = "service"
	MessageOther   = "other"
)

// Media is the JSON stored in messages.media for a message that carries a
// file or a place. Only the fields that apply are present:
//
//	{
//	  "file_id":        "AgACAgIAA…",   // for getFile; valid for this bot only
//	  "file_unique_id": "AQADxyz…",      // stable across bots, for de-duplication
//	  "file_size":      102400,          // bytes
//	  "mime_type":      "image/jpeg",    // document, voice, audio, video, animation
//	  "file_name":      "invoice.pdf",   // document, audio, video, animation
//	  "width":          1280,            // photo (largest size), sticker, video, animation,
//	  "height":         960,             //   video_note (its diameter in both)
//	  "duration":       7,               // seconds: voice, audio, video, video_note, animation
//	  "latitude":       52.52,           // location and venue
//	  "longitude":      13.405,
//	  "emoji":          "👍"             // sticker, dice
//	}
//
// messages.type says what kind of message it is; the text column holds the
// caption. Telegram file ids are not secrets, but downloading needs the bot
// token, so the console relays files itself and never hands out a URL.
type Media struct {
	FileID       string  `json:"file_id,omitempty"`
	FileUniqueID string  `json:"file_unique_id,omitempty"`
	FileSize     int64   `json:"file_size,omitempty"`
	MimeType     string  `json:"mime_type,omitempty"`
	FileName     string  `json:"file_name,omitempty"`
	Width        int     `json:"width,omitempty"`
	Height       int     `json:"height,omitempty"`
	Duration     int     `json:"duration,omitempty"`
	Latitude     float64 `json:"latitude,omitempty"`
	Longitude    float64 `json:"longitude,omitempty"`
	Emoji        string  `json:"emoji,omitempty"`
}

// ParseMedia decodes messages.media; "" is no media (a zero Media).
// Telegram's values come through unchecked, so callers that show them
// bound them themselves.
func ParseMedia(s string) (Media, error) {
	var m Media
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return Media{}, fmt.Errorf("models: media: %w", err)
	}
	return m, nil
}

// HasFile reports whether the media is a Telegram file the server can
// relay (a location is not).
func (m Media) HasFile() bool { return m.FileID != "" }

// HasPlace reports whether the media carries usable coordinates.
func (m Media) HasPlace() bool {
	ok := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) <= 180 }
	return (m.Latitude != 0 || m.Longitude != 0) && ok(m.Latitude) && ok(m.Longitude)
}
