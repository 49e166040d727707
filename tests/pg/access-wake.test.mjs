// access-wake.test.mjs - the watchers read access_version only when a
// wake-up may concern access (the access trigger's NOTIFY says 'access',
// sql/pg/006_access_notify.sql): the wake-ups of messages no longer read
// it (one round trip less per wake-up and process). That such a wake-up
// still cuts members off at once: private-hosts.test.mjs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, waitFor } from '../lib/server.mjs';
import { get, send, openEvents } from '../lib/http.mjs';
import { pgDatabase, pgDir, psql } from '../lib/pg.mjs';

// The watchers' reads of the access version, counted in the server's log
// (log_statement = 'all' for this database alone).
const ACCESS_READ = 'SELECT version FROM access_version';

function accessReads() {
  const log = fs.readFileSync(path.join(pgDir(), 'server.log'), 'utf8');
  return log.split(ACCESS_READ).length - 1;
}

describe('message wake-ups on PostgreSQL', () => {
  let srv, db;
  before(async () => {
    db = pgDatabase();
    const name = psql(db, 'SELECT current_database()').trim();
    psql(db, `ALTER DATABASE ${name} SET log_statement = 'all'`);
    srv = await startServer({ store: 'postgresql', db });
  });
  after(async () => { await srv?.cleanup(); });

  test('do not read access_version: only the fallback does', async (t) => {
    const N = 40;
    const s = openEvents(srv.url, 'lobby', { since: 0 });
    await s.opened;
    assert.equal(s.status, 200);
    await waitFor(async () => (await get(srv.url, '/api/stats')).json.waiting.sse === 1, { what: 'the stream parked' });
    const before = accessReads();
    const t0 = Date.now();
    let last;
    for (let i = 0; i < N; i++) {
      const r = await send(srv.url, 'lobby', 'n', `m${i}`);
      assert.equal(r.status, 201, r.text);
      last = r.json.id;
    }
    await s.until((x) => x.events.some((e) => e.json?.id === last), 10000, `the last of ${N} messages on the stream`);
    const reads = accessReads() - before;
    t.diagnostic(`${reads} reads of access_version for ${N} messages`);
    const secs = (Date.now() - t0) / 1000;
    s.close();
    // Each of the srv.procs watchers woke for (nearly) every message: it
    // read access_version each time before. Now only a look with nothing
    // said for a second (the fallback) reads it.
    assert.ok(reads <= srv.procs * (Math.ceil(secs) + 1), `${reads} reads of access_version for ${N} messages in ${secs.toFixed(1)} s by ${srv.procs} watchers`);
    // Quiet now: the fallback reads it within a second (which also shows
    // that the log counts the reads at all).
    await waitFor(() => accessReads() > before + reads, { timeout: 5000, what: 'a fallback read of access_version in the log' });
  });
});
