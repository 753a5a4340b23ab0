package callbacks

import (
	"github.com/botdesk/botdesk/models"

	"encoding/json"
	"testing"
	"time"
)

// The JSON below is the documented wire format (docs/callbacks.md); a
// change here is a breaking change for every receiver.
func TestEventJSON(t *testing.T) {
	ts := Millis(time.UnixMilli(1718000000123))
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"status sent", StatusEvent{MessageID: "msg_01", ChannelID: "tg-abcdefghij", ChatID: 42, Status: StatusSent, Timestamp: ts},
			`{"kind":"status","message_id":"msg_01","channel_id":"tg-abcdefghij","chat_id":42,"status":"sent","timestamp":1718000000123}`},
		{"status failed", StatusEvent{Type: "wrong", MessageID: "msg_02", ChannelID: "tg-abcdefghij", ChatID: -1001234567890, Status: StatusFailed,
			ErrorCode: 403, ErrorDescription: "Forbidden: bot was blocked by the user", Timestamp: ts},
			`{"kind":"status","message_id":"msg_02","channel_id":"tg-abcdefghij","chat_id":-1001234567890,"status":"failed","error_code":403,"error_description":"Forbidden: bot was blocked by the user","timestamp":1718000000123}`},
		{"mo", MOEvent{MessageID: "msg_03", ChannelID: "tg-abcdefghij", ChatID: 42, ChatType: "private",
			From: &Sender{ID: 42, Username: "ann", DisplayName: "Ann Lee"}, MessageType: models.MessageText, Text: "hi", Timestamp: ts, UpdateID: 900},
			`{"kind":"mo","message_id":"msg_03","channel_id":"tg-abcdefghij","chat_id":42,"chat_type":"private","from":{"id":42,"username":"ann","display_name":"Ann Lee"},"type":"text","text":"hi","timestamp":1718000000123,"update_id":900}`},
		{"mo channel post", MOEvent{MessageID: "msg_04", ChannelID: "tg-abcdefghij", ChatID: -100777, ChatType: "channel", MessageType: models.MessagePhoto, Timestamp: ts, UpdateID: 901},
			`{"kind":"mo","message_id":"msg_04","channel_id":"tg-abcdefghij","chat_id":-100777,"chat_type":"channel","type":"photo","timestamp":1718000000123,"update_id":901}`},
		{"notify", NotifyEvent{Event: NotifyTokenInvalid, ChannelID: "tg-abcdefghij", BotID: 123456789, BotUsername: "acme_bot", Detail: "Telegram answered 401 Unauthorized", Timestamp: ts},
			`{"kind":"notify","event":"token_invalid","channel_id":"tg-abcdefghij","bot_id":123456789,"bot_username":"acme_bot","detail":"Telegram answered 401 Unauthorized","timestamp":1718000000123}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			// Pointers marshal the same way (the dispatcher may hold either).
			var asPtr any
			switch e := tt.ev.(type) {
			case StatusEvent:
				asPtr = &e
			case MOEvent:
				asPtr = &e
			case NotifyEvent:
				asPtr = &e
			}
			if p, _ := json.Marshal(asPtr); string(p) != tt.want {
				t.Fatalf("pointer: got %s", p)
			}
		})
	}
}

func TestEventRoundTrip(t *testing.T) {
	in := MOEvent{MessageID: "m", ChannelID: "tg-abcdefghij", ChatID: 1, ChatType: "group",
		From: &Sender{ID: 2, DisplayName: "B"}, MessageType: models.MessageLocation, Timestamp: 3, UpdateID: 4}
	b, _ := json.Marshal(in)
	var out MOEvent
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	in.Type = TypeMO
	if out.Type != in.Type || *out.From != *in.From || out.UpdateID != in.UpdateID || out.MessageType != in.MessageType {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
}

func TestQueueName(t *testing.T) {
	for _, et := range []EventType{TypeStatus, TypeMO, TypeNotify} {
		name := QueueName("tg-abcdefghij", et)
		ch, got, err := ParseQueueName(name)
		if err != nil || ch != "tg-abcdefghij" || got != et {
			t.Errorf("ParseQueueName(%q) = %q, %q, %v", name, ch, got, err)
		}
	}
	if got := QueueName("tg-abcdefghij", TypeMO); got != "botdesk-tg-abcdefghij-mo" {
		t.Errorf("QueueName = %q", got)
	}
	for _, bad := range []string{"", "botdesk--mo", "botdesk-tg-x-other", "other-tg-x-mo", "botdesk-tg-x"} {
		if _, _, err := ParseQueueName(bad); err == nil {
			t.Errorf("ParseQueueName(%q) accepted", bad)
		}
	}
}
