// storage.test.mjs - the disk fills up, the database turns read-only, and
// another process holds the write lock: sends answer 503 with Retry-After
// and the API.md error body and store nothing, reads and waiting clients
// keep working, no worker dies, and sending recovers by itself.
//
// Disk full needs a small filesystem: a tmpfs mounted for the test (root
// only; skipped with the reason otherwise). Read-only uses `chattr +i` on
// the database files, which stops root too (chmod does not).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { Poller, Stream, roomIds, dbState, waitAllGot, stopAll } from './helpers.mjs';

const DB_FILES = ['chat.db', 'chat.db-wal', 'chat.db-shm', 'chat.db-notify'];

const send = (srv, room, text, extra = {}) => tryRequest(srv.url, 'POST', `/api/rooms/${room}/messages`,
  { body: { nick: 'writer', text, ...extra } });

// n sends at once (so both workers get some); resolves the answers.
const sendMany = (srv, room, n, text) => Promise.all(Array.from({ length: n }, (_, i) => send(srv, room, `${text} ${i}`)));

// The API.md answer for storage that cannot be written.
function assertUnavailable(r) {
  assert.equal(r.status, 503, `expected 503, got ${r.status}: ${r.text ?? r.error}`);
  assert.match(r.headers['retry-after'] ?? '', /^[1-9][0-9]*$/, 'Retry-After in whole seconds');
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.json?.error?.code, 'unavailable', r.text);
  assert.ok(r.json.error.message.length > 10);
}

// Reads of every kind answer while writes cannot: n of each at once.
async function assertReadsWork(srv, room, ids) {
  const reads = await Promise.all(Array.from({ length: 20 }, () => tryRequest(srv.url, 'GET', `/api/rooms/${room}/messages?limit=1000`)));
  for (const r of reads) {
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.messages.map((m) => m.id), ids);
  }
  const health = await Promise.all(Array.from({ length: 10 }, () => tryRequest(srv.url, 'GET', '/api/health')));
  for (const r of health) assert.equal(r.status, 200, r.text);
  const rooms = await tryRequest(srv.url, 'GET', '/api/rooms');
  assert.equal(rooms.status, 200, rooms.text);
  const lp = await tryRequest(srv.url, 'GET', `/api/rooms/${room}/messages?since=${ids.at(-1) ?? 0}&wait=1`);
  assert.equal(lp.status, 200, lp.text);
  assert.deepEqual(lp.json, { messages: [], last_id: ids.at(-1) ?? 0 });
}

// Sends until one is stored again (the fault is gone), then n at once,
// which must all be stored. Returns the time it took to recover.
// With allWorkers, recovery may take a worker restart: wait (bounded) until
// a whole round of sends is stored, however the front end spreads it.
async function assertRecovers(srv, room, n = 40, { allWorkers = false } = {}) {
  const t0 = Date.now();
  await waitFor(async () => (await send(srv, room, 'are we back?')).status === 201,
    { timeout: 10000, interval: 100, what: 'a send to succeed again' });
  if (allWorkers) {
    await waitFor(async () => (await sendMany(srv, room, n, 'settling')).every((r) => r.status === 201),
      { timeout: 15000, interval: 200, what: 'every worker to store again' });
  }
  const took = Date.now() - t0;
  for (let round = 0; round < 3; round++) {
    const rs = await sendMany(srv, room, n, `recovered ${round}`);
    assert.deepEqual(rs.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.text}`), [],
      'every worker stores again');
  }
  return took;
}

// Waiting clients of room, from its start.
function waiters(srv, room, n) {
  return [
    ...Array.from({ length: n }, () => new Poller(srv.url, room, 0, { wait: 5 })),
    ...Array.from({ length: n }, () => new Stream(srv.url, room, 0)),
  ];
}

async function assertAllDelivered(srv, room, clients) {
  const ids = roomIds(srv.dbPath, room);
  const wrong = await waitAllGot(clients, ids, 15000);
  for (const c of clients) c.stop();
  await Promise.all(clients.map((c) => c.done));
  assert.deepEqual(wrong.map((c) => c.ids.length), [], `clients missing or repeating some of ${ids.length} messages`);
  return ids.length * clients.length;
}

function canMount() {
  if (process.getuid?.() !== 0) return 'not root: mounting a tmpfs needs root';
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-mnt-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d], { encoding: 'utf8' });
  if (r.status === 0) spawnSync('umount', [d]);
  fs.rmdirSync(d);
  return r.status === 0 ? null : `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
}

function canChattr(dir) {
  const f = path.join(dir, 'chattr-probe');
  fs.writeFileSync(f, 'x');
  const r = spawnSync('chattr', ['+i', f], { encoding: 'utf8' });
  let stops = false;
  if (r.status === 0) {
    try { fs.appendFileSync(f, 'y'); } catch { stops = true; }
    spawnSync('chattr', ['-i', f]);
  }
  fs.rmSync(f);
  if (r.status !== 0) return `chattr +i failed here: ${(r.stderr || r.error?.message || '').trim()}`;
  return stops ? null : 'chattr +i does not stop writes here';
}

describe('disk full', () => {
  const skip = canMount();
  if (skip) console.log(`# disk full: SKIPPED: ${skip}`);
  let srv;
  let dir;
  before(async () => {
    if (skip) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-full-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', dir], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    srv = await startLighttpd({ procs: 2, dir });
  });
  after(async () => {
    if (skip) return;
    await stopAll();
    await srv?.stop();
    spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('sends answer 503 and store nothing while the disk is full; reads go on; sending recovers', { skip: skip || false, timeout: 120000 }, async (t) => {
    const room = 'full';
    const before0 = await sendMany(srv, room, 5, 'before');
    assert.ok(before0.every((r) => r.status === 201));
    const pids = srv.workers();
    const clients = waiters(srv, room, 10);
    await waitFor(() => clients.every((c) => c.ids.length === 5), { what: 'clients caught up' });

    // Fill the filesystem, then send until the database has no room left
    // either (SQLite may still fit a few into pages it already has).
    const filler = path.join(dir, 'filler');
    const fd = fs.openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024);
    try { for (let i = 0; i < 1000; i++) fs.writeSync(fd, chunk); } catch (e) { assert.equal(e.code, 'ENOSPC'); }
    fs.closeSync(fd);
    let stored = 0;
    let r;
    for (let i = 0; i < 500; i++) {
      r = await send(srv, room, `${'x'.repeat(3000)} ${i}`);
      if (r.status !== 201) break;
      stored++;
    }
    assertUnavailable(r);
    const frozen = dbState(srv.dbPath);
    for (const a of await sendMany(srv, room, 40, 'while full')) assertUnavailable(a);
    // A retry with a client_id while full is refused the same way.
    assertUnavailable(await send(srv, room, 'with id', { client_id: 'full-1' }));
    assert.deepEqual(dbState(srv.dbPath), frozen, 'nothing stored while full');
    await assertReadsWork(srv, room, roomIds(srv.dbPath, room));

    fs.rmSync(filler);
    const took = await assertRecovers(srv, room);
    const checked = await assertAllDelivered(srv, room, clients);
    assert.deepEqual(srv.workers(), pids, 'no worker died');
    t.diagnostic(`${stored} sends still fitted after the disk filled; 42 refused with 503; recovered in ${took} ms; ${checked} deliveries checked`);
  });
});

describe('read-only database', () => {
  let srv;
  let skip;
  before(async () => {
    srv = await startLighttpd({ procs: 2 });
    skip = canChattr(srv.dir);
    if (skip) console.log(`# read-only database: SKIPPED: ${skip}`);
  });
  after(async () => {
    await stopAll();
    spawnSync('chattr', ['-i', ...DB_FILES.map((f) => path.join(srv.dir, f))]);
    await srv?.cleanup();
  });

  test('sends answer 503 while the database files are immutable; reads go on; sending recovers', { timeout: 120000 }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const room = 'ro';
    assert.ok((await sendMany(srv, room, 5, 'before')).every((r) => r.status === 201));
    const pids = srv.workers();
    const clients = waiters(srv, room, 10);
    await waitFor(() => clients.every((c) => c.ids.length === 5), { what: 'clients caught up' });
    const files = DB_FILES.map((f) => path.join(srv.dir, f));
    const c = spawnSync('chattr', ['+i', ...files], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    try {
      const frozen = dbState(srv.dbPath);
      for (const r of await sendMany(srv, room, 40, 'read-only')) assertUnavailable(r);
      assertUnavailable(await send(srv, room, 'with id', { client_id: 'ro-1' }));
      await assertReadsWork(srv, room, roomIds(srv.dbPath, room));
      assert.deepEqual(dbState(srv.dbPath), frozen, 'nothing stored while read-only');
    } finally {
      spawnSync('chattr', ['-i', ...files]);
    }
    const took = await assertRecovers(srv, room);
    const checked = await assertAllDelivered(srv, room, clients);
    assert.deepEqual(srv.workers(), pids, 'no worker died');
    t.diagnostic(`41 sends refused with 503; recovered in ${took} ms; ${checked} deliveries checked`);
  });

  // SQLite opens files it may not write read-only, silently, and such a
  // connection (and the process's shared -shm mapping, which the
  // watcher's connection keeps open) stays read-only afterwards.
  test('a worker started while the database is read-only serves reads, and writes once it is writable again', {
    timeout: 120000,
  }, async (t) => {
    if (skip) { t.skip(skip); return; }
    const room = 'ro-start';
    assert.ok((await sendMany(srv, room, 5, 'before')).every((r) => r.status === 201));
    const files = DB_FILES.map((f) => path.join(srv.dir, f));
    const c = spawnSync('chattr', ['+i', ...files], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    try {
      const [victim, survivor] = srv.workers();
      process.kill(victim, 'SIGKILL');
      await waitFor(() => srv.workers().length === 2 && !srv.workers().includes(victim), { what: 'a new worker' });
      for (const r of await sendMany(srv, room, 40, 'read-only')) assertUnavailable(r);
      await assertReadsWork(srv, room, roomIds(srv.dbPath, room));
      assert.ok(srv.workers().includes(survivor));
    } finally {
      spawnSync('chattr', ['-i', ...files]);
    }
    // The stuck worker notices within a second and exits; lighttpd starts
    // a fresh one.
    await assertRecovers(srv, room, 40, { allWorkers: true });
    assert.ok(/can be written again; this worker exits/.test(srv.log()), 'the stuck worker said why it exits');
  });
});

describe('lock storm', () => {
  let srv;
  before(async () => {
    srv = await startLighttpd({ procs: 2, env: { FCGICHAT_BUSY_TIMEOUT: '1000' } });
  });
  after(async () => { await stopAll(); await srv?.cleanup(); });

  test('another process holds the write lock for 10 s: sends wait about the busy timeout, then 503; reads and waits go on', { timeout: 120000 }, async (t) => {
    const room = 'locked';
    assert.ok((await sendMany(srv, room, 5, 'before')).every((r) => r.status === 201));
    const pids = srv.workers();
    const clients = waiters(srv, room, 10);
    await waitFor(() => clients.every((c) => c.ids.length === 5), { what: 'clients caught up' });

    // sqlite3 takes the write lock and keeps it for 10 s.
    const holder = spawn('sqlite3', [srv.dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO messages(room, nick, text) VALUES ('other', 'x', 'y');\nSELECT 'locked';\n");
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const lockedAt = Date.now();
    const release = setTimeout(() => holder.stdin.end('.timeout 1\nCOMMIT;\n.quit\n'), 10000);
    try {
      const frozen = dbState(srv.dbPath);
      // Senders (a few at a time, with client_ids) and readers together.
      const sends = [];
      const reads = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 6000) {
        const batch = Array.from({ length: 4 }, (_, i) => {
          const s0 = Date.now();
          return send(srv, room, 'during the lock', { client_id: `lock-${sends.length}-${i}` })
            .then((r) => ({ r, took: Date.now() - s0 }));
        });
        for (let i = 0; i < 5; i++) {
          const r0 = Date.now();
          reads.push(await tryRequest(srv.url, 'GET', `/api/rooms/${room}/messages`).then((r) => ({ r, took: Date.now() - r0 })));
        }
        sends.push(...await Promise.all(batch));
      }
      assert.ok(Date.now() - lockedAt < 9500, 'the lock was held throughout');
      for (const { r, took } of sends) {
        assertUnavailable(r);
        assert.ok(took >= 800 && took < 4000, `a send waited ${took} ms (busy timeout 1000 ms)`);
      }
      for (const { r, took } of reads) {
        assert.equal(r.status, 200, r.text);
        assert.ok(took < 1500, `a read took ${took} ms`);
      }
      await assertReadsWork(srv, room, roomIds(srv.dbPath, room));
      assert.deepEqual(dbState(srv.dbPath), frozen, 'nothing stored while locked');
      t.diagnostic(`${sends.length} sends refused after ${Math.min(...sends.map((s) => s.took))}-${Math.max(...sends.map((s) => s.took))} ms; ${reads.length} reads, slowest ${Math.max(...reads.map((s) => s.took))} ms`);
    } finally {
      let guard;
      await new Promise((resolve) => { holder.once('exit', resolve); guard = setTimeout(resolve, 15000); });
      clearTimeout(guard);
      clearTimeout(release);
    }
    await assertRecovers(srv, room);
    await assertAllDelivered(srv, room, clients);
    assert.deepEqual(srv.workers(), pids, 'no worker died');
  });
});
