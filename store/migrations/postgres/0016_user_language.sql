-- 0016: the console language a user chose (twin of sqlite/0016_user_language.sql).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
