-- 006_access_notify.sql - the access trigger's NOTIFY says 'access', so
-- that a watcher reads access_version only when access may have changed,
-- not on every message (one round trip less per wake-up and process).
-- A message's NOTIFY keeps the empty payload. PostgreSQL folds equal
-- notifications of a transaction into one, but not these two: a
-- transaction that adds a member and a message wakes with both.
CREATE OR REPLACE FUNCTION access_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE access_version SET version = version + 1;
	PERFORM pg_notify('fcgichat', 'access');
	RETURN NULL;
END $$;
