-- 0016: the console language a user chose (en, zh-CN); empty follows the
-- browser's Accept-Language (i18n.Catalog.Negotiate).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
