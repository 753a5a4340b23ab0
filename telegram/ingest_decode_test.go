package telegram

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// TestDecodeUpdateFastPathMatchesSlow: the envelope fast path of
// decodeUpdate gives exactly what the map-based reference decoder gives,
// for the common kinds and for the odd shapes it hands over to it.
func TestDecodeUpdateFastPathMatchesSlow(t *testing.T) {
	text, err := json.Marshal(telegramtest.PrivateText(telegramtest.User(42, "Ann Lee", "ann"), "hello there"))
	if err != nil {
		t.Fatal(err)
	}
	msg := `{"message_id":7,"date":1700000000,"chat":{"id":-100,"type":"supergroup","title":"G"},"from":{"id":1,"is_bot":false,"first_name":"A"},"text":"hi","entities":[{"type":"bold","offset":0,"length":2}]}`
	photo := `{"message_id":8,"date":1700000001,"chat":{"id":5,"type":"private","first_name":"P"},"caption":"c","photo":[{"file_id":"a","file_unique_id":"u","width":10,"height":10},{"file_id":"b","file_unique_id":"v","width":90,"height":90}]}`
	post := `{"message_id":9,"date":1700000002,"chat":{"id":-200,"type":"channel","title":"Ch"},"sender_chat":{"id":-200,"type":"channel","title":"Ch"},"text":"news"}`
	cases := map[string]string{
		"private text (telegramtest)": string(text),
		"group text":                  `{"update_id":1,"message":` + msg + `}`,
		"photo":                       `{"update_id":2,"message":` + photo + `}`,
		"edited message":              `{"update_id":3,"edited_message":` + msg[:len(msg)-1] + `,"edit_date":1700000100}}`,
		"channel post":                `{"update_id":4,"channel_post":` + post + `}`,
		"edited channel post":         `{"update_id":5,"edited_channel_post":` + post + `}`,
		"my_chat_member":              `{"update_id":6,"my_chat_member":{"chat":{"id":-100,"type":"group","title":"G"},"date":1700000000,"new_chat_member":{"status":"left","user":{"id":1}}}}`,
		"unknown kind":                `{"update_id":7,"poll_answer":{"poll_id":"x"}}`,
		"null body":                   `{"update_id":8,"message":null}`,
		"capitalised key":             `{"update_id":9,"Message":` + msg + `}`,
		"two kinds":                   `{"update_id":10,"channel_post":` + post + `,"message":` + msg + `}`,
		"string id":                   `{"update_id":"11","message":` + msg + `}`,
		"no id":                       `{"message":` + msg + `}`,
		"invalid JSON":                `{"update_id":12,"message":`,
		"bad field type (loose)":      `{"update_id":13,"message":{"message_id":7,"date":1,"chat":{"id":3,"type":"private"},"text":"t","entities":"oops"}}`,
		"unreadable message":          `{"update_id":14,"message":{"message_id":"x","chat":"y"}}`,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			fast, ferr := decodeUpdate(json.RawMessage(raw))
			slow, serr := decodeUpdateSlow(json.RawMessage(raw))
			if fmt.Sprint(ferr) != fmt.Sprint(serr) {
				t.Fatalf("errors differ: fast %v, slow %v", ferr, serr)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast %+v\nslow %+v", fast, slow)
			}
		})
	}
}
