-- 0010: sign-in for a business (issue 20). Single sign-on identities on
-- users (issuer + subject), whether the account may sign in with a local
-- password, its two-factor (TOTP) secret, sealed like bot tokens, and the
-- last time step used (a code works once); hashed recovery codes; pending
-- second-factor challenges; the one-time OIDC login states (state, nonce,
-- PKCE verifier); and installation-wide settings (the two-factor policy).
ALTER TABLE users ADD COLUMN oidc_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_login BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN totp_secret_enc BLOB;
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_oidc ON users(oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

CREATE TABLE recovery_codes (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  used_at    DATETIME
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

CREATE TABLE login_challenges (
  id         TEXT PRIMARY KEY,             -- sha256 of the cookie value
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  next       TEXT NOT NULL DEFAULT '',
  attempts   INTEGER NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL
);

CREATE TABLE oidc_states (
  state_hash TEXT PRIMARY KEY,             -- sha256 of the state value
  nonce      TEXT NOT NULL,
  verifier   TEXT NOT NULL,
  next       TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL
);

CREATE TABLE settings (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at DATETIME NOT NULL
);
