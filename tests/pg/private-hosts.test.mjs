// private-hosts.test.mjs - private rooms across hosts on one PostgreSQL
// database: a member removed (by an operator anywhere) is cut off on
// every host at once, through the NOTIFY of sql/pg/004_private.sql, well
// inside the watchers' 1-s fallback; a room made on one host is private
// on the other at once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, waitFor, BIN } from '../lib/server.mjs';
import { get, post, openEvents } from '../lib/http.mjs';
import { pgDatabase } from '../lib/pg.mjs';

// Below the 1-s fallback look: only NOTIFY explains it.
const CUT_BOUND_MS = 800;

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
    const poll = get(b.url, '/api/rooms/xh/messages?since=0&wait=30', { auth: 'bob' });
    const s = openEvents(b.url, 'xh', { since: 0, auth: 'bob' });
    await s.opened;
    assert.equal(s.status, 200);
    await waitFor(async () => {
      const w = (await get(b.url, '/api/stats')).json.waiting;
      return w.longpoll === 1 && w.sse === 1;
    }, { timeout: 20000, what: 'the long-poll and the stream parked on B' });
    const t0 = Date.now();
    const rm = spawnSync(BIN, ['admin', 'members', 'xh', 'remove', 'bob'], { env: { ...process.env, FCGICHAT_DB: db }, encoding: 'utf8' });
    assert.equal(rm.status, 0, rm.stderr);
    const done = Date.now();
    const r = await poll;
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.messages, []);
    await s.until((x) => x.ended, 10000, 'the stream on B to end');
    const took = Date.now() - done;
    assert.ok(took < CUT_BOUND_MS, `cut off on B ${took} ms after the command (${Date.now() - t0} with it)`);
    assert.equal((await get(b.url, '/api/rooms/xh/messages?since=0', { auth: 'bob' })).status, 404);
  });
});
