-- 0009 (PostgreSQL twin of sqlite/0009_operations.sql): operations (issue 19). retention_days: keep a channel's messages
-- (and their media, edits and finished callback events) this many days;
-- 0 = forever. The index lets the retention worker find a channel's oldest
-- messages in small batches without scanning the table. BIGINT like every
-- SQLite INTEGER (the parity test compares what the types mean).
ALTER TABLE channels ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 0;
CREATE INDEX messages_retention ON messages(channel_id, created_at);
