-- 0018: the agent's workspace, part two (issue 16): unread per agent,
-- message notifications, availability and auto-assignment.

-- conversations.unread is, from here on, the conversation's count of
-- incoming messages: the ingest adds to it and nothing resets it. An
-- agent's unread is that count minus read_count, the count when they last
-- read the conversation (store/reads.go), so the ingest never writes per
-- agent and reading writes one row.
CREATE TABLE conversation_reads (
  user_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  conversation_id      INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  last_read_message_id INTEGER NOT NULL DEFAULT 0,
  read_count           INTEGER NOT NULL DEFAULT 0,
  read_at              DATETIME NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);
-- The team's unread (API keys): the highest read_count is one seek.
CREATE INDEX conversation_reads_conversation ON conversation_reads(conversation_id, read_count);

-- A browser notification and a sound for new messages (off by default);
-- away is the agent's own "Away" switch; seen_at the last heartbeat of one
-- of their open workbench streams (online = recent and not away).
ALTER TABLE users ADD COLUMN notify_messages BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN seen_at DATETIME;

-- Auto-assignment per channel: off or round_robin among online agents,
-- each holding at most assign_capacity open conversations;
-- assign_last_user_id is where the round stopped.
ALTER TABLE channels ADD COLUMN auto_assign TEXT NOT NULL DEFAULT 'off' CHECK (auto_assign IN ('off','round_robin'));
ALTER TABLE channels ADD COLUMN assign_capacity INTEGER NOT NULL DEFAULT 10;
ALTER TABLE channels ADD COLUMN assign_last_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL;

-- The users in a channel's round; none listed = every active agent.
CREATE TABLE channel_assignees (
  channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_assignees_user ON channel_assignees(user_id);

-- An agent's open load. Partial, and on a column the ingest never sets,
-- so the ingest's conversation writes do not maintain it.
CREATE INDEX conversations_assignee ON conversations(assigned_to) WHERE assigned_to IS NOT NULL;
