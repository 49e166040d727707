// slow.test.mjs - an event-stream client and a WebSocket that stop
// reading while many large messages go out: the other streams and
// WebSockets get every message within a bound all along, the worker drops
// the slow ones (more than 256 KiB pending) instead of buffering without
// end, and each slow client, resuming with Last-Event-ID or since, gets
// every message it had not got, none twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { stalledStream } from '../lib/raw.mjs';
import { parseEvents } from '../lib/sse.mjs';
import { rawWs, wsPath, OP } from '../lib/ws.mjs';
import { Stream, WsFollower, roomIds, stopAll, sleep } from './helpers.mjs';

const OTHERS = 20;            // streams, and as many WebSockets
const MESSAGES = 2000;
const TEXT = 3900;            // bytes of text per message
const BOUND_MS = 1000;        // longest a reading client may wait for one

let srv;
before(async () => {
  srv = await startLighttpd({ procs: 2, env: { FCGICHAT_SSE_LIFETIME: '0' } });
});
after(async () => { await stopAll(); await srv?.cleanup(); });

// Ids of the complete message events in a stream's text.
const eventIds = (text) => parseEvents(text).filter((e) => e.event === 'message' && /^\d+$/.test(e.id ?? '')).map((e) => Number(e.id));

test(`a stream and a WebSocket that stop reading are dropped, delay no one, and resume without loss (${MESSAGES} messages of ${TEXT} bytes)`, { timeout: 180000 }, async (t) => {
  const room = 'slow';
  const arrived = new Map();   // id -> times it reached each reading client
  const arrive = (id) => { if (!arrived.has(id)) arrived.set(id, []); arrived.get(id).push(Date.now()); };
  const others = [
    ...Array.from({ length: OTHERS }, () => new Stream(srv.url, room, 0, { onEvent: arrive })),
    ...Array.from({ length: OTHERS }, () => new WsFollower(srv.url, room, 0, { onMessage: (m) => arrive(m.id) })),
  ];
  await waitFor(() => others.every((s) => s.open), { what: 'streams and WebSockets open' });

  // The slow clients: each reads the head of its answer, then no more.
  const slow = await stalledStream(srv.port, room);
  const slowWs = await rawWs(srv.port, wsPath(room, 0));
  slowWs.sock.pause();
  assert.equal(slowWs.status, 101);

  const acked = new Map();
  const text = 'x'.repeat(TEXT);
  for (let i = 0; i < MESSAGES; i++) {
    const r = await tryRequest(srv.url, 'POST', `/api/rooms/${room}/messages`, { body: { nick: 'big', text: `${i} ${text}` } });
    assert.equal(r.status, 201, r.text);
    acked.set(r.json.id, Date.now());
    await sleep(1);   // ~1.5 MB/s to each stream: a reader keeps up
  }
  const ids = roomIds(srv.dbPath, room);
  assert.equal(ids.length, MESSAGES);
  await waitFor(() => others.every((s) => s.ids.length === MESSAGES), { timeout: 20000, what: 'every reading stream to get everything' });
  let worst = 0;
  for (const [id, at] of acked) for (const got of arrived.get(id)) worst = Math.max(worst, got - at);
  assert.ok(worst < BOUND_MS, `a reading stream got a message ${worst} ms after its send was answered`);
  for (const s of others) {
    assert.deepEqual(s.ids, ids, 'each reading stream and WebSocket got every message once');
    assert.equal(s.ends, 0, 'no reading stream or WebSocket was dropped');
  }

  // Now read what the slow client was sent: the server ended it.
  slow.resume();
  await waitFor(() => slow.ended, { timeout: 20000, what: 'the slow stream to have been ended by the server' });
  const got = eventIds(slow.body);
  assert.ok(got.length < MESSAGES, 'the slow stream was cut short');
  assert.deepEqual(got, ids.slice(0, got.length), 'what it got is a gapless start');

  // It resumes like EventSource, with Last-Event-ID.
  const again = new Stream(srv.url, room, 0, { lastEventId: got.at(-1) ?? null });
  await waitFor(() => got.length + again.ids.length >= MESSAGES, { timeout: 20000, what: 'the resumed stream to catch up' });
  await sleep(200);
  assert.deepEqual([...got, ...again.ids], ids, 'nothing lost, nothing twice');

  // The same for the WebSocket: a gapless start, then the rest with since.
  slowWs.sock.resume();
  await waitFor(() => slowWs.ended, { timeout: 20000, what: 'the slow WebSocket to have been ended by the server' });
  const gotWs = slowWs.texts().filter((j) => j.type === 'message').map((j) => j.message.id);
  assert.ok(gotWs.length < MESSAGES, 'the slow WebSocket was cut short');
  assert.deepEqual(gotWs, ids.slice(0, gotWs.length), 'what it got is a gapless start');
  assert.ok(slowWs.frames.every((f) => f.op === OP.TEXT || f.op === OP.PING), 'no close frame: there is no room for one');
  const againWs = new WsFollower(srv.url, room, gotWs.at(-1) ?? 0);
  await waitFor(() => gotWs.length + againWs.ids.length >= MESSAGES, { timeout: 20000, what: 'the resumed WebSocket to catch up' });
  await sleep(200);
  assert.deepEqual([...gotWs, ...againWs.ids], ids, 'nothing lost, nothing twice');
  t.diagnostic(`the slow stream got ${got.length} of ${MESSAGES} (${slow.raw.length} bytes), the slow WebSocket ` +
    `${gotWs.length}, before they were dropped; slowest delivery to the ${2 * OTHERS} others ${worst} ms`);
});
