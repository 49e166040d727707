-- 004_private.sql - private rooms and direct messages: a room listed in
-- private_rooms is seen only by the users in room_members (every endpoint
-- answers anyone else as if the room did not exist); a direct message is a
-- private room of kind 'direct' with exactly two members, named dm- and a
-- hash of the two user names (src/access.c).
--
-- Applied by store.c like 001 and 002. Numbered 004: 003 is the people
-- migration (messages.user); this one does not depend on it.

CREATE TABLE private_rooms (
	room TEXT PRIMARY KEY,
	kind TEXT NOT NULL DEFAULT 'private'
	    CHECK (kind IN ('private', 'direct')),
	created_by TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL DEFAULT
	    (CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER))
) WITHOUT ROWID;

-- A member is the user name the web server authenticates (REMOTE_USER).
CREATE TABLE room_members (
	room TEXT NOT NULL,
	member TEXT NOT NULL,
	added_at INTEGER NOT NULL DEFAULT
	    (CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
	PRIMARY KEY (room, member)
) WITHOUT ROWID;

-- GET /api/rooms: the private rooms of one user.
CREATE INDEX room_members_member ON room_members (member, room);

-- One row: bumped by every change of private_rooms or room_members,
-- whoever makes it (the program, or you with the sqlite3 shell). Every
-- worker's watcher reads it when it looks for new messages, and cuts off
-- the waiting clients that lost their access when it moved.
CREATE TABLE access_version (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	version INTEGER NOT NULL
);
INSERT INTO access_version VALUES (1, 0);

CREATE TRIGGER private_rooms_version_insert AFTER INSERT ON private_rooms
BEGIN
	UPDATE access_version SET version = version + 1;
END;
CREATE TRIGGER private_rooms_version_delete AFTER DELETE ON private_rooms
BEGIN
	UPDATE access_version SET version = version + 1;
END;
CREATE TRIGGER private_rooms_version_update AFTER UPDATE ON private_rooms
BEGIN
	UPDATE access_version SET version = version + 1;
END;
CREATE TRIGGER room_members_version_insert AFTER INSERT ON room_members
BEGIN
	UPDATE access_version SET version = version + 1;
END;
CREATE TRIGGER room_members_version_delete AFTER DELETE ON room_members
BEGIN
	UPDATE access_version SET version = version + 1;
END;
CREATE TRIGGER room_members_version_update AFTER UPDATE ON room_members
BEGIN
	UPDATE access_version SET version = version + 1;
END;

-- For people: `sqlite3 chat.db 'SELECT * FROM members'`.
CREATE VIEW members AS
SELECT p.room, p.kind, m.member,
    strftime('%Y-%m-%d %H:%M:%f', m.added_at / 1000.0, 'unixepoch') AS added
FROM private_rooms p JOIN room_members m ON m.room = p.room
ORDER BY p.room, m.member;
