-- 0018: unread per agent, notifications, availability and auto-assignment
-- (twin of sqlite/0018_workspace_attention.sql, which explains each part).
CREATE TABLE conversation_reads (
  user_id              BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  conversation_id      BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  last_read_message_id BIGINT NOT NULL DEFAULT 0,
  read_count           BIGINT NOT NULL DEFAULT 0,
  read_at              TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX conversation_reads_conversation ON conversation_reads(conversation_id, read_count);

ALTER TABLE users ADD COLUMN notify_messages BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN seen_at TIMESTAMPTZ;

ALTER TABLE channels ADD COLUMN auto_assign TEXT NOT NULL DEFAULT 'off' CHECK (auto_assign IN ('off','round_robin'));
ALTER TABLE channels ADD COLUMN assign_capacity BIGINT NOT NULL DEFAULT 10;
ALTER TABLE channels ADD COLUMN assign_last_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL;

CREATE TABLE channel_assignees (
  channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_assignees_user ON channel_assignees(user_id);

CREATE INDEX conversations_assignee ON conversations(assigned_to) WHERE assigned_to IS NOT NULL;
