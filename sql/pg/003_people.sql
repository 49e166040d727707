-- 003_people.sql - who sent a message: the user the web server
-- authenticated (REMOTE_USER; src/identity.h), as sql/003_people.sql on
-- SQLite. The column is "user", quoted: PostgreSQL reserves the word
-- (unquoted, `user` is the current database role).
--
-- A nullable column without a default: existing rows stay as they are
-- (NULL, anonymous), and PostgreSQL adds it without rewriting the table.

-- The user name, 1-128 bytes of UTF-8 without control characters or
-- white space at either end (the program refuses others); the nick of
-- such a message is the user name. NULL: sent without a login, under a
-- nick the sender chose; tombstones are NULL too.
ALTER TABLE messages ADD COLUMN "user" text;

-- Idempotent sends are per sender, as on SQLite (sql/003_people.sql says
-- why): the unique index of 001 takes the user in, with coalesce so that
-- the anonymous senders of a nick (NULL) share one entry per client_id.
-- The program's INSERT names this same target (src/store_pg.c).
DROP INDEX messages_client_id;
CREATE UNIQUE INDEX messages_client_id
    ON messages (room, nick, (coalesce("user", '')), client_id)
    WHERE client_id IS NOT NULL;

-- For people: who sent it ("user", NULL when anonymous), as a last
-- column, so that the columns of 001 keep their places for `SELECT *`.
DROP VIEW history;
CREATE VIEW history AS
SELECT id, room, nick, text,
    to_char(to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC',
	'YYYY-MM-DD HH24:MI:SS.MS') AS time, "user"
FROM messages
WHERE deletes IS NULL
ORDER BY id;
