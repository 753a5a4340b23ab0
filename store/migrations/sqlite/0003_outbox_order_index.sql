-- 0003: the dispatcher's claim (store.ClaimDueOutbox) holds back an mo
-- event while an older one of the same chat is pending or delivering. Its
-- NOT EXISTS subquery had only outbox_channel (channel_id, id) and walked
-- every older row of the channel for every due row: with 5,000 pending
-- events a claim took ~65 ms inside the write transaction and deliveries
-- fell to ~8/s (bench/results.md). This index makes the check one seek.
CREATE INDEX outbox_order ON outbox(channel_id, kind, ordering_key, state, id);
