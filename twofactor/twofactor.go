// Package twofactor is the second sign-in factor of local accounts: TOTP
// codes (RFC 6238, through github.com/pquerna/otp) with the time step each
// code belongs to, so a code works only once; one-time recovery codes; and
// the enrolment QR code drawn on the server as SVG path data (no image
// URL, so the strict CSP needs no img-src data:). It holds no state: the
// store keeps the sealed secret, the last step used and the code hashes.
package twofactor

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters every authenticator app understands (the otpauth
// defaults): 30-second steps, 6 digits, HMAC-SHA1.
const (
	Period = 30
	Digits = 6
	// Skew is how many steps either side of now a code may belong to:
	// phone clocks drift and people type slowly.
	Skew = 1
)

// Issuer names botdesk in the authenticator app.
const Issuer = "botdesk"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a fresh random secret (160 bits, RFC 4226's
// recommendation) in base32, as apps and the otpauth URI carry it.
func NewSecret() (string, error) {
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("twofactor: secret: %w", err)
	}
	return b32.EncodeToString(raw), nil
}

// URI is the otpauth:// URI of secret for account (what the QR code holds).
func URI(secret, account string) (string, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return "", fmt.Errorf("twofactor: secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: Period,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("twofactor: uri: %w", err)
	}
	return key.URL(), nil
}

// Step is the RFC 6238 time step of t.
func Step(t time.Time) int64 { return t.Unix() / Period }

// Code is the code of secret for time step step.
func Code(secret string, step int64) (string, error) {
	c, err := totp.GenerateCodeCustom(secret, time.Unix(step*Period, 0), totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("twofactor: code: %w", err)
	}
	return c, nil
}

// LooksLikeCode reports whether s (spaces allowed, as apps show "123 456")
// is shaped like a TOTP code rather than a recovery code.
func LooksLikeCode(s string) bool {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(s) != Digits {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}

// Match finds the step within Skew of now whose code is code and which is
// later than lastStep (a step already used, or older, never matches again:
// a code works once). ok is false when none does. The caller must record
// the step atomically (store.UseTOTPStep) before trusting it: two
// requests may match the same step at once.
func Match(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if !LooksLikeCode(code) {
		return 0, false
	}
	cur := Step(now)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s <= lastStep {
			continue
		}
		want, err := Code(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// RecoveryCount is how many recovery codes an enrolment hands out.
const RecoveryCount = 10

// recoveryAlphabet leaves out 0/O and 1/I/L, which people misread.
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// NewRecoveryCodes returns RecoveryCount codes like "k7m2-q9xe-4tpa-hw3r"
// (16 characters of a 31-letter alphabet, about 79 bits each: enough that
// their stored SHA-256 cannot be searched).
func NewRecoveryCodes() ([]string, error) {
	out := make([]string, RecoveryCount)
	buf := make([]byte, 16)
	for i := range out {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("twofactor: recovery code: %w", err)
		}
		var b strings.Builder
		for j, v := range buf {
			if j > 0 && j%4 == 0 {
				b.WriteByte('-')
			}
			// 256 % 31 != 0 leaves a bias of under 1%: irrelevant at 79 bits.
			b.WriteByte(recoveryAlphabet[int(v)%len(recoveryAlphabet)])
		}
		out[i] = b.String()
	}
	return out, nil
}

// NormalizeRecovery is the form a recovery code is hashed in: lower case,
// without the dashes and spaces people type or leave out.
func NormalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, strings.TrimSpace(code))
}

// QR is a QR code as SVG: Size modules square (quiet zone included) and
// Path, path data drawing each dark module as a 1×1 square.
type QR struct {
	Size int
	Path string
}

// quietZone is the white border QR readers need (4 modules, ISO 18004).
const quietZone = 4

// NewQR encodes content (an otpauth URI) with error correction M.
func NewQR(content string) (QR, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return QR{}, fmt.Errorf("twofactor: qr: %w", err)
	}
	b := code.Bounds()
	var p strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&p, "M%d %dh1v1h-1z", x-b.Min.X+quietZone, y-b.Min.Y+quietZone)
			}
		}
	}
	return QR{Size: b.Dx() + 2*quietZone, Path: p.String()}, nil
}
