// private-hosts.test.mjs - private rooms across hosts on one PostgreSQL
// database: a member removed (by an operator anywhere, or with plain
// psql) is cut off on every host at once, through the NOTIFY of
// sql/pg/004_private.sql (its payload 'access' since 006, which alone
// makes the watchers read access_version), well inside the watchers' 1-s
// fallback; a room made on one host is private on the other at once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, waitFor, BIN } from '../lib/server.mjs';
import { get, post, send, openEvents } from '../lib/http.mjs';
import { pgDatabase, psql } from '../lib/pg.mjs';

// Below the 1-s fallback look: only NOTIFY explains it.
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

// Parks a long-poll and an event stream of bob's in room on srv; returns
// the poll (a promise of its answer) and the stream.
async function parkBob(srv, room) {
  const poll = get(srv.url, `/api/rooms/${room}/messages?since=0&wait=30`, { auth: 'bob' });
  const s = openEvents(srv.url, room, { since: 0, auth: 'bob' });
  await s.opened;
  assert.equal(s.status, 200);
  await waitFor(async () => {
    const w = (await get(srv.url, '/api/stats')).json.waiting;
    return w.longpoll === 1 && w.sse === 1;
  }, { timeout: 20000, what: 'the long-poll and the stream parked' });
  return { poll, s };
}

// Waits until poll is answered empty and stream s ended; returns the ms
// since t.
async function cutOff({ poll, s }, t) {
  const r = await poll;
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.messages, []);
  await s.until((x) => x.ended, 10000, 'the stream to end');
  return Date.now() - t;
}

describe('private rooms on two hosts, one database', () => {
  let a, b, db;
  before(async () => {
    db = pgDatabase();
    a = await startServer({ store: 'postgresql', db, auth: true });
    b = await startServer({ store: 'postgresql', db, auth: true });
  });
  after(async () => { await a?.cleanup(); await b?.cleanup(); });

  test('a room made on A is private on B at once; bob removed is cut off on B within the bound', async () => {
    const made = await post(a.url, '/api/rooms', { room: 'xh', members: ['bob'] }, { auth: 'alice' });
    assert.equal(made.status, 201, made.text);
    assert.equal((await get(b.url, '/api/rooms/xh/messages?since=0', { auth: 'carol' })).status, 404);
    const parked = await parkBob(b, 'xh');
    const t0 = Date.now();
    const rm = spawnSync(BIN, ['admin', 'members', 'xh', 'remove', 'bob'], { env: { ...process.env, FCGICHAT_DB: db }, encoding: 'utf8' });
    assert.equal(rm.status, 0, rm.stderr);
    const took = await cutOff(parked, Date.now());
    assert.ok(took < CUT_BOUND_MS, `cut off on B ${took} ms after the command (${Date.now() - t0} with it)`);
    assert.equal((await get(b.url, '/api/rooms/xh/messages?since=0', { auth: 'bob' })).status, 404);
  });

  test('bob removed with psql (the trigger alone) while messages flow is cut off on B within the bound', async () => {
    const made = await post(a.url, '/api/rooms', { room: 'xp', members: ['bob'] }, { auth: 'alice' });
    assert.equal(made.status, 201, made.text);
    const parked = await parkBob(b, 'xp');
    const busy = keepSending(a.url, 'busy');
    try {
      await waitFor(() => busy.sent() >= 5, { what: 'messages flowing' });
      const t = Date.now();
      psql(db, "DELETE FROM room_members WHERE room = 'xp' AND member = 'bob'");
      const took = await cutOff(parked, t);
      assert.ok(took < CUT_BOUND_MS, `cut off on B ${took} ms after the DELETE`);
    } finally {
      await busy.stop();
    }
    assert.equal((await get(b.url, '/api/rooms/xp/messages?since=0', { auth: 'bob' })).status, 404);
  });
});
