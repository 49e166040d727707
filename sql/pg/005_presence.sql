-- 005_presence.sql - who is here, as on SQLite (sql/005_presence.sql has
-- the whole story): each worker of every host writes its room/person set
-- here only when it changes (at most about once a second) and a
-- heartbeat every 15 s; readers ignore workers whose heartbeat is stale.
-- Writers serialize on an advisory lock (7013356004, store_pg.h) so that
-- presence_rooms.seq becomes visible in the order it is handed out.

CREATE TABLE presence_workers (
	worker text PRIMARY KEY,
	heartbeat bigint NOT NULL
);

CREATE TABLE presence (
	room text NOT NULL,
	name text NOT NULL,
	verified boolean NOT NULL,
	worker text NOT NULL,
	since bigint NOT NULL,
	PRIMARY KEY (room, name, verified, worker)
);
CREATE INDEX presence_by_worker ON presence (worker);

CREATE TABLE presence_rooms (
	room text PRIMARY KEY,
	seq bigint NOT NULL
);
CREATE INDEX presence_rooms_seq ON presence_rooms (seq);
