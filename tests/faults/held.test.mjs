// held.test.mjs - another process holds copies of the workers' parked
// connections, as lsof, ss -p, a debugger or a forked child can. With a
// copy held elsewhere a worker's close() ends neither the connection nor
// its epoll registration (epoll(7), Q&A 6): before the fix a client that
// left while a copy was held woke the watcher for a freed waiter, and the
// worker crashed (the rare segfault of faults/leaks, whose /proc reads
// hold such copies for an instant). Here clients leave and a slow stream
// is dropped while copies are held: nothing crashes, every descriptor is
// let go, and the dropped stream still ends at its client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startLighttpd, waitFor, ROOT } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { rawOpen, stalledStream } from '../lib/raw.mjs';
import { procStatus } from './helpers.mjs';

const FDHOLD = path.join(ROOT, 'build/tests/fdhold');
const PARKED_FD_MIN = 1024;   // src/fcgi.c: parked connections sit here
const LONGPOLLS = 2000;
const STREAMS = 400;

let srv;
before(async () => {
  assert.ok(fs.existsSync(FDHOLD), `${FDHOLD} is missing: make build/tests/fdhold`);
  srv = await startLighttpd({ procs: 2, env: { FCGICHAT_MAX_WAIT: '30', FCGICHAT_SSE_LIFETIME: '0' } });
});
after(async () => { await srv?.cleanup(); });

const fdSum = () => srv.workers().reduce((n, p) => n + procStatus(p).fds, 0);
const stats = async () => (await tryRequest(srv.url, 'GET', '/api/stats')).json;

// Starts an fdhold on every worker; resolves once each holds its copies.
async function holdAll() {
  const holders = srv.workers().map((pid) => {
    const h = spawn(FDHOLD, [String(pid), String(PARKED_FD_MIN)], { stdio: ['pipe', 'pipe', 'inherit'] });
    h.out = '';
    h.stdout.on('data', (c) => { h.out += c; });
    h.gone = new Promise((resolve) => h.on('exit', resolve));
    return h;
  });
  await waitFor(() => holders.every((h) => /^held \d+\n/.test(h.out) || h.exitCode !== null), { what: 'fdhold to hold its copies' });
  assert.ok(holders.every((h) => h.exitCode === null), 'fdhold failed (its message is above)');
  return {
    held: holders.reduce((n, h) => n + Number(/^held (\d+)/.exec(h.out)[1]), 0),
    release: async () => { for (const h of holders) h.stdin.end(); await Promise.all(holders.map((h) => h.gone)); },
  };
}

test(`${LONGPOLLS} long-polls and ${STREAMS} streams left by their clients while copies are held: no crash, all let go`, { timeout: 120000 }, async (t) => {
  const room = 'held';
  const host = `Host: 127.0.0.1:${srv.port}\r\n`;
  const pids = srv.workers();
  const idleFds = fdSum();
  const socks = [
    ...await rawOpen(srv.port, `GET /api/rooms/${room}/messages?since=0&wait=30 HTTP/1.1\r\n${host}\r\n`, LONGPOLLS),
    ...await rawOpen(srv.port, `GET /api/rooms/${room}/events HTTP/1.1\r\n${host}Accept: text/event-stream\r\n\r\n`, STREAMS),
  ];
  await waitFor(async () => (await stats()).waiting.total === LONGPOLLS + STREAMS, { timeout: 60000, what: 'every request parked' });
  const hold = await holdAll();
  assert.ok(hold.held >= LONGPOLLS + STREAMS, `fdhold holds ${hold.held} copies`);

  for (const s of socks) s.destroy();
  await waitFor(() => fdSum() <= idleFds, { timeout: 30000, interval: 100, what: () => `descriptors back to ${idleFds} (${fdSum()} now)` });
  await waitFor(async () => (await stats()).waiting.total === 0, { timeout: 30000, what: 'no one waiting' });
  // Still answers and wakes, with the copies still held.
  const waiting = tryRequest(srv.url, 'GET', `/api/rooms/${room}/messages?since=0&wait=10`);
  const sent = await tryRequest(srv.url, 'POST', `/api/rooms/${room}/messages`, { body: { nick: 'a', text: 'still here' } });
  assert.equal(sent.status, 201);
  assert.deepEqual((await waiting).json?.messages?.map((m) => m.id), [sent.json.id]);
  await hold.release();
  const ends = srv.log().split('\n').filter((l) => /child (exited|signalled)/.test(l)).join('\n');
  assert.deepEqual(srv.workers(), pids, `no worker died; server log:\n${ends}`);
  await srv.quiet();   // the two answers just had may still be closing
  assert.equal(fdSum(), idleFds);
  t.diagnostic(`${hold.held} copies held while ${LONGPOLLS + STREAMS} clients left`);
});

test('a stream dropped for reading too slowly ends at its client although a copy is held', { timeout: 120000 }, async () => {
  const room = 'held-slow';
  const slow = await stalledStream(srv.port, room);
  const hold = await holdAll();
  try {
    const dropped = async () => (await stats()).processes.reduce((n, p) => n + p.dropped, 0);
    const before = await dropped();
    const text = 'x'.repeat(3900);
    for (let i = 0; i < 4000 && await dropped() === before; i++) {
      const r = await tryRequest(srv.url, 'POST', `/api/rooms/${room}/messages`, { body: { nick: 'big', text: `${i} ${text}` } });
      assert.equal(r.status, 201, r.text);
    }
    assert.equal(await dropped(), before + 1, 'the worker dropped the slow stream');
    slow.resume();
    await waitFor(() => slow.ended, { timeout: 20000, what: 'the dropped stream to end at its client while the copy is held' });
  } finally {
    slow.sock.destroy();
    await hold.release();
  }
});
