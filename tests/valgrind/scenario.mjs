// scenario.mjs - what `make valgrind` puts the worker through behind
// lighttpd: sends (plain, idempotent, retried), reads of every kind,
// long-polls answered, timed out and abandoned, event streams fed, kept
// alive, ended by their lifetime and closed by the client, bad requests of
// every kind, then a clean stop (SIGTERM) so memcheck checks at exit.
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { get, send, request, openEvents, openRequest } from '../lib/http.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const srv = await startLighttpd({
  procs: 2,
  env: { FCGICHAT_MAX_WAIT: '2', FCGICHAT_KEEPALIVE: '1', FCGICHAT_SSE_LIFETIME: '3', FCGICHAT_THREADS: '2' },
});
const base = srv.url;
try {
  const streams = Array.from({ length: 10 }, () => openEvents(base, 'vg'));
  await Promise.all(streams.map((s) => s.until((x) => x.retry !== null, 30000)));
  const polls = Array.from({ length: 10 }, () => get(base, '/api/rooms/vg/messages?since=0&wait=2'));
  await sleep(1000);
  const sent = [];
  for (let i = 0; i < 20; i++) sent.push((await send(base, 'vg', `n${i % 3}`, `message ${i} ${'é'.repeat(i)}`)).json);
  assert.equal((await send(base, 'vg', 'n0', 'once', { client_id: 'c-1' })).status, 201);
  assert.equal((await send(base, 'vg', 'n0', 'again', { client_id: 'c-1' })).status, 200);
  for (const r of await Promise.all(polls)) assert.equal(r.status, 200);
  await Promise.all(streams.map((s) => s.until((x) => x.events.length >= 21, 30000)));
  for (const s of streams.slice(0, 5)) s.close();
  // Long-polls that time out, and ones whose client leaves.
  const last = sent.at(-1).id + 1;
  const idle = Array.from({ length: 5 }, () => get(base, `/api/rooms/vg/messages?since=${last}&wait=1`));
  const gone = Array.from({ length: 5 }, () => openRequest(base, `/api/rooms/vg/messages?since=${last}&wait=2`));
  await sleep(1500);
  for (const g of gone) g.destroy();
  for (const r of await Promise.all(idle)) assert.equal(r.json.messages.length, 0);
  // The other streams: keepalives, then the end of their lifetime.
  await Promise.all(streams.slice(5).map((s) => s.until((x) => x.ended, 30000)));
  const resumed = openEvents(base, 'vg', { lastEventId: sent[10].id });
  await resumed.until((x) => x.events.length >= 10, 30000);
  resumed.close();
  // Reads, and every kind of refusal.
  assert.equal((await get(base, '/api/rooms/vg/messages?limit=5')).status, 200);
  assert.equal((await get(base, `/api/rooms/vg/messages?before=${sent[5].id}&limit=2`)).status, 200);
  assert.equal((await get(base, '/api/rooms')).status, 200);
  assert.equal((await get(base, '/api/health')).status, 200);
  await get(base, '/api/stats');
  assert.equal((await get(base, '/api/rooms/bad.room/messages')).status, 400);
  assert.equal((await get(base, '/api/rooms/vg/messages?since=1&before=2')).status, 400);
  assert.equal((await get(base, '/api/nowhere')).status, 404);
  assert.equal((await request(base, 'PUT', '/api/rooms/vg/messages')).status, 405);
  assert.equal((await request(base, 'POST', '/api/rooms/vg/messages', { body: 'x', headers: { 'Content-Type': 'text/plain' } })).status, 415);
  assert.equal((await request(base, 'POST', '/api/rooms/vg/messages', { body: JSON.stringify({ nick: 'n', text: 'x'.repeat(40000) }) , headers: { 'Content-Type': 'application/json' } })).status, 413);
  assert.equal((await request(base, 'POST', '/api/rooms/vg/messages', { body: '{"nick":"n","text":"\\ud800"}', headers: { 'Content-Type': 'application/json' } })).status, 400);
  assert.equal((await request(base, 'POST', '/api/rooms/vg/messages', { body: '{"nick":', headers: { 'Content-Type': 'application/json' } })).status, 400);
  const bad = openEvents(base, 'vg', { lastEventId: 'x' });
  await bad.opened;
  assert.equal(bad.status, 400);
  // Streams and polls left open when the server stops.
  const left = [openEvents(base, 'vg'), openEvents(base, 'vg')];
  await Promise.all(left.map((s) => s.until((x) => x.retry !== null, 30000)));
  const leftPoll = get(base, `/api/rooms/vg/messages?since=${last + 100}&wait=2`).catch(() => {});
  await sleep(300);
  console.log(`valgrind scenario: done; stopping the workers ${srv.workers().join(', ')}`);
  await srv.stop();
  for (const s of left) s.close();
  await leftPoll;
} finally {
  await srv.cleanup();
}
