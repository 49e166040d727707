-- 005_presence.sql - who is here: the people with a live connection to a
-- room (a parked or recently repeated long-poll, an event stream, a
-- WebSocket), shared by every worker process (and, on PostgreSQL, every
-- host). Each worker keeps its own connections in memory and writes here
-- only what changed (at most about once a second) and a heartbeat (every
-- 15 s): never once per poll. Readers ignore the rows of a worker whose
-- heartbeat is stale (it crashed); a live worker removes them.
--
-- Numbered 005 on both engines (003 and 004 belong to the people issue's
-- other parts); applied like 001 and 002.

-- One row per live worker process: worker is "host:pid:start-ms", the
-- heartbeat the time (ms since the epoch) of its last write.
CREATE TABLE presence_workers (
	worker TEXT PRIMARY KEY,
	heartbeat INTEGER NOT NULL
);

-- One row per (room, person, worker): name is REMOTE_USER when verified
-- is 1, else the nick an anonymous page passed along; since is when that
-- worker first saw the person in the room (ms since the epoch). A person
-- connected through several workers has several rows; readers take one,
-- the earliest since.
CREATE TABLE presence (
	room TEXT NOT NULL,
	name TEXT NOT NULL,
	verified INTEGER NOT NULL,
	worker TEXT NOT NULL,
	since INTEGER NOT NULL,
	PRIMARY KEY (room, name, verified, worker)
);
CREATE INDEX presence_by_worker ON presence (worker);

-- Each room's presence version: the write that last changed the room's
-- rows set it to one more than the highest of all rooms, so a watcher
-- that remembers the highest it has seen finds the rooms changed since.
CREATE TABLE presence_rooms (
	room TEXT PRIMARY KEY,
	seq INTEGER NOT NULL
);
CREATE INDEX presence_rooms_seq ON presence_rooms (seq);
