-- 0012: high availability (issue 15). Several instances share one
-- database; these tables decide which one polls and sends for each bot.
-- Times are unix milliseconds computed in Go, so comparisons are plain
-- integer comparisons on every dialect.
--
-- instances: one row per running botdesk, written by its lease loop. An
-- instance whose heartbeat is older than the lease TTL counts as gone.
CREATE TABLE instances (
  id           TEXT PRIMARY KEY,
  version      TEXT NOT NULL DEFAULT '',
  started_at   BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);

-- bot_leases: the one instance that polls a bot and runs its sender.
-- epoch grows by one on every change of owner; the poller's offset commit
-- and the sender's claim carry it and are refused once it moved (fencing).
-- owner_id '' is a released lease. generation is bumped by an instance
-- that changed the bot (Update Token, Switch to polling, Delete) without
-- owning it: the owner restarts its poller when it sees a new value.
CREATE TABLE bot_leases (
  bot_telegram_id BIGINT PRIMARY KEY,
  owner_id        TEXT NOT NULL,
  epoch           BIGINT NOT NULL,
  expires_at      BIGINT NOT NULL,
  generation      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bot_leases_owner ON bot_leases (owner_id);

-- send_claims: an outgoing message the sender is about to hand to
-- Telegram, claimed under the bot's lease before the call. A claim left
-- behind (its instance died before recording the outcome) is the one case
-- where a message may be sent twice; it is counted when taken over.
CREATE TABLE send_claims (
  message_id  BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  instance_id TEXT NOT NULL,
  epoch       BIGINT NOT NULL,
  claimed_at  BIGINT NOT NULL
);

-- The instance holding an outbox row's "delivering" lease, so a starting
-- dispatcher reclaims only the rows of instances that are gone.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
