package twofactor

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890"; 6-digit
// codes are the last six digits of the 8-digit vectors.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestCodeMatchesRFC6238(t *testing.T) {
	for _, v := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := Code(rfcSecret, Step(time.Unix(v.unix, 0)))
		if err != nil || got != v.want {
			t.Errorf("T=%d: code %q, %v; want %q", v.unix, got, err, v.want)
		}
	}
}

func TestMatchOncePerStepWithinSkew(t *testing.T) {
	now := time.Unix(1234567890, 0)
	cur := Step(now)
	code := func(step int64) string {
		c, err := Code(rfcSecret, step)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		code     string
		lastStep int64
		want     int64
		ok       bool
	}{
		{"current", code(cur), 0, cur, true},
		{"typed with a space", code(cur)[:3] + " " + code(cur)[3:], 0, cur, true},
		{"one step old", code(cur - 1), 0, cur - 1, true},
		{"one step ahead", code(cur + 1), 0, cur + 1, true},
		{"two steps old", code(cur - 2), 0, 0, false},
		{"step already used", code(cur), cur, 0, false},
		{"older than the used step", code(cur - 1), cur, 0, false},
		{"later than the used step", code(cur + 1), cur, cur + 1, true},
		{"wrong", "000000", 0, 0, false},
		{"not digits", "12345a", 0, 0, false},
		{"too long", code(cur) + "1", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := Match(rfcSecret, tc.code, now, tc.lastStep)
			if ok != tc.ok || step != tc.want {
				t.Errorf("Match = %d, %v; want %d, %v", step, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || LooksLikeCode(c) {
			t.Errorf("code %q: want xxxx-xxxx-xxxx-xxxx", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
		if n := NormalizeRecovery(" " + strings.ToUpper(strings.ReplaceAll(c, "-", " ")) + " "); n != strings.ReplaceAll(c, "-", "") {
			t.Errorf("normalised %q, want %q", n, strings.ReplaceAll(c, "-", ""))
		}
	}
	if len(codes) != RecoveryCount {
		t.Errorf("%d codes", len(codes))
	}
}

func TestURIAndQR(t *testing.T) {
	uri, err := URI(rfcSecret, "ann@example.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"otpauth://totp/botdesk:ann@example.test?", "secret=" + rfcSecret, "issuer=botdesk", "period=30", "digits=6", "algorithm=SHA1"} {
		if !strings.Contains(uri, part) {
			t.Errorf("uri %q lacks %q", uri, part)
		}
	}
	q, err := NewQR(uri)
	if err != nil {
		t.Fatal(err)
	}
	// A QR symbol is 17+4v modules square; the quiet zone adds 8.
	if n := q.Size - 2*quietZone; n < 21 || (n-17)%4 != 0 {
		t.Fatalf("size %d is no QR symbol", q.Size)
	}
	// The top-left finder pattern: a 7-module dark row at the quiet zone.
	for x := quietZone; x < quietZone+7; x++ {
		if !strings.Contains(q.Path, "M"+itoa(x)+" 4h1v1h-1z") {
			t.Errorf("finder pattern module (%d,4) missing", x)
		}
	}
	if strings.Contains(q.Path, "M11 4h") {
		t.Error("the finder pattern's separator (11,4) is dark")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
