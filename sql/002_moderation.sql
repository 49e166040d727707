-- 002_moderation.sql - deleting messages (tombstones) and retention (rooms
-- remember how far history was pruned).
--
-- Applied by store.c like 001 (inside BEGIN IMMEDIATE ... COMMIT, then
-- PRAGMA user_version = 2). Adds columns with defaults, so existing rows
-- stay as they are and the migration is quick on a large database.

-- A deletion removes the message's row and, in the same transaction,
-- inserts a TOMBSTONE: a row with a new id, the deleted message's room,
-- nick and text '', and deletes = the deleted message's id. It travels like
-- a message (cursors, wakeups, fan-out), so waiting clients learn of the
-- deletion at once; reads with since= return it (the API lists it in
-- "deleted"), history reads leave it out. NULL for every normal message.
ALTER TABLE messages ADD COLUMN deletes INTEGER;

-- The highest message id retention removed from the room (0: none). A
-- client whose cursor is below it missed messages it can no longer get:
-- the API answers "limited": true so it reloads the room.
ALTER TABLE rooms ADD COLUMN pruned_through INTEGER NOT NULL DEFAULT 0;

-- rooms.messages now counts messages, not tombstones; rooms.last_id is the
-- newest id of any row of the room, tombstones included (where a client
-- starts reading). A room row stays while the room has rows (tombstones
-- too) or a pruned_through to remember; GET /api/rooms lists the rooms
-- with messages > 0.
DROP TRIGGER messages_count_insert;
DROP TRIGGER messages_count_delete;
DROP TRIGGER messages_count_update;

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
BEGIN
	INSERT INTO rooms (name, last_id, messages)
	    VALUES (NEW.room, NEW.id, NEW.deletes IS NULL)
	    ON CONFLICT (name) DO UPDATE SET
		last_id = max(last_id, excluded.last_id),
		messages = messages + excluded.messages;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
BEGIN
	UPDATE rooms SET
	    messages = messages - (OLD.deletes IS NULL),
	    last_id = coalesce((SELECT max(id) FROM messages
		WHERE room = OLD.room), 0)
	    WHERE name = OLD.room;
	DELETE FROM rooms
	    WHERE name = OLD.room AND last_id = 0 AND pruned_through = 0;
END;

CREATE TRIGGER messages_count_update AFTER UPDATE OF room, id, deletes
    ON messages
BEGIN
	UPDATE rooms SET
	    messages = messages - (OLD.deletes IS NULL),
	    last_id = coalesce((SELECT max(id) FROM messages
		WHERE room = OLD.room), 0)
	    WHERE name = OLD.room;
	DELETE FROM rooms
	    WHERE name = OLD.room AND last_id = 0 AND pruned_through = 0;
	INSERT INTO rooms (name, last_id, messages)
	    VALUES (NEW.room, NEW.id, NEW.deletes IS NULL)
	    ON CONFLICT (name) DO UPDATE SET
		last_id = max(last_id, excluded.last_id),
		messages = messages + excluded.messages;
END;

-- For people: messages only, no tombstones.
DROP VIEW history;
CREATE VIEW history AS
SELECT id, room, nick, text,
    strftime('%Y-%m-%d %H:%M:%f', ts / 1000.0, 'unixepoch') AS time
FROM messages
WHERE deletes IS NULL
ORDER BY id;
