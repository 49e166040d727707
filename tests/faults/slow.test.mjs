// slow.test.mjs - an event-stream client that stops reading while many
// large messages go out: the other streams get every message within a
// bound all along, the worker drops the slow one (more than 256 KiB
// pending) instead of buffering without end, and the slow client, resuming
// with Last-Event-ID, gets every message it had not got, none twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { stalledStream } from '../lib/raw.mjs';
import { parseEvents } from '../lib/sse.mjs';
import { Stream, roomIds, stopAll, sleep } from './helpers.mjs';

const OTHERS = 20;
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

test(`a stream that stops reading is dropped, delays no one, and resumes without loss (${MESSAGES} messages of ${TEXT} bytes)`, { timeout: 180000 }, async (t) => {
  const room = 'slow';
  const arrived = new Map();   // id -> times it reached each reading client
  const others = Array.from({ length: OTHERS }, () => new Stream(srv.url, room, 0, {
    onEvent: (id) => { if (!arrived.has(id)) arrived.set(id, []); arrived.get(id).push(Date.now()); },
  }));
  await waitFor(() => others.every((s) => s.open), { what: 'streams open' });

  // The slow client: reads the head of its stream, then no more.
  const slow = await stalledStream(srv.port, room);

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
    assert.deepEqual(s.ids, ids, 'each reading stream got every message once');
    assert.equal(s.ends, 0, 'no reading stream was dropped');
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
  t.diagnostic(`the slow stream got ${got.length} of ${MESSAGES} (${slow.raw.length} bytes) before it was dropped; ` +
    `slowest delivery to the ${OTHERS} others ${worst} ms`);
});
