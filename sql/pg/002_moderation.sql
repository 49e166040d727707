-- 002_moderation.sql - nothing to do on PostgreSQL: its schema started
-- where SQLite's 002_moderation.sql left off (001_init.sql already has
-- tombstones, messages.deletes, and retention, rooms.pruned_through).
-- It is here so that both engines number their schema alike: the program
-- knows one schema version (store_schema_version), and a migration added
-- later is NNN on both.
SELECT 1;
