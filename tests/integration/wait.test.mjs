// wait.test.mjs - long-polls and event streams through a real web server
// (FCGICHAT_FRONTEND: lighttpd with two worker processes, Apache with
// mod_proxy_fcgi and one worker, or Apache with mod_fcgid): prompt
// wakeups, fan-out to 1000 waiters of each kind, wakeups across processes
// and from the sqlite3 shell, resume with Last-Event-ID, keepalives, stream
// lifetime, and clients that vanish.
//
// Where a front end cannot do what lighttpd does, the test says so:
// - mod_fcgid gives each waiting client a whole process, so its fan-outs
//   are as wide as its process cap allows (capacityOf; conf/DEPLOYING.md);
// - Apache notices a browser that leaves only when it writes to it:
//   a long-poll at the worker's next space (every 5 s while it waits;
//   every second for a person's: presence.test.mjs), an event stream at
//   the next keepalive (lighttpd passes the close on at once);
// - the mod_proxy_fcgi setup runs one worker process (the systemd unit's),
//   so "across processes" is for the other two.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, connectionCounts, capacityOf, FRONTEND as FE } from '../lib/server.mjs';
import { get, send, openEvents, openRequest, waitingNow } from '../lib/http.mjs';

let srv;
let base;
let idleFds;
before(async () => {
  srv = await startServer({
    procs: 2,
    env: { FCGICHAT_MAX_WAIT: '30', FCGICHAT_KEEPALIVE: '1', FCGICHAT_SSE_LIFETIME: '4' },
  });
  base = srv.url;
  idleFds = fds();
});
after(async () => { await srv?.cleanup(); });

const fcgid = FE === 'apache-fcgid';
const apache = FE !== 'lighttpd';
// Waiting clients a fan-out test opens: n, or what mod_fcgid can hold.
const fan = (n) => Math.min(n, capacityOf(FE));
const lastId = async (room) => (await get(base, `/api/rooms/${room}/messages?limit=1`)).json.last_id;
// Parked requests hold a connection each in a worker.
const conns = () => srv.connections();
// Nothing parked is left: no connection, and (where the set of workers is
// fixed) no descriptor more than at the start (fds0).
const settled = (fds0) => conns() === 0 && (fcgid || srv.workerFds() <= fds0.n);
// The workers' descriptors, as settled() and unsettled() compare them.
const fds = () => ({ n: srv.workerFds(), targets: srv.workerFdTargets() });
// What a failed wait for settled() found: the connections left, and the
// descriptors the workers hold that they did not hold at the start.
function unsettled(fds0) {
  const extra = [...srv.workerFdTargets()];
  for (const t of fds0.targets) {
    const i = extra.indexOf(t);
    if (i >= 0) extra.splice(i, 1);
  }
  const names = extra.map((t) => t.replace(srv.dir, '$DIR'));
  return `no connection (${conns()} now) and descriptors back to ${fds0.n} ` +
    `(${srv.workerFds()} now; new: ${names.join(' ') || 'none'})`;
}
// Waits until the workers hold no connection (srv.quiet(): the last
// answered request's may still be closing) and returns their descriptors.
async function quiet() {
  await srv.quiet();
  return fds();
}

describe('long-poll', () => {
  test('answered promptly when another connection sends', async () => {
    const since = await lastId('lp');
    const t0 = Date.now();
    const waiting = get(base, `/api/rooms/lp/messages?since=${since}&wait=20`);
    const sent = await send(base, 'lp', 'a', 'wake up');
    const r = await waiting;
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.messages, [sent.json]);
    assert.equal(r.json.last_id, sent.json.id);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('a message in another room does not answer it', async () => {
    const since = await lastId('quiet');
    const waiting = get(base, `/api/rooms/quiet/messages?since=${since}&wait=2`);
    await send(base, 'noisy', 'a', 'elsewhere');
    const r = await waiting;
    assert.deepEqual(r.json, { messages: [], last_id: since });
  });

  test(`${fan(1000)} concurrent long-polls all receive one send, once`, async () => {
    const room = 'fan-lp';
    const n = fan(1000);
    const since = await lastId(room);
    await quiet();
    const polls = Array.from({ length: n }, () => get(base, `/api/rooms/${room}/messages?since=${since}&wait=25`));
    // All parked: each holds a connection in a worker.
    await waitFor(() => conns() >= n, { timeout: 20000, what: () => `${n} parked long-polls (${conns()} now)` });
    const sent = (await send(base, room, 'fan', 'to everyone')).json;
    const answers = await Promise.all(polls);
    for (const r of answers) {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { messages: [sent], last_id: sent.id });
    }
  });

  test('a send handled by one worker wakes waiters parked in the others', {
    skip: FE === 'apache-proxy' && 'one worker process behind mod_proxy_fcgi',
  }, async () => {
    const room = 'cross';
    const n = fan(200);
    // lighttpd spreads the waiters over its two workers (20 each at least);
    // mod_fcgid parks each in a process of its own.
    const each = fcgid ? 1 : 20;
    const since = await lastId(room);
    const polls = Array.from({ length: n }, () => get(base, `/api/rooms/${room}/messages?since=${since}&wait=25`));
    await waitFor(() => {
      const per = connectionCounts(srv.workers());
      return per.filter((c) => c >= each).length >= 2 && per.reduce((a, b) => a + b, 0) >= n;
    }, { timeout: 20000, what: 'waiters parked in two workers or more' });
    const sent = (await send(base, room, 'x', 'across processes')).json;
    const answers = await Promise.all(polls);
    assert.ok(answers.every((r) => r.json.messages.length === 1 && r.json.messages[0].id === sent.id));
  });

  test('a row inserted with the sqlite3 shell reaches a waiting client', async () => {
    const since = await lastId('shell');
    const waiting = get(base, `/api/rooms/shell/messages?since=${since}&wait=20`);
    // Parked before the insert: this test is about waking a waiter.
    await waitFor(async () => (await waitingNow(base)).longpoll === 1, { what: 'the long-poll parked' });
    const t0 = Date.now();
    srv.sql("INSERT INTO messages(room, nick, text) VALUES ('shell', 'admin', 'from the shell')");
    const r = await waiting;
    const took = Date.now() - t0;
    assert.equal(r.json.messages.length, 1);
    assert.equal(r.json.messages[0].text, 'from the shell');
    assert.ok(Math.abs(r.json.messages[0].ts - Date.now()) < 10000, 'default ts');
    assert.ok(took < 2500, `took ${took} ms`);
  });

  test('a client that vanishes mid-wait leaves no descriptor behind', async () => {
    // lighttpd frees it at once; Apache once a write to the client fails:
    // the worker writes a space every 5 s while it waits (the first write
    // after the client left may still pass), long before the deadline.
    const wait = 25;
    const n = fan(100);
    const since = await lastId('gone');
    const fds0 = await quiet();
    const reqs = Array.from({ length: n }, () => openRequest(base, `/api/rooms/gone/messages?since=${since}&wait=${wait}`));
    await waitFor(() => conns() >= n, { timeout: 10000, what: () => `${n} parked (${conns()} now)` });
    for (const r of reqs) r.destroy();
    await waitFor(() => settled(fds0), { timeout: apache ? 2 * 5000 + 4000 : 5000, what: () => unsettled(fds0) });
  });
});

describe('server-sent events', () => {
  test('headers, retry and messages as events', async () => {
    const s = openEvents(base, 'sse1');
    await s.opened;
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    assert.equal(s.headers['cache-control'], 'no-store');
    await s.until((x) => x.retry === 3000, 5000, 'retry before any waiting');
    const m = (await send(base, 'sse1', 'a', 'line1\nline2 "quoted" </script>')).json;
    await s.until((x) => x.events.length === 1);
    assert.equal(s.events[0].id, String(m.id));
    assert.equal(s.events[0].event, 'message');
    assert.deepEqual(s.events[0].json, m);
    s.close();
  });

  test('an event arrives well before the next keepalive (no buffering)', async () => {
    const s = openEvents(base, 'sse-fast');
    await s.until((x) => x.retry !== null);
    const t0 = Date.now();
    await send(base, 'sse-fast', 'a', 'now');
    await s.until((x) => x.events.length === 1, 900, 'event within 900 ms');
    assert.ok(Date.now() - t0 < 900);
    s.close();
  });

  test('keepalive comments while idle', async () => {
    const s = openEvents(base, 'sse-idle');
    await s.until((x) => x.comments >= 2, 5000, 'two keepalives (1 s apart)');
    s.close();
  });

  test('starts at since, or only new messages without a cursor', async () => {
    const a = (await send(base, 'sse2', 'a', 'one')).json;
    const b = (await send(base, 'sse2', 'a', 'two')).json;
    const fromSince = openEvents(base, 'sse2', { since: a.id - 1 });
    await fromSince.until((x) => x.events.length === 2);
    assert.deepEqual(fromSince.events.map((e) => e.json), [a, b]);
    const fresh = openEvents(base, 'sse2');
    await fresh.until((x) => x.retry !== null);
    const c = (await send(base, 'sse2', 'a', 'three')).json;
    await fresh.until((x) => x.events.length === 1);
    await fromSince.until((x) => x.events.length === 3);
    assert.deepEqual(fresh.events.map((e) => e.json), [c]);
    fresh.close();
    fromSince.close();
  });

  test('Last-Event-ID resumes with nothing lost, and wins over since', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await send(base, 'sse3', 'a', `m${i}`)).json.id);
    const s = openEvents(base, 'sse3', { lastEventId: ids[1], since: 0 });
    await s.until((x) => x.events.length === 3);
    assert.deepEqual(s.events.map((e) => Number(e.id)), ids.slice(2));
    s.close();
    const bad = openEvents(base, 'sse3', { lastEventId: 'abc' });
    await bad.opened;
    await bad.until((x) => x.ended);
    assert.equal(bad.status, 400);
  });

  test('the stream ends after its lifetime and resumes without loss', async () => {
    const s = openEvents(base, 'sse-life');
    await s.until((x) => x.retry !== null);
    const m = (await send(base, 'sse-life', 'a', 'before the end')).json;
    await s.until((x) => x.ended, 8000, 'end of lifetime (4 s)');
    assert.equal(s.events.at(-1).json.id, m.id);
    const gap = (await send(base, 'sse-life', 'a', 'while away')).json;
    const again = openEvents(base, 'sse-life', { lastEventId: s.events.at(-1).id });
    await again.until((x) => x.events.length === 1);
    assert.deepEqual(again.events[0].json, gap);
    again.close();
  });

  test(`${fan(1000)} streams all receive one send, once, in every worker`, async () => {
    const room = 'fan-sse';
    const streams = Array.from({ length: fan(1000) }, () => openEvents(base, room));
    await Promise.all(streams.map((s) => s.until((x) => x.retry !== null, 20000, 'stream open')));
    const m1 = (await send(base, room, 'fan', 'first')).json;
    const m2 = (await send(base, room, 'fan', 'second')).json;
    await Promise.all(streams.map((s) => s.until((x) => x.events.length >= 2, 20000, 'two events')));
    for (const s of streams) {
      assert.deepEqual(s.events.map((e) => e.json), [m1, m2]);
      s.close();
    }
  });

  test('a closed stream frees its descriptor', async () => {
    // Apache notices the close at the next keepalive (1 s here).
    await waitFor(() => settled(idleFds), { timeout: 5000, what: () => `earlier streams to be freed: ${unsettled(idleFds)}` });
    const n = fan(50);
    const streams = Array.from({ length: n }, () => openEvents(base, 'sse-gone'));
    await Promise.all(streams.map((s) => s.until((x) => x.retry !== null)));
    assert.ok(conns() >= n);
    for (const s of streams) s.close();
    await waitFor(() => settled(idleFds), { timeout: 5000, what: () => unsettled(idleFds) });
  });
});
