-- 0003: the dispatcher's per-chat order check is one seek (twin of
-- sqlite/0003_outbox_order_index.sql, which says why).
CREATE INDEX outbox_order ON outbox(channel_id, kind, ordering_key, state, id);
