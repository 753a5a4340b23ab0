package callbacks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names defined by Standard Webhooks. Receivers look them up
// case-insensitively, so the lower-case spelling of the spec is used as is.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a signing secret so that it is recognisable when pasted
// into configuration, and so that a receiver library can tell it apart from
// other base64 strings.
const SecretPrefix = "whsec_"

// secretBytes is the key size of a new secret: as long as the HMAC-SHA256
// output, which is what the spec recommends as an upper bound and is more
// than enough entropy.
const secretBytes = 32

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's
// clock before [Verify] refuses it; 5 minutes is the Standard Webhooks
// default and bounds replay of a captured request.
const DefaultTolerance = 5 * time.Minute

// Verification errors. They are sentinels so that a receiver can tell a
// stale request (clock skew, replay) from a forged one.
var (
	ErrInvalidSecret     = errors.New("callbacks: invalid signing secret")
	ErrMissingHeaders    = errors.New("callbacks: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp  = errors.New("callbacks: invalid webhook-timestamp")
	ErrTimestampTooOld   = errors.New("callbacks: webhook-timestamp is too old")
	ErrTimestampTooNew   = errors.New("callbacks: webhook-timestamp is in the future")
	ErrSignatureMismatch = errors.New("callbacks: no matching signature")
)

// NewSecret returns a fresh per-channel signing secret: "whsec_" followed by
// the standard base64 encoding of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("callbacks: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// decodeSecret returns the HMAC key of a secret. The prefix is optional
// because receivers sometimes store only the base64 part; the error never
// contains the secret itself, since errors end up in logs.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// sign computes the bare base64 signature (without the "v1," prefix).
func sign(key []byte, msgID string, unix int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(unix, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the webhook-signature header value for one delivery:
// "v1," + base64(HMAC-SHA256(key, msgID + "." + unix seconds + "." + body)),
// where key is the base64-decoded part of secret after "whsec_".
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("callbacks: sign: %w", err)
	}
	if msgID == "" {
		return "", errors.New("callbacks: sign: empty message id")
	}
	return "v1," + base64.StdEncoding.EncodeToString(sign(key, msgID, ts.Unix(), body)), nil
}

// Verify checks a received webhook the way a receiver should: the three
// headers must be present, the timestamp within tolerance of now (zero
// tolerance means [DefaultTolerance]), and at least one of the
// space-separated "v1,<sig>" entries of webhook-signature must match.
// Several entries are accepted because a sender may sign with an old and a
// new secret while a rotation is rolled out. Comparison is constant-time.
func Verify(secret string, headers http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return fmt.Errorf("callbacks: verify: %w", err)
	}
	id := headers.Get(HeaderID)
	tsRaw := headers.Get(HeaderTimestamp)
	sigs := headers.Get(HeaderSignature)
	if id == "" || tsRaw == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds: the header has one-second resolution.
	skew := now.Unix() - unix
	switch {
	case skew > int64(tolerance/time.Second):
		return ErrTimestampTooOld
	case -skew > int64(tolerance/time.Second):
		return ErrTimestampTooNew
	}
	want := sign(key, id, unix, body)
	for _, entry := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			// Unknown versions (e.g. asymmetric "v1a") are skipped, not
			// errors: the header may carry them alongside a v1 entry.
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	return ErrSignatureMismatch
}
