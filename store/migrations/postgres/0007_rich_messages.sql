-- 0007 (PostgreSQL twin of sqlite/0007_rich_messages.sql): rich messages
-- (issue 17): files waiting to be sent, the forum topic and deletion of a
-- message, and reactions.

-- message_thread_id is the forum topic a message belongs to (NULL outside
-- topics); an outgoing reply is sent into it. deleted_at is set when an
-- agent or the API deleted a sent message.
ALTER TABLE messages ADD COLUMN message_thread_id BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at TIMESTAMPTZ;

-- The file of an outgoing photo or document, kept in the database from the
-- moment the send is accepted until its outcome is recorded, so a crash in
-- between loses nothing and any instance holding the bot's lease can send it.
CREATE TABLE outgoing_files (
  message_id   BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  file_name    TEXT   NOT NULL,
  content_type TEXT   NOT NULL,
  size         BIGINT NOT NULL,
  data         BYTEA  NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL
);

-- Current reactions on a message: one row per reacting actor and emoji.
-- actor is "tg:<telegram user id>" for customers and "bot" for the bot's
-- own reaction (set by agents).
CREATE TABLE message_reactions (
  message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  actor      TEXT   NOT NULL,
  emoji      TEXT   NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (message_id, actor, emoji)
);
