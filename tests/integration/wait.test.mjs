// wait.test.mjs - long-polls and event streams through real lighttpd with
// two worker processes: prompt wakeups, fan-out to 1000 waiters of each
// kind, wakeups across processes and from the sqlite3 shell, resume with
// Last-Event-ID, keepalives, stream lifetime, and clients that vanish.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { get, send, openEvents, fdCount } from '../lib/http.mjs';

let srv;
let base;
let idleFds;
before(async () => {
  srv = await startLighttpd({
    procs: 2,
    env: { FCGICHAT_MAX_WAIT: '30', FCGICHAT_KEEPALIVE: '1', FCGICHAT_SSE_LIFETIME: '4' },
  });
  base = srv.url;
  idleFds = workerFds();
});
after(async () => { await srv?.cleanup(); });

const lastId = async (room) => (await get(base, `/api/rooms/${room}/messages?limit=1`)).json.last_id;
const workerFds = () => srv.workers().reduce((n, p) => n + fdCount(p), 0);

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

  test('1000 concurrent long-polls all receive one send, once', async () => {
    const room = 'fan-lp';
    const since = await lastId(room);
    const base0 = workerFds();
    const polls = Array.from({ length: 1000 }, () => get(base, `/api/rooms/${room}/messages?since=${since}&wait=25`));
    // All parked: each holds a descriptor in a worker.
    await waitFor(() => workerFds() - base0 >= 1000, { timeout: 20000, what: '1000 parked long-polls' });
    const sent = (await send(base, room, 'fan', 'to everyone')).json;
    const answers = await Promise.all(polls);
    for (const r of answers) {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { messages: [sent], last_id: sent.id });
    }
  });

  test('a send handled by one worker wakes waiters parked in the other', async () => {
    const room = 'cross';
    const since = await lastId(room);
    const [w1, w2] = srv.workers();
    const f1 = fdCount(w1);
    const f2 = fdCount(w2);
    const polls = Array.from({ length: 200 }, () => get(base, `/api/rooms/${room}/messages?since=${since}&wait=25`));
    await waitFor(() => fdCount(w1) - f1 >= 20 && fdCount(w2) - f2 >= 20 &&
      fdCount(w1) - f1 + fdCount(w2) - f2 >= 200, { timeout: 20000, what: 'waiters parked in both workers' });
    const sent = (await send(base, room, 'x', 'across processes')).json;
    const answers = await Promise.all(polls);
    assert.ok(answers.every((r) => r.json.messages.length === 1 && r.json.messages[0].id === sent.id));
  });

  test('a row inserted with the sqlite3 shell reaches a waiting client', async () => {
    const since = await lastId('shell');
    const waiting = get(base, `/api/rooms/shell/messages?since=${since}&wait=20`);
    await new Promise((r) => setTimeout(r, 200)); // let it park: this test is about the fallback
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
    const since = await lastId('gone');
    const base0 = workerFds();
    const reqs = Array.from({ length: 100 }, () => {
      const req = http.get(`${base}/api/rooms/gone/messages?since=${since}&wait=25`, { agent: false });
      req.on('error', () => {});
      return req;
    });
    await waitFor(() => workerFds() - base0 >= 100, { timeout: 10000, what: 'parked' });
    for (const r of reqs) r.destroy();
    await waitFor(() => workerFds() <= base0, { timeout: 5000, what: `descriptors back to ${base0}` });
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

  test('1000 streams all receive one send, once, in both workers', async () => {
    const room = 'fan-sse';
    const streams = Array.from({ length: 1000 }, () => openEvents(base, room));
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
    await waitFor(() => workerFds() <= idleFds, { timeout: 5000, what: 'earlier streams to be freed' });
    const base0 = workerFds();
    const streams = Array.from({ length: 50 }, () => openEvents(base, 'sse-gone'));
    await Promise.all(streams.map((s) => s.until((x) => x.retry !== null)));
    assert.ok(workerFds() - base0 >= 50);
    for (const s of streams) s.close();
    await waitFor(() => workerFds() <= base0, { timeout: 5000, what: `descriptors back to ${base0}` });
  });
});
