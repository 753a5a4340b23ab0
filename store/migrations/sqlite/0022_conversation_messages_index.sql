-- 0022: a conversation's messages by its whole key (issue 17).
--
-- A forum supergroup is one chat with a conversation per topic, and a
-- customer may write to the bot and to a business account it serves: the
-- history, live view, recent replies, read marker and latest sender of
-- one conversation (store/conversation_key.go, messageKeyWhere) seek this
-- index instead of walking every message of the chat and dropping the
-- other topics' rows. The expression is exactly the one the queries use
-- (messages outside a topic have no message_thread_id: thread 0).
--
-- It replaces messages_chat (channel_id, chat_id, id), so ingest keeps
-- the same number of indexes to maintain: every per-chat read ordered by
-- id now reads one conversation, and equality on (channel_id, chat_id)
-- alone still has this index's and messages_tg's prefix.
DROP INDEX messages_chat;
CREATE INDEX messages_conversation ON messages(channel_id, chat_id, COALESCE(message_thread_id, 0), business_connection_id, id);
