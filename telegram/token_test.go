package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const sampleToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDwxyz"

func TestParseToken(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		wantID int64
		ok     bool
	}{
		{"valid", sampleToken, 123456789, true},
		{"spaces and newline trimmed", "  " + sampleToken + "\r\n", 123456789, true},
		{"tab trimmed", "\t" + sampleToken, 123456789, true},
		{"30 chars secret", "1234567890:" + strings.Repeat("a", 30), 1234567890, true},
		{"60 chars secret", "123:" + strings.Repeat("Z_-9", 15), 123, true},
		{"empty", "", 0, false},
		{"only spaces", "   ", 0, false},
		{"no colon", "123456789AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", 0, false},
		{"id too short", "12:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", 0, false},
		{"id not digits", "12a456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", 0, false},
		{"secret too short", "123456789:AAHdqTcvCH1vG", 0, false},
		{"secret too long", "123456789:" + strings.Repeat("a", 61), 0, false},
		{"bad char", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD$aw", 0, false},
		{"inner space", "123456789: AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", 0, false},
		{"id overflows int64", "99999999999999999999:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", 0, false},
		{"url pasted", "https://api.telegram.org/bot" + sampleToken + "/getMe", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ParseToken(tt.in)
			if !tt.ok {
				if !errors.Is(err, ErrMalformedToken) {
					t.Fatalf("ParseToken(%q) err = %v, want ErrMalformedToken", tt.in, err)
				}
				if !tok.IsZero() {
					t.Fatal("a failed parse must return the zero Token")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseToken(%q): %v", tt.in, err)
			}
			if tok.BotID() != tt.wantID {
				t.Errorf("BotID = %d, want %d", tok.BotID(), tt.wantID)
			}
			if tok.Reveal() != strings.TrimSpace(tt.in) {
				t.Errorf("Reveal = %q, want trimmed input", tok.Reveal())
			}
		})
	}
}

func TestTokenMasking(t *testing.T) {
	tok, err := ParseToken(sampleToken)
	if err != nil {
		t.Fatal(err)
	}
	const masked = "123456789:••••••••wxyz"
	if got := tok.String(); got != masked {
		t.Fatalf("String = %q, want %q", got, masked)
	}
	secret := sampleToken[len("123456789:"):]

	type exported struct{ Token Token }
	type unexported struct{ tok Token }
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("connect", "token", tok, "nested", exported{tok})
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("connect", "token", tok, "u", unexported{tok})
	jsonOut, _ := json.Marshal(exported{tok})
	textOut, _ := tok.MarshalText()

	outputs := map[string]string{
		"%v":             fmt.Sprintf("%v", tok),
		"%+v":            fmt.Sprintf("%+v", tok),
		"%#v":            fmt.Sprintf("%#v", tok),
		"%s":             fmt.Sprintf("%s", tok),
		"%q":             fmt.Sprintf("%q", tok),
		"%x":             fmt.Sprintf("%x", tok),
		"%d":             fmt.Sprintf("%d", tok),
		"struct %+v":     fmt.Sprintf("%+v", exported{tok}),
		"struct %#v":     fmt.Sprintf("%#v", exported{tok}),
		"unexported %+v": fmt.Sprintf("%+v", unexported{tok}),
		"unexported %#v": fmt.Sprintf("%#v", unexported{tok}),
		"pointer %+v":    fmt.Sprintf("%+v", &exported{tok}),
		"error %v":       fmt.Errorf("bad token %v", tok).Error(),
		"slog":           logBuf.String(),
		"json":           string(jsonOut),
		"text":           string(textOut),
	}
	for name, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, secret[:12]) {
			t.Errorf("%s leaks the token: %s", name, out)
		}
	}
	for _, name := range []string{"%v", "%+v", "%s", "struct %+v", "json", "text"} {
		if !strings.Contains(outputs[name], masked) {
			t.Errorf("%s = %q, want the masked form %q", name, outputs[name], masked)
		}
	}
}

func TestTokenEqual(t *testing.T) {
	a, _ := ParseToken(sampleToken)
	b, _ := ParseToken(" " + sampleToken)
	c, _ := ParseToken("123456789:" + strings.Repeat("b", 35))
	if !a.Equal(b) || a.Equal(c) {
		t.Fatal("Equal must compare token values")
	}
}

func TestRedactString(t *testing.T) {
	tests := []struct{ name, in string }{
		{"url error", `Post "https://api.telegram.org/bot` + sampleToken + `/getUpdates": dial tcp: lookup api.telegram.org: no such host`},
		{"file url", `Get "http://127.0.0.1:1234/file/bot` + sampleToken + `/photos/file_1.jpg": EOF`},
		{"bare token", "token " + sampleToken + " rejected"},
		{"odd token in url", `Post "http://x/bot123:short/getMe": EOF`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := RedactString(tt.in)
			if strings.Contains(out, "AAHdqTcvCH1v") || strings.Contains(out, "123:short") {
				t.Fatalf("not redacted: %s", out)
			}
		})
	}
	// An explicit secret is removed even where it does not look like a token.
	if out := RedactString("x=s3cr3t-value", "s3cr3t-value"); strings.Contains(out, "s3cr3t") {
		t.Fatalf("explicit secret kept: %s", out)
	}
}

func TestRedactKeepsIsButNotAs(t *testing.T) {
	inner := &APIError{Code: 400, Description: "see /bot" + sampleToken + "/x"}
	err := Redact(fmt.Errorf("wrap: %w: %w", ErrUnavailable, inner))
	if strings.Contains(err.Error(), "AAHdqTcvCH1v") {
		t.Fatalf("not redacted: %v", err)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatal("errors.Is must see through Redact")
	}
	var api *APIError
	if errors.As(err, &api) {
		t.Fatal("errors.As must not hand out the unredacted inner error")
	}
	if Redact(nil) != nil {
		t.Fatal("Redact(nil) must be nil")
	}
}
