package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/botdesk/botdesk/models"
)

// Two-factor sign-in (docs/guide.md "Two-factor"): the sealed TOTP secret
// and the last step used live on users (migration 0010), recovery codes
// as SHA-256 hashes, a pending second-factor step of a sign-in in
// login_challenges, and the "require two-factor for admins" policy in
// settings. The handlers seal and unseal the secret (like bot tokens);
// the store never sees it in clear.

// ErrTwoFactorOn: the account already has two-factor sign-in turned on
// (an enrolment cannot be started or confirmed twice).
var ErrTwoFactorOn = errors.New("store: two-factor already on")

// ErrTwoFactorOff: the change needs two-factor sign-in on (it was turned
// off meanwhile).
var ErrTwoFactorOff = errors.New("store: two-factor is off")

// Now is the store's clock (Config.Clock): TOTP steps and challenge
// expiry are computed with it so tests can hold time still.
func (s *Store) Now() time.Time { return s.now() }

// SetPendingTOTP stores a sealed secret for an enrolment the user has not
// confirmed yet; it replaces an earlier unconfirmed one.
func (s *Store) SetPendingTOTP(ctx context.Context, userID int64, sealed []byte) error {
	res := s.w(ctx).Model(&models.User{}).Where("id = ? AND totp_enabled = ?", userID, false).
		Updates(map[string]any{"totp_secret_enc": sealed, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("store: pending totp: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrTwoFactorOn
	}
	return nil
}

// EnableTOTP confirms the pending enrolment: two-factor is on from now,
// step (that of the confirming code) counts as used, and recoveryHashes
// replace any earlier recovery codes. Callers audit it in the same
// transaction.
func (s *Store) EnableTOTP(ctx context.Context, userID, step int64, recoveryHashes []string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.w(ctx).Model(&models.User{}).
			Where("id = ? AND totp_enabled = ? AND totp_secret_enc IS NOT NULL AND totp_last_step < ?", userID, false, step).
			Updates(map[string]any{"totp_enabled": true, "totp_last_step": step, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("store: enable totp: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrTwoFactorOn
		}
		return s.saveRecoveryCodes(ctx, userID, recoveryHashes)
	})
}

// ReplaceRecoveryCodes gives a user with two-factor on a fresh set of
// recovery codes: the old ones, used or not, stop working.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, recoveryHashes []string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		var on bool
		if err := s.w(ctx).Model(&models.User{}).Select("totp_enabled").Where("id = ?", userID).Scan(&on).Error; err != nil {
			return fmt.Errorf("store: read two-factor state: %w", err)
		}
		if !on {
			return ErrTwoFactorOff
		}
		return s.saveRecoveryCodes(ctx, userID, recoveryHashes)
	})
}

// saveRecoveryCodes replaces the user's recovery codes, inside the
// caller's transaction.
func (s *Store) saveRecoveryCodes(ctx context.Context, userID int64, hashes []string) error {
	if err := s.w(ctx).Exec("DELETE FROM recovery_codes WHERE user_id = ?", userID).Error; err != nil {
		return fmt.Errorf("store: clear recovery codes: %w", err)
	}
	now := s.now()
	for _, h := range hashes {
		if err := s.w(ctx).Exec("INSERT INTO recovery_codes(user_id, code_hash, created_at) VALUES (?, ?, ?)", userID, h, now).Error; err != nil {
			return fmt.Errorf("store: save recovery code: %w", err)
		}
	}
	return nil
}

// DisableTOTP turns two-factor off (the user, or an admin's reset): the
// secret, the recovery codes and any sign-in waiting for a code go.
// ErrNotFound when the user does not exist.
func (s *Store) DisableTOTP(ctx context.Context, userID int64) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.w(ctx).Model(&models.User{}).Where("id = ?", userID).
			Updates(map[string]any{"totp_enabled": false, "totp_secret_enc": nil, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("store: disable totp: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: disable totp: %w", ErrNotFound)
		}
		if err := s.w(ctx).Exec("DELETE FROM recovery_codes WHERE user_id = ?", userID).Error; err != nil {
			return fmt.Errorf("store: clear recovery codes: %w", err)
		}
		if err := s.w(ctx).Exec("DELETE FROM login_challenges WHERE user_id = ?", userID).Error; err != nil {
			return fmt.Errorf("store: clear login challenges: %w", err)
		}
		return nil
	})
}

// UseTOTPStep records that a code of step was accepted, unless that step
// or a later one already was: ok is false then (a replayed code, or the
// same code sent twice at once — the conditional update lets exactly one
// win, on any number of instances).
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (ok bool, err error) {
	res := s.w(ctx).Model(&models.User{}).Where("id = ? AND totp_enabled = ? AND totp_last_step < ?", userID, true, step).
		Update("totp_last_step", step)
	if res.Error != nil {
		return false, fmt.Errorf("store: use totp step: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// UseRecoveryCode marks the unused recovery code with this hash used; ok
// is false when there is none (wrong, or used before).
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, codeHash string) (ok bool, err error) {
	res := s.w(ctx).Exec("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL", s.now(), userID, codeHash)
	if res.Error != nil {
		return false, fmt.Errorf("store: use recovery code: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int64, error) {
	var n int64
	if err := s.r(ctx).Raw("SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("store: recovery codes left: %w", err)
	}
	return n, nil
}

// A sign-in that passed the password waits for the second factor in a
// challenge, for at most LoginChallengeTTL and MaxChallengeAttempts wrong
// codes; then the password must be given again.
const (
	LoginChallengeTTL    = 5 * time.Minute
	MaxChallengeAttempts = 5
)

// LoginChallenge is a sign-in waiting for its second factor.
type LoginChallenge struct {
	UserID   int64
	Next     string
	Attempts int
}

// CreateLoginChallenge starts the second-factor step for userID and
// returns the cookie value (stored only as its hash). Expired challenges
// are swept on the way.
func (s *Store) CreateLoginChallenge(ctx context.Context, userID int64, next string) (string, error) {
	tok, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Exec("DELETE FROM login_challenges WHERE created_at < ?", now.Add(-LoginChallengeTTL)).Error; err != nil {
			return fmt.Errorf("store: prune login challenges: %w", err)
		}
		if err := s.w(ctx).Exec("INSERT INTO login_challenges(id, user_id, next, attempts, created_at) VALUES (?, ?, ?, 0, ?)",
			HashToken(tok), userID, next, now).Error; err != nil {
			return fmt.Errorf("store: create login challenge: %w", err)
		}
		return nil
	})
	return tok, err
}

// LoginChallengeByToken finds a live challenge; ErrNotFound when it is
// unknown, expired or out of attempts.
func (s *Store) LoginChallengeByToken(ctx context.Context, tok string) (LoginChallenge, error) {
	var rows []struct {
		UserID    int64
		Next      string
		Attempts  int
		CreatedAt time.Time
	}
	if err := s.r(ctx).Raw("SELECT user_id, next, attempts, created_at FROM login_challenges WHERE id = ?", HashToken(tok)).Scan(&rows).Error; err != nil {
		return LoginChallenge{}, fmt.Errorf("store: login challenge: %w", err)
	}
	if len(rows) == 0 || s.now().Sub(rows[0].CreatedAt) > LoginChallengeTTL || rows[0].Attempts >= MaxChallengeAttempts {
		return LoginChallenge{}, fmt.Errorf("store: login challenge: %w", ErrNotFound)
	}
	r := rows[0]
	return LoginChallenge{UserID: r.UserID, Next: r.Next, Attempts: r.Attempts}, nil
}

// FailLoginChallenge counts a wrong code; the challenge is void once it
// reached MaxChallengeAttempts (left is then 0 and the row is gone).
func (s *Store) FailLoginChallenge(ctx context.Context, tok string) (left int, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		id := HashToken(tok)
		if err := s.w(ctx).Exec("UPDATE login_challenges SET attempts = attempts + 1 WHERE id = ?", id).Error; err != nil {
			return fmt.Errorf("store: fail login challenge: %w", err)
		}
		var attempts []int
		if err := s.w(ctx).Raw("SELECT attempts FROM login_challenges WHERE id = ?", id).Scan(&attempts).Error; err != nil {
			return fmt.Errorf("store: fail login challenge: %w", err)
		}
		if len(attempts) == 0 || attempts[0] >= MaxChallengeAttempts {
			return s.w(ctx).Exec("DELETE FROM login_challenges WHERE id = ?", id).Error
		}
		left = MaxChallengeAttempts - attempts[0]
		return nil
	})
	return left, err
}

// TakeLoginChallenge uses up a challenge once its code was accepted;
// ErrNotFound when it is already gone (finished by a concurrent request).
func (s *Store) TakeLoginChallenge(ctx context.Context, tok string) error {
	res := s.w(ctx).Exec("DELETE FROM login_challenges WHERE id = ?", HashToken(tok))
	if res.Error != nil {
		return fmt.Errorf("store: take login challenge: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: take login challenge: %w", ErrNotFound)
	}
	return nil
}

// settingRequireTwoFactorAdmins is the settings row of the admin policy.
const settingRequireTwoFactorAdmins = "require_two_factor_admins"

// RequireTwoFactorForAdmins reports the installation policy "Require
// two-factor for admins". It is read on every request of an admin
// without two-factor, so it is cached per data version.
func (s *Store) RequireTwoFactorForAdmins(ctx context.Context) (bool, error) {
	v, err := Cached(ctx, s, "setting|"+settingRequireTwoFactorAdmins, func() (string, error) {
		var vals []string
		if err := s.r(ctx).Raw("SELECT value FROM settings WHERE name = ?", settingRequireTwoFactorAdmins).Scan(&vals).Error; err != nil {
			return "", fmt.Errorf("store: setting: %w", err)
		}
		if len(vals) == 0 {
			return "", nil
		}
		return vals[0], nil
	})
	return v == "on", err
}

// SetRequireTwoFactorForAdmins sets the policy; callers audit it in the
// same transaction.
func (s *Store) SetRequireTwoFactorForAdmins(ctx context.Context, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	err := s.w(ctx).Exec(`INSERT INTO settings(name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, settingRequireTwoFactorAdmins, v, s.now()).Error
	if err != nil {
		return fmt.Errorf("store: set setting: %w", err)
	}
	return nil
}
