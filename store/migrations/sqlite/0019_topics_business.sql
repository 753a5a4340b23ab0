-- 0019: forum topics and Telegram Business (issue 17).
--
-- A conversation is one chat, one forum topic of it (thread_id, 0 outside
-- topics and for a forum's General topic) and, for chats of a connected
-- business account, that business connection ('' for the bot's own chats).
-- The unique key (channel_id, chat_id) becomes (channel_id, chat_id,
-- thread_id, business_connection_id): SQLite cannot change a table
-- constraint in place, so store/migrate_rebuild.go rebuilds the table
-- right after this file (foreign keys off, every column and index kept).
ALTER TABLE conversations ADD COLUMN thread_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN business_connection_id TEXT NOT NULL DEFAULT '';

-- The business connection a message came through or is sent through.
ALTER TABLE messages ADD COLUMN business_connection_id TEXT NOT NULL DEFAULT '';

-- Business accounts connected to a channel's bot (business_connection
-- updates), with the rights the account gave the bot.
CREATE TABLE business_connections (
  id              TEXT    NOT NULL PRIMARY KEY,
  channel_id      TEXT    NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  bot_telegram_id BIGINT  NOT NULL,
  user_id         BIGINT  NOT NULL,
  user_chat_id    BIGINT  NOT NULL,
  user_name       TEXT    NOT NULL DEFAULT '',
  username        TEXT    NOT NULL DEFAULT '',
  can_reply       BOOLEAN NOT NULL DEFAULT FALSE,
  rights          TEXT    NOT NULL DEFAULT '',
  enabled         BOOLEAN NOT NULL DEFAULT FALSE,
  connected_at    DATETIME NOT NULL,
  updated_at      DATETIME NOT NULL
);
CREATE INDEX business_connections_channel ON business_connections(channel_id, connected_at);
