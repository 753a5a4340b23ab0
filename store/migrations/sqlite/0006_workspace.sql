-- 0006: the agent's workspace (issue 16): canned responses, private notes,
-- labels, the contact panel's sender columns and the full-text index of
-- message texts and captions.

-- channel_id NULL = a global response, offered in every channel.
CREATE TABLE canned_responses (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id TEXT REFERENCES channels(id) ON DELETE CASCADE,
  shortcut   TEXT NOT NULL,
  text       TEXT NOT NULL,
  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
-- One shortcut per scope: per channel, and once among the global ones.
CREATE UNIQUE INDEX canned_responses_channel ON canned_responses(channel_id, shortcut) WHERE channel_id IS NOT NULL;
CREATE UNIQUE INDEX canned_responses_global ON canned_responses(shortcut) WHERE channel_id IS NULL;

-- Notes are agents-only: nothing reads this table on the way to Telegram,
-- callbacks or queues.
CREATE TABLE conversation_notes (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  author_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
  author          TEXT NOT NULL,
  text            TEXT NOT NULL,
  created_at      DATETIME NOT NULL
);
CREATE INDEX conversation_notes_conv ON conversation_notes(conversation_id, id);

-- name_key is the lowercased name: labels are unique whatever the case.
CREATE TABLE labels (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL,
  name_key   TEXT NOT NULL UNIQUE,
  color      TEXT NOT NULL,
  created_at DATETIME NOT NULL
);

CREATE TABLE conversation_labels (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  label_id        INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
  PRIMARY KEY (conversation_id, label_id)
);
CREATE INDEX conversation_labels_label ON conversation_labels(label_id, conversation_id);

-- Full-text index over messages.text (the text, or a media message's
-- caption). FTS4, not FTS5: mattn/go-sqlite3 compiles FTS5 in only with a
-- build tag every go build and go test of the project would need; FTS4 is
-- always compiled in. External content: the index holds no second copy of
-- the text. The triggers keep it in the same transaction as every write to
-- messages, the batched ingest included.
CREATE VIRTUAL TABLE messages_fts USING fts4(content="messages", text, tokenize=unicode61);
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(docid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_bu BEFORE UPDATE OF text ON messages BEGIN
  DELETE FROM messages_fts WHERE docid = old.id;
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_fts(docid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_bd BEFORE DELETE ON messages BEGIN
  DELETE FROM messages_fts WHERE docid = old.id;
END;

-- The contact panel: a Telegram user's messages in a channel (first seen,
-- count, the groups they wrote in) without scanning the channel, and the
-- language their Telegram app reports (language_code of the sender).
CREATE INDEX messages_from ON messages(channel_id, from_id, id);
ALTER TABLE messages ADD COLUMN from_language TEXT NOT NULL DEFAULT '';
