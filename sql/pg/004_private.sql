-- 004_private.sql - private rooms and direct messages, as SQLite's
-- sql/004_private.sql (which says what each table is for): the same
-- tables, the same access_version, and a NOTIFY on every change so that
-- the watchers of every host cut off the waiting clients that lost their
-- access at once.

CREATE TABLE private_rooms (
	room TEXT PRIMARY KEY,
	kind TEXT NOT NULL DEFAULT 'private'
	    CHECK (kind IN ('private', 'direct')),
	created_by TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL DEFAULT
	    (extract(epoch FROM clock_timestamp()) * 1000)::bigint
);

CREATE TABLE room_members (
	room TEXT NOT NULL,
	member TEXT NOT NULL,
	added_at BIGINT NOT NULL DEFAULT
	    (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
	PRIMARY KEY (room, member)
);

CREATE INDEX room_members_member ON room_members (member, room);

CREATE TABLE access_version (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	version BIGINT NOT NULL
);
INSERT INTO access_version VALUES (1, 0);

-- One bump and one NOTIFY per statement, whoever writes (psql too).
CREATE FUNCTION access_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE access_version SET version = version + 1;
	PERFORM pg_notify('fcgichat', '');
	RETURN NULL;
END $$;

CREATE TRIGGER private_rooms_version
    AFTER INSERT OR UPDATE OR DELETE ON private_rooms
    FOR EACH STATEMENT EXECUTE FUNCTION access_version_bump();
CREATE TRIGGER room_members_version
    AFTER INSERT OR UPDATE OR DELETE ON room_members
    FOR EACH STATEMENT EXECUTE FUNCTION access_version_bump();

CREATE VIEW members AS
SELECT p.room, p.kind, m.member,
    to_char(to_timestamp(m.added_at / 1000.0) AT TIME ZONE 'UTC',
	'YYYY-MM-DD HH24:MI:SS.MS') AS added
FROM private_rooms p JOIN room_members m ON m.room = p.room
ORDER BY p.room, m.member;
