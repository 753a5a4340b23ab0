package callbacks

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkSign is the per-delivery signature (Standard Webhooks HMAC) of a
// typical mo payload.
func BenchmarkSign(b *testing.B) {
	secret, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"type":"mo","message_id":123,"channel_id":"tg-abcdefghij","chat_id":5000000001,"text":"` + strings.Repeat("hello ", 40) + `"}`)
	ts := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Sign(secret, "evt_0123456789abcdef", ts, body); err != nil {
			b.Fatal(err)
		}
	}
}
