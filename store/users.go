package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/botdesk/botdesk/models"
)

// CreateUser adds an account. The email must be unused.
func (s *Store) CreateUser(ctx context.Context, email string, role models.Role, password string) (*models.User, error) {
	email, err := models.CleanEmail(email)
	if err != nil {
		return nil, err
	}
	if _, err := models.ParseRole(string(role)); err != nil {
		return nil, models.Invalid("role", err.Error())
	}
	if err := models.CheckPassword(password); err != nil {
		return nil, err
	}
	hash, err := models.HashPasswordCost(password, s.cost)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &models.User{Email: email, PasswordHash: hash, Role: role, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := s.w(ctx).Create(u).Error; err != nil {
		return nil, notFound("create user", err)
	}
	return u, nil
}

// UserByEmail finds an account by email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (*models.User, error) {
	var u models.User
	// Emails are stored as CleanEmail leaves them: lower case.
	if err := s.r(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&u).Error; err != nil {
		return nil, notFound("user by email", err)
	}
	return &u, nil
}

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (*models.User, error) {
	var u models.User
	if err := s.r(ctx).Take(&u, id).Error; err != nil {
		return nil, notFound("user by id", err)
	}
	return &u, nil
}

// ListUsers returns every account, by email.
func (s *Store) ListUsers(ctx context.Context) ([]models.User, error) {
	var us []models.User
	if err := s.r(ctx).Order("email").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return us, nil
}

// CountUsers counts accounts, to know whether set-up is still needed.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r(ctx).Model(&models.User{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// countActiveAdmins is used to refuse removing the last admin. Called in
// a transaction, it locks the admin rows it counts (on PostgreSQL), so two
// admins demoted at once are counted one after the other and the second
// is refused.
func (s *Store) countActiveAdmins(ctx context.Context) (int64, error) {
	var ids []int64
	err := s.forUpdate(s.r(ctx).Model(&models.User{})).Where("role = ? AND active = ?", models.RoleAdmin, true).Pluck("id", &ids).Error
	return int64(len(ids)), err
}

// UpdateUser changes role and active flag, refusing to leave no active admin.
func (s *Store) UpdateUser(ctx context.Context, id int64, role models.Role, active bool) (*models.User, error) {
	var out *models.User
	err := s.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if u.Role == models.RoleAdmin && u.Active && (role != models.RoleAdmin || !active) {
			n, err := s.countActiveAdmins(ctx)
			if err != nil {
				return fmt.Errorf("store: count admins: %w", err)
			}
			if n <= 1 {
				return models.Invalid("role", "This is the last active admin; make another admin first.")
			}
		}
		u.Role, u.Active, u.UpdatedAt = role, active, s.now()
		if err := s.w(ctx).Model(u).Select("role", "active", "updated_at").Updates(u).Error; err != nil {
			return fmt.Errorf("store: update user: %w", err)
		}
		if !active {
			if err := s.w(ctx).Where("user_id = ?", id).Delete(&models.Session{}).Error; err != nil {
				return fmt.Errorf("store: end sessions: %w", err)
			}
		}
		out = u
		return nil
	})
	if err == nil {
		s.announceSessions(ctx) // a role change or deactivation ends live streams
	}
	return out, err
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, id int64, password string) error {
	if err := models.CheckPassword(password); err != nil {
		return err
	}
	hash, err := models.HashPasswordCost(password, s.cost)
	if err != nil {
		return err
	}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Model(&models.User{}).Where("id = ?", id).Updates(map[string]any{"password_hash": hash, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		return s.w(ctx).Where("user_id = ?", id).Delete(&models.Session{}).Error
	})
	if err == nil {
		s.announceSessions(ctx)
	}
	return err
}

// RandomToken returns n random bytes as URL-safe base64.
func RandomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how session ids, API keys and setup tokens are stored.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// SessionTTL is how long an idle session lives.
const SessionTTL = 12 * time.Hour

// DefaultSessionMaxAge is the absolute lifetime of a session, however
// busy (BOTDESK_SESSION_MAX_AGE).
const DefaultSessionMaxAge = 7 * 24 * time.Hour

// sessionExpiry is the idle expiry of a session seen now, capped at its
// absolute end.
func (s *Store) sessionExpiry(created, now time.Time) time.Time {
	return minTime(now.Add(SessionTTL), created.Add(s.maxAge))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CreateSession starts a session and returns the cookie value.
func (s *Store) CreateSession(ctx context.Context, userID int64, ip, ua string) (string, error) {
	tok, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	now := s.now()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	sess := &models.Session{ID: HashToken(tok), UserID: userID, CreatedAt: now, ExpiresAt: s.sessionExpiry(now, now), LastSeenAt: now, IP: ip, UserAgent: ua}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Create(sess).Error; err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		return s.w(ctx).Model(&models.User{}).Where("id = ?", userID).Update("last_login_at", now).Error
	})
	return tok, err
}

// sessionUserSQL resolves a session and its user in one indexed lookup
// (sessions primary key, then users primary key). It runs on every console
// request, so it is one prepared statement scanned by hand rather than two
// GORM queries with reflection.
const sessionUserSQL = `SELECT s.expires_at, s.last_seen_at, s.created_at,
	u.id, u.email, u.password_hash, u.role, u.active, u.created_at, u.updated_at, u.last_login_at, u.language, u.password_login, u.totp_enabled,
	u.notify_messages, u.away
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`

// sessionRow is what sessionUserSQL reads; cached per data version, so
// it is copied before anyone may change it.
type sessionRow struct {
	user                       models.User
	expires, lastSeen, created time.Time
}

// SessionUser resolves a cookie value to its active user, sliding the expiry.
func (s *Store) SessionUser(ctx context.Context, cookie string) (*models.User, error) {
	id := HashToken(cookie)
	row, err := Cached(ctx, s, "session|"+id, func() (sessionRow, error) { return s.sessionRow(ctx, id) })
	if err != nil {
		return nil, err
	}
	u, expires, lastSeen := row.user, row.expires, row.lastSeen
	if u.LastLoginAt != nil {
		t := *u.LastLoginAt
		u.LastLoginAt = &t
	}
	now := s.now()
	if now.After(expires) || !now.Before(row.created.Add(s.maxAge)) {
		_ = s.w(ctx).Where("id = ?", id).Delete(&models.Session{}).Error
		return nil, fmt.Errorf("store: session expired: %w", ErrNotFound)
	}
	if !u.Active {
		return nil, fmt.Errorf("store: user deactivated: %w", ErrNotFound)
	}
	// Extend at most once a minute to keep writes off the read path; never
	// past the absolute lifetime.
	if now.Sub(lastSeen) > time.Minute {
		_ = s.w(ctx).Model(&models.Session{}).Where("id = ?", id).
			Updates(map[string]any{"last_seen_at": now, "expires_at": s.sessionExpiry(row.created, now)}).Error
	}
	return &u, nil
}

// sessionRow reads a session and its user; ErrNotFound if there is none.
func (s *Store) sessionRow(ctx context.Context, id string) (sessionRow, error) {
	var out sessionRow
	rows, err := s.r(shortRead(ctx)).Raw(sessionUserSQL, id).Rows()
	if err != nil {
		return out, fmt.Errorf("store: session: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("store: session: %w", err)
		}
		return out, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	u := &out.user
	var lastLogin sql.NullTime
	if err := rows.Scan(&out.expires, &out.lastSeen, &out.created, &u.ID, &u.Email, &u.PasswordHash, &u.Role, &u.Active, &u.CreatedAt, &u.UpdatedAt, &lastLogin, &u.Language, &u.PasswordLogin, &u.TOTPEnabled,
		&u.NotifyMessages, &u.Away); err != nil {
		return out, fmt.Errorf("store: session: %w", err)
	}
	if err := rows.Close(); err != nil {
		return out, fmt.Errorf("store: session: %w", err)
	}
	if lastLogin.Valid {
		t := lastLogin.Time
		u.LastLoginAt = &t
	}
	return out, nil
}

// SessionCheck returns the role of a session cookie's user while the
// session is live (not expired, not past its absolute lifetime, user
// active); ok is false otherwise. Unlike SessionUser it never extends the
// session: long-lived streams re-check with it, and an open tab must not
// keep an otherwise idle session alive for ever.
func (s *Store) SessionCheck(ctx context.Context, cookie string) (role models.Role, ok bool, err error) {
	var row struct {
		ExpiresAt time.Time
		CreatedAt time.Time
		Active    bool
		Role      models.Role
	}
	res := s.r(ctx).Raw("SELECT s.expires_at, s.created_at, u.active, u.role FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?", HashToken(cookie)).Scan(&row)
	if res.Error != nil {
		return "", false, fmt.Errorf("store: session check: %w", res.Error)
	}
	now := s.now()
	if res.RowsAffected != 1 || !row.Active || !now.Before(row.ExpiresAt) || !now.Before(row.CreatedAt.Add(s.maxAge)) {
		return "", false, nil
	}
	return row.Role, true, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, cookie string) error {
	if err := s.w(ctx).Where("id = ?", HashToken(cookie)).Delete(&models.Session{}).Error; err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	s.announceSessions(ctx)
	return nil
}

// ExpireSessions is for tests and housekeeping: it moves every session's
// expiry to the past.
func (s *Store) ExpireSessions(ctx context.Context) error {
	return s.w(ctx).Model(&models.Session{}).Where("1 = 1").Update("expires_at", s.now().Add(-time.Minute)).Error
}

// CreateSetupToken makes the one-time first-admin link token, if no user
// exists yet. It returns "" when set-up is already done.
func (s *Store) CreateSetupToken(ctx context.Context) (string, error) {
	var tok string
	err := s.WithTx(ctx, func(ctx context.Context) error {
		n, err := s.CountUsers(ctx)
		if err != nil || n > 0 {
			return err
		}
		if tok, err = RandomToken(24); err != nil {
			return err
		}
		// Only the newest link works.
		if err := s.w(ctx).Exec("DELETE FROM setup_tokens").Error; err != nil {
			return fmt.Errorf("store: clear setup tokens: %w", err)
		}
		return s.w(ctx).Exec("INSERT INTO setup_tokens(token_hash, created_at) VALUES (?, ?)", HashToken(tok), s.now()).Error
	})
	return tok, err
}

// SetupTokenValid reports whether tok is the unused set-up token and no
// user exists yet.
func (s *Store) SetupTokenValid(ctx context.Context, tok string) (bool, error) {
	var n int64
	err := s.r(ctx).Raw(`SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM users)`, HashToken(tok)).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: setup token: %w", err)
	}
	return n == 1, nil
}

// CompleteSetup uses the set-up token to create the first admin, atomically.
func (s *Store) CompleteSetup(ctx context.Context, tok, email, password string) (*models.User, error) {
	var u *models.User
	err := s.WithTx(ctx, func(ctx context.Context) error {
		// One claiming statement: of two completions at once (two
		// instances, two tabs) the second finds the token used.
		res := s.w(ctx).Exec(`UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM users)`, s.now(), HashToken(tok))
		if res.Error != nil {
			return fmt.Errorf("store: use setup token: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("store: setup link used or unknown: %w", ErrNotFound)
		}
		var err error
		u, err = s.CreateUser(ctx, email, models.RoleAdmin, password)
		return err
	})
	return u, err
}

// SetUserLanguage stores a user's console language ("" = follow the
// browser's Accept-Language).
func (s *Store) SetUserLanguage(ctx context.Context, userID int64, lang string) error {
	res := s.w(ctx).Model(&models.User{}).Where("id = ?", userID).Updates(map[string]any{"language": lang, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("store: set user language: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: set user language: %w", ErrNotFound)
	}
	return nil
}
