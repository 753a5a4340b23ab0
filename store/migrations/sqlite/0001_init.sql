-- 0001: the whole initial schema. Timestamps are UTC, stored by GORM as
-- DATETIME text; booleans as INTEGER 0/1 so a PostgreSQL twin stays simple.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT    NOT NULL,
  role          TEXT    NOT NULL CHECK (role IN ('admin','operator','agent')),
  active        INTEGER NOT NULL DEFAULT 1,
  created_at    DATETIME NOT NULL,
  updated_at    DATETIME NOT NULL,
  last_login_at DATETIME
);

CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,            -- sha256 of the cookie value
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   DATETIME NOT NULL,
  expires_at   DATETIME NOT NULL,
  last_seen_at DATETIME NOT NULL,
  ip           TEXT NOT NULL DEFAULT '',
  user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  email      TEXT NOT NULL COLLATE NOCASE,
  ip         TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, created_at);
CREATE INDEX login_failures_ip ON login_failures(ip, created_at);

CREATE TABLE setup_tokens (
  token_hash TEXT PRIMARY KEY,
  created_at DATETIME NOT NULL,
  used_at    DATETIME
);

CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL CHECK (role IN ('admin','operator','agent')),
  created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at   DATETIME NOT NULL,
  last_used_at DATETIME,
  revoked_at   DATETIME
);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          DATETIME NOT NULL,
  actor_id    INTEGER,
  actor       TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL,
  object_type TEXT NOT NULL DEFAULT '',
  object_id   TEXT NOT NULL DEFAULT '',
  ip          TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TABLE channels (
  id                 TEXT PRIMARY KEY,
  name               TEXT NOT NULL UNIQUE COLLATE NOCASE,
  created_by         INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at         DATETIME NOT NULL,
  updated_at         DATETIME NOT NULL,
  workbench_mode     TEXT NOT NULL DEFAULT 'off' CHECK (workbench_mode IN ('off','all','keyword')),
  keywords           TEXT NOT NULL DEFAULT '[]',
  http_enabled       INTEGER NOT NULL DEFAULT 0,
  status_url         TEXT NOT NULL DEFAULT '',
  mo_url             TEXT NOT NULL DEFAULT '',
  notify_url         TEXT NOT NULL DEFAULT '',
  queue_enabled      INTEGER NOT NULL DEFAULT 0,
  signing_secret_enc BLOB
);
CREATE INDEX channels_created ON channels(created_at);

CREATE TABLE bots (
  id                          INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id                  TEXT NOT NULL UNIQUE REFERENCES channels(id) ON DELETE CASCADE,
  telegram_id                 INTEGER NOT NULL UNIQUE,
  username                    TEXT NOT NULL,
  first_name                  TEXT NOT NULL DEFAULT '',
  can_join_groups             INTEGER NOT NULL DEFAULT 0,
  can_read_all_group_messages INTEGER NOT NULL DEFAULT 0,
  supports_inline_queries     INTEGER NOT NULL DEFAULT 0,
  token_enc                   BLOB NOT NULL,
  token_hint                  TEXT NOT NULL,
  state                       TEXT NOT NULL DEFAULT 'connecting',
  state_detail                TEXT NOT NULL DEFAULT '',
  update_offset               INTEGER NOT NULL DEFAULT 0,
  last_update_at              DATETIME,
  connected_at                DATETIME NOT NULL,
  updated_at                  DATETIME NOT NULL
);

-- Every Telegram update ever stored, so a replayed batch is a no-op.
CREATE TABLE ingested_updates (
  bot_telegram_id INTEGER NOT NULL,
  update_id       INTEGER NOT NULL,
  PRIMARY KEY (bot_telegram_id, update_id)
) WITHOUT ROWID;

-- Groups, supergroups and channels the bot is in (private chats live only in
-- conversations/messages).
CREATE TABLE chats (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  chat_id         INTEGER NOT NULL,
  type            TEXT NOT NULL,
  title           TEXT NOT NULL DEFAULT '',
  username        TEXT NOT NULL DEFAULT '',
  member_status   TEXT NOT NULL DEFAULT 'member',
  added_at        DATETIME NOT NULL,
  message_count   INTEGER NOT NULL DEFAULT 0,
  last_message_at DATETIME,
  UNIQUE (channel_id, chat_id)
);

CREATE TABLE conversations (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id        TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  chat_id           INTEGER NOT NULL,
  chat_type         TEXT NOT NULL,
  title             TEXT NOT NULL DEFAULT '',
  status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved')),
  in_workbench      INTEGER NOT NULL DEFAULT 0,
  assigned_to       INTEGER REFERENCES users(id) ON DELETE SET NULL,
  unread            INTEGER NOT NULL DEFAULT 0,
  last_message_at   DATETIME NOT NULL,
  last_message_text TEXT NOT NULL DEFAULT '',
  UNIQUE (channel_id, chat_id)
);
CREATE INDEX conversations_list ON conversations(in_workbench, last_message_at);

CREATE TABLE messages (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id          TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  bot_telegram_id     INTEGER NOT NULL,
  update_id           INTEGER,
  chat_id             INTEGER NOT NULL,
  chat_type           TEXT NOT NULL DEFAULT '',
  telegram_message_id INTEGER,
  direction           TEXT NOT NULL CHECK (direction IN ('in','out')),
  from_id             INTEGER NOT NULL DEFAULT 0,
  from_username       TEXT NOT NULL DEFAULT '',
  from_name           TEXT NOT NULL DEFAULT '',
  type                TEXT NOT NULL DEFAULT 'text',
  text                TEXT NOT NULL DEFAULT '',
  entities            TEXT NOT NULL DEFAULT '',
  media               TEXT NOT NULL DEFAULT '',
  reply_to_message_id INTEGER,
  status              TEXT NOT NULL DEFAULT 'received',
  error_code          INTEGER NOT NULL DEFAULT 0,
  error_description   TEXT NOT NULL DEFAULT '',
  sent_by             INTEGER REFERENCES users(id) ON DELETE SET NULL,
  idempotency_key     TEXT,
  telegram_date       DATETIME,
  edited_at           DATETIME,
  created_at          DATETIME NOT NULL
);
CREATE INDEX messages_chat ON messages(channel_id, chat_id, id);
CREATE INDEX messages_tg ON messages(channel_id, chat_id, telegram_message_id);
CREATE UNIQUE INDEX messages_idem ON messages(channel_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_pending ON messages(status) WHERE status = 'pending';

CREATE TABLE message_edits (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  text       TEXT NOT NULL,
  edited_at  DATETIME NOT NULL
);
CREATE INDEX message_edits_msg ON message_edits(message_id);

-- Transactional outbox: one row per event per destination kind.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT NOT NULL UNIQUE,
  channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('status','mo','notify')),
  ordering_key    TEXT NOT NULL DEFAULT '',
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at DATETIME NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      DATETIME NOT NULL,
  delivered_at    DATETIME
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_channel ON outbox(channel_id, id);

CREATE TABLE delivery_attempts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  outbox_id   INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
  at          DATETIME NOT NULL,
  url         TEXT NOT NULL,
  status_code INTEGER NOT NULL DEFAULT 0,
  latency_ms  INTEGER NOT NULL DEFAULT 0,
  outcome     TEXT NOT NULL,
  error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_outbox ON delivery_attempts(outbox_id);

CREATE TABLE queue_messages (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  queue         TEXT NOT NULL,
  event_id      TEXT NOT NULL,
  payload       TEXT NOT NULL,
  created_at    DATETIME NOT NULL,
  visible_at    DATETIME NOT NULL,
  receipt       TEXT,
  receive_count INTEGER NOT NULL DEFAULT 0,
  UNIQUE (queue, event_id)
);
CREATE INDEX queue_messages_visible ON queue_messages(queue, visible_at, id);
