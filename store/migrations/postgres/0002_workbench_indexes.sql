-- 0002: indexes for the live message workbench and the messages API
-- (twin of sqlite/0002_workbench_indexes.sql).

-- GET /api/v1/channels/{id}/messages?after=<id>: a channel's messages in id
-- order without scanning other channels' rows.
CREATE INDEX messages_channel ON messages(channel_id, id);

-- The workbench list filtered by channel, newest activity first; the
-- conversation id rides along as the keyset tie-breaker.
CREATE INDEX conversations_channel_list ON conversations(in_workbench, channel_id, last_message_at);
