-- 001_init.sql - fcgichat's first schema: the messages, a per-room summary
-- kept by triggers, and a readable view for the sqlite3 shell.
--
-- store.c applies this file inside BEGIN IMMEDIATE ... COMMIT and then sets
-- PRAGMA user_version = 1; do not put either here. Later changes go into
-- new files (002_*.sql, ...): never edit a migration that has shipped.

-- Every chat message. The program always binds ts (chat_now_ms()), but a
-- person inserting with the sqlite3 shell gets "now" in ms by default:
-- 'now' is kept by SQLite in whole ms, and round() undoes the binary
-- fraction of julianday's double. AUTOINCREMENT makes SQLite remember the
-- highest id ever used (in sqlite_sequence), so an id is never handed out
-- twice even after the newest rows are deleted: API.md promises ids that
-- strictly increase across the whole database, and clients keep them as
-- cursors. client_id is NULL unless the sender asked for an idempotent
-- send.
CREATE TABLE messages (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	room      TEXT NOT NULL,
	nick      TEXT NOT NULL,
	text      TEXT NOT NULL,
	ts        INTEGER NOT NULL DEFAULT
	    (CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
	client_id TEXT
);

-- Every read of a room is "room = ? and id in a range, by id": since,
-- before and newest are one range scan of this index each.
CREATE INDEX messages_room_id ON messages (room, id);

-- Idempotent sends: a retry with the same room, nick and client_id hits
-- this index (INSERT ... ON CONFLICT DO NOTHING) and stores nothing new.
-- Partial, so messages without a client_id cost no index entry.
CREATE UNIQUE INDEX messages_client_id ON messages (room, nick, client_id)
    WHERE client_id IS NOT NULL;

-- One row per room that has messages: GET /api/rooms and a room's newest
-- id without scanning messages. Rows appear and disappear with their
-- room's messages (triggers below), so it is right whoever writes -- the
-- program or a person with the sqlite3 shell. WITHOUT ROWID: the name is
-- the key, and listing by name is a walk of the table itself.
CREATE TABLE rooms (
	name     TEXT PRIMARY KEY,
	last_id  INTEGER NOT NULL,   -- newest message id in the room
	messages INTEGER NOT NULL    -- number of messages in the room
) WITHOUT ROWID;

-- A new message counts in its room; max() because someone may insert an
-- explicit, lower id by hand.
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
BEGIN
	INSERT INTO rooms (name, last_id, messages)
	    VALUES (NEW.room, NEW.id, 1)
	    ON CONFLICT (name) DO UPDATE SET
		last_id = max(last_id, excluded.last_id),
		messages = messages + 1;
END;

-- A deleted message no longer counts. last_id is looked up again (one
-- probe of messages_room_id) because the deleted row may have been the
-- newest; a room without messages disappears from the list.
CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
BEGIN
	UPDATE rooms SET
	    messages = messages - 1,
	    last_id = coalesce((SELECT max(id) FROM messages
		WHERE room = OLD.room), 0)
	    WHERE name = OLD.room;
	DELETE FROM rooms WHERE name = OLD.room AND messages <= 0;
END;

-- The program never updates messages, but a person moving a message to
-- another room (or renumbering it) by hand should not break the counts:
-- it is a delete from the old room and an insert into the new one.
CREATE TRIGGER messages_count_update AFTER UPDATE OF room, id ON messages
BEGIN
	UPDATE rooms SET
	    messages = messages - 1,
	    last_id = coalesce((SELECT max(id) FROM messages
		WHERE room = OLD.room), 0)
	    WHERE name = OLD.room;
	DELETE FROM rooms WHERE name = OLD.room AND messages <= 0;
	INSERT INTO rooms (name, last_id, messages)
	    VALUES (NEW.room, NEW.id, 1)
	    ON CONFLICT (name) DO UPDATE SET
		last_id = max(last_id, excluded.last_id),
		messages = messages + 1;
END;

-- For people: `sqlite3 var/chat.db 'SELECT * FROM history'`. time is UTC
-- with milliseconds ('YYYY-MM-DD HH:MM:SS.mmm'); %f is seconds with three
-- decimals.
CREATE VIEW history AS
SELECT id, room, nick, text,
    strftime('%Y-%m-%d %H:%M:%f', ts / 1000.0, 'unixepoch') AS time
FROM messages
ORDER BY id;
