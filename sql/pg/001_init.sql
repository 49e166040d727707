-- 001_init.sql - fcgichat's schema on PostgreSQL: the messages, a per-room
-- summary kept by triggers, ids handed out in commit order, a NOTIFY on
-- every commit that stores a row, and the readable history view. It is
-- what sql/001_init.sql and sql/002_moderation.sql make on SQLite, with
-- the same tables, columns and meaning (see sql/README.md).
--
-- store_pg_schema.c applies this file in one transaction (serialized
-- across processes and hosts by pg_advisory_xact_lock(7013356002)) and
-- then sets fcgichat_schema.version; do not put BEGIN, COMMIT or the
-- version here. Never edit a migration that has shipped.

-- Ids come from this sequence, but only through messages_assign_id
-- below: nextval() alone hands out ids at insert time while rows become
-- visible at commit, in another order.
CREATE SEQUENCE messages_id_seq;

-- Every chat message; ts is ms since the Unix epoch (UTC), set by the
-- program, "now" for a row inserted by hand with psql. deletes is the id
-- of the message a tombstone deletes (NULL for a message).
CREATE TABLE messages (
	id        bigint PRIMARY KEY,
	room      text NOT NULL,
	nick      text NOT NULL,
	text      text NOT NULL,
	ts        bigint NOT NULL DEFAULT
	    (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
	client_id text,
	deletes   bigint
);
ALTER SEQUENCE messages_id_seq OWNED BY messages.id;

-- Reads of a room are "room = $1 and id in a range, by id".
CREATE INDEX messages_room_id ON messages (room, id);

-- Idempotent sends: a retry with the same room, nick and client_id (on
-- any host) hits this index (ON CONFLICT DO NOTHING) and stores nothing.
CREATE UNIQUE INDEX messages_client_id ON messages (room, nick, client_id)
    WHERE client_id IS NOT NULL;

-- One row per room, as on SQLite: last_id the newest id of any row of the
-- room (tombstones too), messages the count of messages (not tombstones),
-- pruned_through the highest id retention removed.
CREATE TABLE rooms (
	name           text PRIMARY KEY,
	last_id        bigint NOT NULL,
	messages       bigint NOT NULL,
	pruned_through bigint NOT NULL DEFAULT 0
);

-- Ids become visible in id order. Clients resume with since=<last id>, so
-- a row whose id is below one a reader has already passed would never
-- reach it. Each inserting transaction first takes this transaction-
-- scoped advisory lock, then its id: the lock is released only after the
-- commit is visible to every new snapshot (PostgreSQL ends a transaction
-- in the proc array before it releases its locks), so the transaction
-- that takes id N + 1 does so after the one holding N has become visible
-- or rolled back. A reader that sees id N + 1 therefore also sees every
-- committed id <= N. An explicit id (import, or by hand) keeps the
-- sequence ahead of it.
CREATE FUNCTION messages_assign_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(7013356001);
	IF NEW.id IS NULL THEN
		NEW.id := nextval('messages_id_seq');
	ELSIF NEW.id > (SELECT last_value FROM messages_id_seq) THEN
		PERFORM setval('messages_id_seq', NEW.id);
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER messages_assign_id BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_assign_id();

-- Wakes the watchers of every process on every host: NOTIFY is delivered
-- after the commit, and PostgreSQL folds the same notification of one
-- transaction into one, so a group commit of many rows wakes each
-- listener once. A trigger, so a row inserted with psql wakes browsers
-- too.
CREATE FUNCTION messages_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('fcgichat', '');
	RETURN NULL;
END $$;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_notify();

-- rooms follows messages whoever writes, as SQLite's triggers do.
CREATE FUNCTION messages_count_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO rooms (name, last_id, messages)
	    VALUES (NEW.room, NEW.id, (NEW.deletes IS NULL)::int)
	    ON CONFLICT (name) DO UPDATE SET
		last_id = greatest(rooms.last_id, excluded.last_id),
		messages = rooms.messages + excluded.messages;
	RETURN NULL;
END $$;

CREATE FUNCTION messages_count_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE rooms SET
	    messages = messages - (OLD.deletes IS NULL)::int,
	    last_id = coalesce((SELECT max(id) FROM messages
		WHERE room = OLD.room), 0)
	    WHERE name = OLD.room;
	DELETE FROM rooms
	    WHERE name = OLD.room AND last_id = 0 AND pruned_through = 0;
	RETURN NULL;
END $$;

-- A person moving a message to another room (or renumbering it) by hand:
-- a delete from the old room and an insert into the new one.
CREATE FUNCTION messages_count_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE rooms SET
	    messages = messages - (OLD.deletes IS NULL)::int,
	    last_id = coalesce((SELECT max(id) FROM messages
		WHERE room = OLD.room), 0)
	    WHERE name = OLD.room;
	DELETE FROM rooms
	    WHERE name = OLD.room AND last_id = 0 AND pruned_through = 0;
	INSERT INTO rooms (name, last_id, messages)
	    VALUES (NEW.room, NEW.id, (NEW.deletes IS NULL)::int)
	    ON CONFLICT (name) DO UPDATE SET
		last_id = greatest(rooms.last_id, excluded.last_id),
		messages = rooms.messages + excluded.messages;
	RETURN NULL;
END $$;

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_count_insert();
CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_count_delete();
CREATE TRIGGER messages_count_update AFTER UPDATE OF room, id, deletes
    ON messages FOR EACH ROW EXECUTE FUNCTION messages_count_update();

-- For people: `psql -c 'SELECT * FROM history'`, the same columns as on
-- SQLite, time as UTC 'YYYY-MM-DD HH:MM:SS.mmm'.
CREATE VIEW history AS
SELECT id, room, nick, text,
    to_char(to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC',
	'YYYY-MM-DD HH24:MI:SS.MS') AS time
FROM messages
WHERE deletes IS NULL
ORDER BY id;
