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

-- For people: who sent it (user, NULL when anonymous), as a last column,
-- so that the columns of 001 keep their places for `SELECT *`.
DROP VIEW history;
CREATE VIEW history AS
SELECT id, room, nick, text,
    strftime('%Y-%m-%d %H:%M:%f', ts / 1000.0, 'unixepoch') AS time, user
FROM messages
WHERE deletes IS NULL
ORDER BY id;
