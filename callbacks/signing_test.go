package callbacks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refSign is an independent implementation of the Standard Webhooks
// signature, written from the spec, so that Sign is not tested against
// itself.
func refSign(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("reference: decode secret: %v", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// The vector published with the Standard Webhooks specification.
const (
	kaSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	kaID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	kaTS     = 1614265330
	kaBody   = `{"test": 2432232314}`
	kaSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignKnownAnswer(t *testing.T) {
	got, err := Sign(kaSecret, kaID, time.Unix(kaTS, 0), []byte(kaBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != kaSig {
		t.Fatalf("Sign = %q, want %q", got, kaSig)
	}
	if ref := refSign(t, kaSecret, kaID, strconv.Itoa(kaTS), []byte(kaBody)); ref != kaSig {
		t.Fatalf("reference implementation disagrees with the published vector: %q", ref)
	}
}

func TestSignMatchesIndependentImplementation(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_123, 987_000_000) // sub-second part must be dropped
	for _, body := range []string{"", "{}", `[{"type":"mo","text":"héllo\n"}]`} {
		got, err := Sign(secret, "msg_1", now, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if want := refSign(t, secret, "msg_1", "1700000123", []byte(body)); got != want {
			t.Errorf("body %q: Sign = %q, want %q", body, got, want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	rest, ok := strings.CutPrefix(a, "whsec_")
	if !ok {
		t.Fatalf("secret %q lacks whsec_ prefix", a)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) != 32 {
		t.Fatalf("secret key: %d bytes, err %v; want 32 bytes", len(key), err)
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	if _, err := Sign("whsec_not base64!", "id", time.Now(), nil); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("bad secret: err = %v", err)
	}
	if _, err := Sign("whsec_", "id", time.Now(), nil); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("empty secret: err = %v", err)
	}
	if _, err := Sign(kaSecret, "", time.Now(), nil); err == nil {
		t.Error("empty message id accepted")
	}
	_, err := Sign("whsec_%%%%supersecret", "id", time.Now(), nil)
	if err == nil || strings.Contains(err.Error(), "supersecret") {
		t.Errorf("error must not contain the secret: %v", err)
	}
}

func TestVerify(t *testing.T) {
	other, _ := NewSecret()
	body := []byte(kaBody)
	at := time.Unix(kaTS, 0)
	otherSig := refSign(t, other, kaID, strconv.Itoa(kaTS), body)
	hdr := func(id, ts, sig string) http.Header {
		h := http.Header{}
		if id != "" {
			h.Set("webhook-id", id)
		}
		if ts != "" {
			h.Set("webhook-timestamp", ts)
		}
		if sig != "" {
			h.Set("webhook-signature", sig)
		}
		return h
	}
	ts := strconv.Itoa(kaTS)
	tests := []struct {
		name    string
		secret  string
		h       http.Header
		body    []byte
		now     time.Time
		tol     time.Duration
		wantErr error
	}{
		{"valid", kaSecret, hdr(kaID, ts, kaSig), body, at, 0, nil},
		{"secret without prefix", strings.TrimPrefix(kaSecret, "whsec_"), hdr(kaID, ts, kaSig), body, at, 0, nil},
		{"one of several", kaSecret, hdr(kaID, ts, otherSig+" v1a,AAAA "+kaSig), body, at, 0, nil},
		{"within tolerance", kaSecret, hdr(kaID, ts, kaSig), body, at.Add(4 * time.Minute), 0, nil},
		{"custom tolerance", kaSecret, hdr(kaID, ts, kaSig), body, at.Add(time.Hour), 2 * time.Hour, nil},
		{"too old", kaSecret, hdr(kaID, ts, kaSig), body, at.Add(6 * time.Minute), 0, ErrTimestampTooOld},
		{"too new", kaSecret, hdr(kaID, ts, kaSig), body, at.Add(-6 * time.Minute), 0, ErrTimestampTooNew},
		{"tampered body", kaSecret, hdr(kaID, ts, kaSig), []byte(`{"test": 2432232315}`), at, 0, ErrSignatureMismatch},
		{"other id", kaSecret, hdr("msg_other", ts, kaSig), body, at, 0, ErrSignatureMismatch},
		{"wrong secret only", kaSecret, hdr(kaID, ts, otherSig), body, at, 0, ErrSignatureMismatch},
		{"unversioned", kaSecret, hdr(kaID, ts, strings.TrimPrefix(kaSig, "v1,")), body, at, 0, ErrSignatureMismatch},
		{"missing id", kaSecret, hdr("", ts, kaSig), body, at, 0, ErrMissingHeaders},
		{"missing signature", kaSecret, hdr(kaID, ts, ""), body, at, 0, ErrMissingHeaders},
		{"bad timestamp", kaSecret, hdr(kaID, "yesterday", kaSig), body, at, 0, ErrInvalidTimestamp},
		{"bad secret", "whsec_***", hdr(kaID, ts, kaSig), body, at, 0, ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.h, tt.body, tt.tol, tt.now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
