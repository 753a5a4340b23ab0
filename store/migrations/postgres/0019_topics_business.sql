-- 0019 (PostgreSQL twin of sqlite/0019_topics_business.sql): forum topics
-- and Telegram Business (issue 17).
--
-- A conversation is one chat, one forum topic of it (thread_id, 0 outside
-- topics and for a forum's General topic) and, for chats of a connected
-- business account, that business connection ('' for the bot's own chats).
ALTER TABLE conversations ADD COLUMN thread_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN business_connection_id TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations DROP CONSTRAINT conversations_channel_id_chat_id_key;
ALTER TABLE conversations ADD CONSTRAINT conversations_channel_id_chat_id_thread_key
  UNIQUE (channel_id, chat_id, thread_id, business_connection_id);

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
  connected_at    TIMESTAMPTZ NOT NULL,
  updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX business_connections_channel ON business_connections(channel_id, connected_at);
