-- 0008: reports (issue 18). Rollups kept in step by the transactions that
-- ingest, send, resolve and deliver (store/report_rollup.go), so a report
-- reads a few hundred rows instead of counting messages. Times here are
-- BIGINT: bucket starts in unix seconds (on the hour, UTC), instants in unix
-- milliseconds, so the same arithmetic holds on SQLite and PostgreSQL.
-- The statements after the tables fill them from the data already stored.

-- One row per channel and UTC hour with anything to count.
CREATE TABLE report_hourly (
  channel_id             TEXT   NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  hour                   BIGINT NOT NULL,
  messages_in            BIGINT NOT NULL DEFAULT 0,
  messages_out           BIGINT NOT NULL DEFAULT 0,
  conversations_opened   BIGINT NOT NULL DEFAULT 0,
  conversations_resolved BIGINT NOT NULL DEFAULT 0,
  callbacks_enqueued     BIGINT NOT NULL DEFAULT 0, -- events entering the outbox (new or resent)
  callbacks_delivered    BIGINT NOT NULL DEFAULT 0,
  callbacks_retrying     BIGINT NOT NULL DEFAULT 0, -- failed attempts that will be retried
  callbacks_failed       BIGINT NOT NULL DEFAULT 0, -- events given up on
  callbacks_done         BIGINT NOT NULL DEFAULT 0, -- events leaving the queue: delivered, failed or skipped
  callback_attempts      BIGINT NOT NULL DEFAULT 0,
  callback_latency_ms    BIGINT NOT NULL DEFAULT 0, -- sum over the attempts
  PRIMARY KEY (channel_id, hour)
);

-- Replies per agent (messages.sent_by), channel and hour.
CREATE TABLE report_agent_hourly (
  channel_id TEXT   NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id    BIGINT NOT NULL,
  hour       BIGINT NOT NULL,
  replies    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (channel_id, user_id, hour)
);

-- One row per time a conversation was opened (created or reopened): its
-- first response (the first outgoing message after opening, whoever sent
-- it; responder_id NULL for the API) and its resolution. The percentiles
-- are read from here; a conversation erased later keeps its figures.
CREATE TABLE report_conversations (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id        TEXT   NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  conversation_id   BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
  opened_at         BIGINT NOT NULL,
  first_response_at BIGINT,
  first_response_ms BIGINT,
  responder_id      BIGINT,
  resolved_at       BIGINT,
  resolution_ms     BIGINT
);
-- At most one open span per conversation: the one replies and resolves update.
CREATE UNIQUE INDEX report_conversations_open ON report_conversations(conversation_id) WHERE resolved_at IS NULL;
-- Covering indexes for the range reads of store/reports.go.
CREATE INDEX report_conversations_response ON report_conversations(channel_id, first_response_at, first_response_ms, responder_id);
CREATE INDEX report_conversations_resolution ON report_conversations(channel_id, resolved_at, resolution_ms, responder_id);

-- The poller's state over time: one row per change of bots.state.
CREATE TABLE bot_state_changes (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id TEXT   NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  at         BIGINT NOT NULL,
  state      TEXT   NOT NULL,
  detail     TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX bot_state_changes_channel ON bot_state_changes(channel_id, at);

-- Backfill. Stored DATETIMEs are GORM's text ("2006-01-02 15:04:05.999999999+00:00");
-- strftime reads them (this file is the SQLite side of the dialect switch).
-- One span per existing conversation: opened at its first incoming
-- message, first response = the first outgoing message after it, resolved
-- (if it is) at the last "conversation.resolve" audit entry, else at its
-- last message.
INSERT INTO report_conversations (channel_id, conversation_id, opened_at, first_response_at, first_response_ms, responder_id, resolved_at, resolution_ms)
SELECT channel_id, conv, opened_at,
       CASE WHEN out_at IS NOT NULL AND (resolved_at IS NULL OR out_at <= resolved_at) THEN out_at END,
       CASE WHEN out_at IS NOT NULL AND (resolved_at IS NULL OR out_at <= resolved_at) THEN MAX(out_at - opened_at, 0) END,
       CASE WHEN out_at IS NOT NULL AND (resolved_at IS NULL OR out_at <= resolved_at) THEN out_by END,
       resolved_at,
       CASE WHEN resolved_at IS NOT NULL THEN MAX(resolved_at - opened_at, 0) END
FROM (
  SELECT f.channel_id, f.conv, f.opened_at,
         CAST(strftime('%s', o.created_at) AS INTEGER) * 1000 + CAST(substr(strftime('%f', o.created_at), 4, 3) AS INTEGER) AS out_at,
         o.sent_by AS out_by,
         CASE WHEN f.status = 'resolved' THEN COALESCE(
           (SELECT MAX(CAST(strftime('%s', a.at) AS INTEGER) * 1000 + CAST(substr(strftime('%f', a.at), 4, 3) AS INTEGER))
              FROM audit_log a WHERE a.action = 'conversation.resolve' AND a.object_type = 'conversation' AND a.object_id = CAST(f.conv AS TEXT)),
           CAST(strftime('%s', f.last_message_at) AS INTEGER) * 1000 + CAST(substr(strftime('%f', f.last_message_at), 4, 3) AS INTEGER)) END AS resolved_at
  FROM (
    SELECT c.id AS conv, c.channel_id, c.status, c.last_message_at, i.id AS first_in,
           CAST(strftime('%s', COALESCE(i.telegram_date, i.created_at)) AS INTEGER) * 1000
             + CAST(substr(strftime('%f', COALESCE(i.telegram_date, i.created_at)), 4, 3) AS INTEGER) AS opened_at,
           (SELECT MIN(m.id) FROM messages m WHERE m.channel_id = c.channel_id AND m.chat_id = c.chat_id AND m.direction = 'out' AND m.id > i.id) AS first_out
    FROM conversations c
    JOIN messages i ON i.id = (SELECT MIN(m.id) FROM messages m WHERE m.channel_id = c.channel_id AND m.chat_id = c.chat_id AND m.direction = 'in')
  ) f
  LEFT JOIN messages o ON o.id = f.first_out
) s;

INSERT INTO report_hourly (channel_id, hour, messages_in, messages_out, conversations_opened, conversations_resolved,
  callbacks_enqueued, callbacks_delivered, callbacks_retrying, callbacks_failed, callbacks_done, callback_attempts, callback_latency_ms)
SELECT channel_id, hour, SUM(mi), SUM(mo), SUM(co), SUM(cr), SUM(ce), SUM(cd), SUM(crt), SUM(cf), SUM(cdone), SUM(ca), SUM(cl)
FROM (
  SELECT channel_id, CAST(strftime('%s', COALESCE(telegram_date, created_at)) AS INTEGER) / 3600 * 3600 AS hour,
         1 AS mi, 0 AS mo, 0 AS co, 0 AS cr, 0 AS ce, 0 AS cd, 0 AS crt, 0 AS cf, 0 AS cdone, 0 AS ca, 0 AS cl
    FROM messages WHERE direction = 'in'
  UNION ALL
  SELECT channel_id, CAST(strftime('%s', created_at) AS INTEGER) / 3600 * 3600, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM messages WHERE direction = 'out'
  UNION ALL
  SELECT channel_id, opened_at / 3600000 * 3600, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 FROM report_conversations
  UNION ALL
  SELECT channel_id, resolved_at / 3600000 * 3600, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 FROM report_conversations WHERE resolved_at IS NOT NULL
  UNION ALL
  SELECT channel_id, CAST(strftime('%s', created_at) AS INTEGER) / 3600 * 3600, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 FROM outbox
  UNION ALL
  -- Events no longer waiting left the queue when they were delivered, at
  -- their last attempt, or (skipped, never attempted) when they were made.
  SELECT o.channel_id, CAST(strftime('%s', COALESCE(
           CASE WHEN o.state = 'delivered' THEN o.delivered_at END,
           (SELECT MAX(a.at) FROM delivery_attempts a WHERE a.outbox_id = o.id),
           o.created_at)) AS INTEGER) / 3600 * 3600,
         0, 0, 0, 0, 0, CASE WHEN o.state = 'delivered' THEN 1 ELSE 0 END, 0, CASE WHEN o.state = 'failed' THEN 1 ELSE 0 END, 1, 0, 0
    FROM outbox o WHERE o.state IN ('delivered', 'failed', 'skipped')
  UNION ALL
  SELECT o.channel_id, CAST(strftime('%s', a.at) AS INTEGER) / 3600 * 3600, 0, 0, 0, 0, 0, 0,
         CASE WHEN a.outcome = 'retry' AND NOT (o.state = 'failed' AND a.id = (SELECT MAX(b.id) FROM delivery_attempts b WHERE b.outbox_id = o.id)) THEN 1 ELSE 0 END,
         0, 0, 1, a.latency_ms
    FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id
) t
GROUP BY channel_id, hour;

INSERT INTO report_agent_hourly (channel_id, user_id, hour, replies)
SELECT channel_id, sent_by, CAST(strftime('%s', created_at) AS INTEGER) / 3600 * 3600 AS hour, COUNT(*)
  FROM messages WHERE direction = 'out' AND sent_by IS NOT NULL
 GROUP BY channel_id, sent_by, hour;

-- What each bot is doing now, as of its last change.
INSERT INTO bot_state_changes (channel_id, at, state, detail)
SELECT channel_id, CAST(strftime('%s', updated_at) AS INTEGER) * 1000 + CAST(substr(strftime('%f', updated_at), 4, 3) AS INTEGER), state, state_detail
  FROM bots;
