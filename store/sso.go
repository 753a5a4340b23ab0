package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// Sign-in for a business (docs/guide.md "Single sign-on", "Two-factor"):
// SSO identities, one-time OIDC states, TOTP secrets and recovery codes,
// pending second-factor challenges and the installation settings.

// Errors of SSO sign-in the login page explains.
var (
	// ErrSSOUnverified: an account with this email exists but the provider
	// did not vouch for the address, so it is not linked.
	ErrSSOUnverified = errors.New("store: sso email not verified")
	// ErrInactive: the account is deactivated.
	ErrInactive = errors.New("store: account deactivated")
)

// SSOSignIn finds or creates the user of an SSO identity: first by issuer
// and subject, then by a verified email (linking the existing account),
// else a new account with the mapped role and no local password. The role
// follows the provider's mapping on every sign-in, except that the last
// active admin is never demoted this way.
func (s *Store) SSOSignIn(ctx context.Context, issuer, subject, email string, verified bool, role models.Role) (u *models.User, created bool, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		var found models.User
		err := s.w(ctx).Where("oidc_issuer = ? AND oidc_subject = ?", issuer, subject).Take(&found).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			// Stored emails are lower case (models.CleanEmail); a provider's
			// may not be, and PostgreSQL compares case-sensitively.
			err = s.w(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&found).Error
			if err == nil {
				if !verified {
					return ErrSSOUnverified
				}
				if err := s.w(ctx).Model(&found).Updates(map[string]any{"oidc_issuer": issuer, "oidc_subject": subject}).Error; err != nil {
					return fmt.Errorf("store: link sso: %w", err)
				}
			}
		}
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			clean, err := models.CleanEmail(email)
			if err != nil {
				return err
			}
			now := s.now()
			nu := &models.User{Email: clean, Role: role, Active: true, CreatedAt: now, UpdatedAt: now, OIDCIssuer: issuer, OIDCSubject: subject}
			if err := s.w(ctx).Create(nu).Error; err != nil {
				return notFound("create sso user", err)
			}
			// Created without a local password: only the provider signs it in.
			if err := s.w(ctx).Model(nu).Update("password_login", false).Error; err != nil {
				return fmt.Errorf("store: create sso user: %w", err)
			}
			nu.PasswordLogin = false
			u, created = nu, true
			return nil
		case err != nil:
			return fmt.Errorf("store: sso user: %w", err)
		}
		if !found.Active {
			return ErrInactive
		}
		if found.Role != role {
			if _, err := s.UpdateUser(ctx, found.ID, role, true); err == nil {
				found.Role = role
			} else if _, isVal := models.AsValidation(err); !isVal {
				return err
			}
		}
		u = &found
		return nil
	})
	return u, created, err
}

// SetPasswordLogin allows or refuses local-password sign-in for a user
// (an SSO user's password can be turned off).
func (s *Store) SetPasswordLogin(ctx context.Context, userID int64, on bool) error {
	res := s.w(ctx).Model(&models.User{}).Where("id = ?", userID).Updates(map[string]any{"password_login": on, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("store: password login: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: password login: %w", ErrNotFound)
	}
	return nil
}

// OIDCStateTTL is how long a started SSO sign-in may take.
const OIDCStateTTL = 10 * time.Minute

// SaveOIDCState records a started SSO sign-in under the hash of state.
func (s *Store) SaveOIDCState(ctx context.Context, state, nonce, verifier, next string) error {
	now := s.now()
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Exec("DELETE FROM oidc_states WHERE created_at < ?", now.Add(-OIDCStateTTL)).Error; err != nil {
			return fmt.Errorf("store: prune oidc states: %w", err)
		}
		if err := s.w(ctx).Exec("INSERT INTO oidc_states(state_hash, nonce, verifier, next, created_at) VALUES (?, ?, ?, ?, ?)",
			HashToken(state), nonce, verifier, next, now).Error; err != nil {
			return fmt.Errorf("store: save oidc state: %w", err)
		}
		return nil
	})
}

// TakeOIDCState uses up a started sign-in: a state works once, and only
// within OIDCStateTTL (ErrNotFound otherwise).
func (s *Store) TakeOIDCState(ctx context.Context, state string) (nonce, verifier, next string, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		var rows []struct {
			Nonce, Verifier, Next string
			CreatedAt             time.Time
		}
		if err := s.w(ctx).Raw("SELECT nonce, verifier, next, created_at FROM oidc_states WHERE state_hash = ?", HashToken(state)).Scan(&rows).Error; err != nil {
			return fmt.Errorf("store: oidc state: %w", err)
		}
		if len(rows) == 0 {
			return fmt.Errorf("store: oidc state: %w", ErrNotFound)
		}
		if err := s.w(ctx).Exec("DELETE FROM oidc_states WHERE state_hash = ?", HashToken(state)).Error; err != nil {
			return fmt.Errorf("store: use oidc state: %w", err)
		}
		if s.now().Sub(rows[0].CreatedAt) > OIDCStateTTL {
			return fmt.Errorf("store: oidc state expired: %w", ErrNotFound)
		}
		nonce, verifier, next = rows[0].Nonce, rows[0].Verifier, rows[0].Next
		return nil
	})
	return nonce, verifier, next, err
}
