-- 003_people.sql - who sent a message: the user the web server
-- authenticated (REMOTE_USER; src/identity.h), for sites that put a login
-- in front of the chat (conf/lighttpd-auth.conf, conf/apache-auth.conf).
--
-- Applied by store.c like 001 and 002 (inside BEGIN IMMEDIATE ... COMMIT,
-- then PRAGMA user_version = 3). A nullable column without a default:
-- existing rows stay as they are (NULL, anonymous) and the migration is
-- quick on a large database.

-- The user name, 1-128 bytes of UTF-8 without control characters or
-- white space at either end (the program refuses others); the nick of
-- such a message is the user name. NULL: sent without a login, under a
-- nick the sender chose; tombstones are NULL too.
ALTER TABLE messages ADD COLUMN user TEXT;

-- Idempotent sends are per sender: a retry with client_id finds only a
-- message of the same user (or, anonymous, of no user), so the unique
-- index of 001 takes the user in. On (room, nick, client_id) alone a
-- signed-in alice's client_id would also be taken for an anonymous sender
-- with nick alice: its INSERT would store nothing and its retry lookup
-- find nothing. coalesce: the anonymous senders of a nick (NULL) still
-- share one entry per client_id, and no user is '' (1-128 bytes). The
-- program's INSERT names this same target (src/store_sqlite.c). Every
-- existing row is unique here too, as it was on fewer columns.
DROP INDEX messages_client_id;
CREATE UNIQUE INDEX messages_client_id
    ON messages (room, nick, coalesce(user, ''), client_id)
    WHERE client_id IS NOT NULL;

-- For people: who sent it (user, NULL when anonymous), as a last column,
-- so that the columns of 001 keep their places for `SELECT *`.
DROP VIEW history;
CREATE VIEW history AS
SELECT id, room, nick, text,
    strftime('%Y-%m-%d %H:%M:%f', ts / 1000.0, 'unixepoch') AS time, user
FROM messages
WHERE deletes IS NULL
ORDER BY id;
