// leaks.test.mjs - 20,000 long-polls, 2,000 event streams and 20,000
// WebSockets, opened in batches on raw sockets and abandoned by their
// clients: each worker's open descriptors return to exactly their idle
// count after every batch, its memory (VmRSS) stays within 2 MB of what it
// was after a first batch of the same size (WebSockets, which hold more,
// after their own first batch), and it still answers and wakes waiters
// after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { rawOpen } from '../lib/raw.mjs';
import { procStatus } from './helpers.mjs';

const BATCH = 4000;          // the test process may hold 20000 descriptors
const LONGPOLLS = 20000;
const STREAMS = 2000;
const SOCKETS = 20000;       // WebSockets
// Growth after the first batch is ~0.2 MB here; a leak of one ~200-byte
// waiter per request shows as ~3.5 MB per worker over the 18,000 after it.
const RSS_SLACK_KB = 2 * 1024;

let srv;
before(async () => {
  srv = await startLighttpd({ procs: 2, env: { FCGICHAT_MAX_WAIT: '30' } });
});
after(async () => { await srv?.cleanup(); });

const status = () => srv.workers().map((p) => ({ pid: p, ...procStatus(p) }));
const fdSum = () => status().reduce((n, s) => n + s.fds, 0);

// Opens n requests at once, waits until the workers hold them all, then
// drops every socket and waits until the workers let go of them.
async function openAndAbandon(request, n, idleFds) {
  const socks = await rawOpen(srv.port, request, n);
  await waitFor(() => fdSum() >= idleFds + n, { timeout: 60000, interval: 100, what: () => `${n} requests parked (${fdSum() - idleFds} so far)` });
  for (const s of socks) s.destroy();
  await waitFor(() => fdSum() <= idleFds, { timeout: 30000, interval: 100, what: () => `descriptors back to ${idleFds} (${fdSum()} now)` });
}

test(`${LONGPOLLS} long-polls, ${STREAMS} streams and ${SOCKETS} WebSockets abandoned: descriptors and memory come back`, { timeout: 180000 }, async (t) => {
  const room = 'leak';
  const host = `Host: 127.0.0.1:${srv.port}\r\n`;
  const longpoll = `GET /api/rooms/${room}/messages?since=0&wait=30 HTTP/1.1\r\n${host}\r\n`;
  const stream = `GET /api/rooms/${room}/events HTTP/1.1\r\n${host}Accept: text/event-stream\r\n\r\n`;
  const upgrade = `GET /api/rooms/${room}/ws HTTP/1.1\r\n${host}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  const pids = srv.workers();
  const idle = status();
  const idleFds = fdSum();

  // A first batch grows the heaps to what a batch needs: the baseline.
  await openAndAbandon(longpoll, BATCH, idleFds);
  const warm = status();
  const rows = [];
  for (let done = BATCH; done < LONGPOLLS; done += BATCH) {
    await openAndAbandon(longpoll, BATCH, idleFds);
    rows.push(status());
  }
  for (let done = 0; done < STREAMS; done += BATCH / 2) {
    await openAndAbandon(stream, Math.min(BATCH / 2, STREAMS - done), idleFds);
    rows.push(status());
  }
  // A WebSocket holds its parser besides its waiter (~0.3 KB): the heaps
  // grow again for the first batch of them, their own baseline. A leak
  // of that much per socket shows as ~2.4 MB per worker over the 16,000
  // after it.
  await openAndAbandon(upgrade, BATCH, idleFds);
  const warmWs = status();
  const wsRows = [];
  for (let done = BATCH; done < SOCKETS; done += BATCH) {
    await openAndAbandon(upgrade, BATCH, idleFds);
    wsRows.push(status());
  }
  // On failure, say how the worker ended (lighttpd logs its exit status).
  const ends = () => srv.log().split('\n').filter((l) => /child (exited|signalled)|fcgichat\[\d+\] (error|warn)/.test(l)).slice(-20).join('\n');
  assert.deepEqual(srv.workers(), pids, `no worker died; server log:\n${ends()}`);
  // Descriptors as idle after every batch, the first too; memory within
  // the slack of what it was after the first.
  const check = (first, batches, what) => {
    for (const [i, now] of [first, ...batches].entries()) {
      for (const [k, w] of now.entries()) {
        assert.equal(w.fds, idle[k].fds, `worker ${w.pid}: descriptors after ${what} batch ${i + 1}`);
        assert.ok(w.rss <= first[k].rss + RSS_SLACK_KB,
          `worker ${w.pid}: VmRSS ${w.rss} kB after ${what} batch ${i + 1}, ${first[k].rss} kB after the first`);
      }
    }
  };
  check(warm, rows, 'long-poll or stream');
  check(warmWs, wsRows, 'WebSocket');
  // Still answers, and a waiter still wakes.
  const waiting = tryRequest(srv.url, 'GET', `/api/rooms/${room}/messages?since=0&wait=10`);
  const sent = await tryRequest(srv.url, 'POST', `/api/rooms/${room}/messages`, { body: { nick: 'a', text: 'still here' } });
  assert.equal(sent.status, 201);
  assert.deepEqual((await waiting).json?.messages?.map((m) => m.id), [sent.json.id]);
  t.diagnostic('VmRSS kB per worker: idle ' + idle.map((w) => w.rss).join('/') +
    ', after the first batch ' + warm.map((w) => w.rss).join('/') +
    ', after the last ' + rows.at(-1).map((w) => w.rss).join('/') +
    ', after the first of WebSockets ' + warmWs.map((w) => w.rss).join('/') +
    ', after their last ' + wsRows.at(-1).map((w) => w.rss).join('/') +
    `; descriptors ${idle.map((w) => w.fds).join('/')} throughout`);
});
