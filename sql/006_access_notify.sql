-- 006_access_notify.sql - nothing to do on SQLite: on PostgreSQL this
-- migration makes the access trigger's NOTIFY say 'access', so that its
-- watchers read access_version only when access may have changed. SQLite
-- wakes its watchers through the notify file, which cannot tell an access
-- change from a message, so they read access_version on every look (about
-- 2 us). It is here so that both engines number their schema alike: the
-- program knows one schema version (store_schema_version).
SELECT 1;
