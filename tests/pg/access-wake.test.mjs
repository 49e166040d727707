// access-wake.test.mjs - the watchers read access_version only when a
// wake-up may concern access (the access trigger's NOTIFY says 'access',
// sql/pg/006_access_notify.sql): a member removed with plain psql (the
// trigger alone, no admin command) is cut off on another host at once,
// even while messages keep its watcher busy; and the wake-ups of messages
// no longer read access_version (one round trip less per wake-up).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, waitFor } from '../lib/server.mjs';
import { get, post, send, openEvents } from '../lib/http.mjs';
import { pgDatabase, pgDir, psql } from '../lib/pg.mjs';

// Below the watchers' 1-s fallback look: only the NOTIFY explains it.
const CUT_BOUND_MS = 800;
// Sends while a member is removed: a wake-up every SEND_GAP_MS, so the
// watcher looks far more often than its fallback timer would (each look
// puts it off by a second): only the 'access' payload makes it read the
// access version in time.
const SEND_GAP_MS = 100;

// Sends to room on base every SEND_GAP_MS until stop() (which resolves
// with the number sent).
function keepSending(base, room) {
  let going = true;
  let n = 0;
  const loop = (async () => {
    while (going) {
      const r = await send(base, room, 'busy', `tick ${n}`, {}, { auth: 'carol' });
      assert.equal(r.status, 201, r.text);
      n++;
      await new Promise((res) => setTimeout(res, SEND_GAP_MS));
    }
    return n;
  })();
  return { stop: () => { going = false; return loop; }, sent: () => n };
}

describe('access wake-ups on two hosts, one database', () => {
  let a, b, db;
  before(async () => {
    db = pgDatabase();
    a = await startServer({ store: 'postgresql', db, auth: true });
    b = await startServer({ store: 'postgresql', db, auth: true });
  });
  after(async () => { await a?.cleanup(); await b?.cleanup(); });

  test('bob removed with psql while messages flow is cut off on B within the bound', async () => {
    const made = await post(a.url, '/api/rooms', { room: 'xp', members: ['bob'] }, { auth: 'alice' });
    assert.equal(made.status, 201, made.text);
    const poll = get(b.url, '/api/rooms/xp/messages?since=0&wait=30', { auth: 'bob' });
    const s = openEvents(b.url, 'xp', { since: 0, auth: 'bob' });
    await s.opened;
    assert.equal(s.status, 200);
    await waitFor(async () => {
      const w = (await get(b.url, '/api/stats')).json.waiting;
      return w.longpoll === 1 && w.sse === 1;
    }, { timeout: 20000, what: 'the long-poll and the stream parked on B' });
    const busy = keepSending(a.url, 'busy');
    try {
      await waitFor(() => busy.sent() >= 5, { what: 'messages flowing' });
      const done = Date.now();
      psql(db, "DELETE FROM room_members WHERE room = 'xp' AND member = 'bob'");
      const r = await poll;
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.messages, []);
      await s.until((x) => x.ended, 10000, 'the stream on B to end');
      const took = Date.now() - done;
      assert.ok(took < CUT_BOUND_MS, `cut off on B ${took} ms after the DELETE`);
    } finally {
      await busy.stop();
    }
    assert.equal((await get(b.url, '/api/rooms/xp/messages?since=0', { auth: 'bob' })).status, 404);
  });
});

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
