// presence.test.mjs - who is here (GET /api/rooms/{room}/presence and the
// presence event, frame and long-poll field) through a real web server
// (FCGICHAT_FRONTEND; FCGICHAT_STORE=postgresql too): people arrive and
// leave within the stated bound on every transport, including a client
// whose socket is destroyed in the middle of a long-poll (Apache notices
// it only through the spaces the worker writes while it waits), one entry
// per person whatever the number of connections, lists across worker
// processes, bad parameters refused, and with the web server's login: a
// user present as the user (verified), whatever nick= or a header says.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, FRONTEND as FE } from '../lib/server.mjs';
import { get, send, openEvents, openRequest } from '../lib/http.mjs';
import { openWs } from '../lib/ws.mjs';

// API.md: a person whose last connection closed is gone within 5 s of the
// client leaving, on every front end; the tests allow 3 s more for a
// machine of 2 cores shared with other suites, and print what they saw.
const BOUND = 5000;
const SLACK = 3000;

let srv;
let base;
before(async () => {
  srv = await startServer({ procs: 2, env: { FCGICHAT_MAX_WAIT: '30' } });
  base = srv.url;
});
after(async () => { await srv?.cleanup(); });

let roomSeq = 0;
const newRoom = () => `pres${process.pid}x${roomSeq++}`;
const presence = async (room) => {
  const r = await get(base, `/api/rooms/${room}/presence`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const names = (p) => p.people.map((x) => x.nick).sort();
const has = (room, nick) => async () => names(await presence(room)).includes(nick);
const lacks = (room, nick) => async () => !names(await presence(room)).includes(nick);
const lastId = async (room) => (await get(base, `/api/rooms/${room}/messages?limit=1`)).json.last_id;

// Waits for cond and returns how long it took, checked against the bound.
async function within(cond, what) {
  const t0 = Date.now();
  await waitFor(cond, { timeout: BOUND + SLACK, interval: 50, what });
  const ms = Date.now() - t0;
  console.log(`# ${FE}: ${what} after ${ms} ms`);
  return ms;
}

describe('GET /api/rooms/{room}/presence', () => {
  test('an empty room: nobody, version 0', async () => {
    const room = newRoom();
    const r = await get(base, `/api/rooms/${room}/presence`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.deepEqual(r.json, { room, version: 0, people: [] });
  });

  test('bad room, bad nick, bad presence: 400 and nobody joins', async () => {
    const room = newRoom();
    assert.equal((await get(base, '/api/rooms/a.b/presence')).json.error.code, 'bad_room');
    const tooLong = 'x'.repeat(33);
    for (const [q, code] of [[`nick=${tooLong}`, 'bad_nick'], ['nick=%20%20', 'bad_nick'], ['nick=a%C2%85b', 'bad_nick'],
      ['nick=a&nick=b', 'bad_param'], ['presence=-1', 'bad_param'], ['presence=x', 'bad_param'],
      ['presence=1&presence=2', 'bad_param']]) {
      const r = await get(base, `/api/rooms/${room}/messages?since=0&wait=1&${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json?.error?.code, code, `${q}: ${r.text}`);
      const e = await get(base, `/api/rooms/${room}/events?${q}`);
      assert.equal(e.status, 400, q);
    }
    assert.deepEqual((await presence(room)).people, []);
  });

  test('POST is 405 with Allow: GET', async () => {
    const r = await (await import('../lib/http.mjs')).post(base, `/api/rooms/${newRoom()}/presence`, {});
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET');
  });
});

describe('arriving and leaving', () => {
  test('a long-poll: arrives, stays across rounds, leaves when its socket is destroyed', async () => {
    const room = newRoom();
    const since = await lastId(room);
    const req = openRequest(base, `/api/rooms/${room}/messages?since=${since}&wait=30&nick=alice`);
    await within(has(room, 'alice'), 'long-poll arrival');
    const p = await presence(room);
    const alice = p.people.find((x) => x.nick === 'alice');
    assert.equal(alice.verified, false);
    assert.equal(alice.user, undefined);
    assert.ok(Math.abs(alice.since - Date.now()) < 60000, `since ${alice.since}`);
    assert.ok(p.version > 0);
    // Abrupt: the socket destroyed, no more rounds.
    req.destroy();
    await within(lacks(room, 'alice'), 'long-poll departure (socket destroyed)');
  });

  test('repeated long-polls keep their person present between rounds', async () => {
    const room = newRoom();
    let since = await lastId(room);
    const seen = [];
    const t0 = Date.now();
    let stop = false;
    const rounds = (async () => {
      while (!stop) {
        const r = await get(base, `/api/rooms/${room}/messages?since=${since}&wait=1&nick=bob`);
        assert.equal(r.status, 200);
        since = r.json.last_id;
      }
    })();
    await within(has(room, 'bob'), 'long-poll rounds arrival');
    while (Date.now() - t0 < 6000) {
      seen.push(names(await presence(room)).includes('bob'));
      await new Promise((r) => setTimeout(r, 200));
    }
    stop = true;
    await rounds;
    assert.ok(seen.every(Boolean), `bob missing in ${seen.filter((x) => !x).length} of ${seen.length} looks`);
    await within(lacks(room, 'bob'), 'long-poll rounds departure');
  });

  test('an event stream and a WebSocket: arrive and leave; one entry per person', async () => {
    const room = newRoom();
    const sse = openEvents(base, room, { query: 'nick=carol' });
    await sse.opened;
    const ws = openWs(base, room, { path: `/api/rooms/${room}/ws?nick=carol` });
    await ws.opened;
    assert.equal(ws.status, 101, ws.describe());
    const ws2 = openWs(base, room, { path: `/api/rooms/${room}/ws?nick=dave` });
    await ws2.opened;
    await within(async () => names(await presence(room)).join() === 'carol,dave', 'stream and socket arrival');
    sse.close();
    await new Promise((r) => setTimeout(r, BOUND));
    assert.deepEqual(names(await presence(room)), ['carol', 'dave'], 'carol still has her WebSocket');
    ws.destroy();
    await within(lacks(room, 'carol'), 'WebSocket departure (destroyed)');
    ws2.close();
    await within(lacks(room, 'dave'), 'WebSocket departure (closed)');
  });

  test('an event stream destroyed: gone within the bound', async () => {
    const room = newRoom();
    const sse = openEvents(base, room, { query: 'nick=erin' });
    await sse.opened;
    await within(has(room, 'erin'), 'stream arrival');
    sse.req.socket.destroy();
    await within(lacks(room, 'erin'), 'stream departure (socket destroyed)');
  });
});

describe('changes reach waiting clients', () => {
  test('SSE: an event presence, without an id, on every change', async () => {
    const room = newRoom();
    await send(base, room, 'x', 'first');
    const sse = openEvents(base, room, { query: 'presence=0&nick=watcher' });
    await sse.opened;
    const pres = () => sse.events.filter((e) => e.event === 'presence');
    await sse.until(() => pres().some((e) => e.json.people.some((x) => x.nick === 'watcher')), BOUND + SLACK, 'own arrival');
    const req = openRequest(base, `/api/rooms/${room}/messages?since=${await lastId(room)}&wait=30&nick=frank`);
    await sse.until(() => pres().at(-1).json.people.some((x) => x.nick === 'frank'), BOUND + SLACK, 'frank arrives');
    req.destroy();
    await sse.until(() => !pres().at(-1).json.people.some((x) => x.nick === 'frank'), BOUND + SLACK, 'frank leaves');
    for (const e of pres()) {
      assert.equal(e.id ?? null, null, 'a presence event has no id');
      assert.equal(e.json.room, room);
    }
    const versions = pres().map((e) => e.json.version);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b), 'versions only grow');
    // Messages still come, and Last-Event-ID is the message's.
    const m = await send(base, room, 'x', 'second');
    await sse.until(() => sse.events.some((e) => e.event === 'message' && e.json.id === m.json.id));
    sse.close();
  });

  test('WebSocket: a presence frame on every change', async () => {
    const room = newRoom();
    const ws = openWs(base, room, { path: `/api/rooms/${room}/ws?presence=0` });
    await ws.opened;
    const other = openWs(base, room, { path: `/api/rooms/${room}/ws?nick=gina` });
    await ws.until(() => ws.of('presence').some((f) => f.presence.people.some((x) => x.nick === 'gina')), BOUND + SLACK);
    other.destroy();
    await ws.until(() => ws.of('presence').at(-1).presence.people.length === 0, BOUND + SLACK);
    assert.equal(ws.of('presence').at(-1).presence.room, room);
    ws.close();
  });

  test('long-poll: presence=V wakes on a change with a presence field; without it, nothing changes', async () => {
    const room = newRoom();
    const since = await lastId(room);
    const plain = get(base, `/api/rooms/${room}/messages?since=${since}&wait=3`);
    const asked = get(base, `/api/rooms/${room}/messages?since=${since}&wait=25&presence=0`);
    const t0 = Date.now();
    const joiner = openRequest(base, `/api/rooms/${room}/messages?since=${since}&wait=30&nick=hank`);
    const a = await asked;
    console.log(`# ${FE}: long-poll woken by an arrival after ${Date.now() - t0} ms`);
    assert.equal(a.status, 200);
    assert.deepEqual(a.json.messages, []);
    assert.equal(a.json.last_id, since);
    assert.deepEqual(names(a.json.presence), ['hank']);
    const p = await plain;
    assert.deepEqual(p.json, { messages: [], last_id: since }, 'a long-poll that did not ask has no presence field');
    // The version it has: the next one waits for the next change.
    const v = a.json.presence.version;
    const next = get(base, `/api/rooms/${room}/messages?since=${since}&wait=25&presence=${v}`);
    joiner.destroy();
    const b = await next;
    assert.deepEqual(b.json.presence.people, []);
    assert.ok(b.json.presence.version > v);
  });

  test('a client that has an older version is answered at once', async () => {
    const room = newRoom();
    const since = await lastId(room);
    const joiner = openRequest(base, `/api/rooms/${room}/messages?since=${since}&wait=30&nick=ivy`);
    await within(has(room, 'ivy'), 'arrival');
    const t0 = Date.now();
    const r = await get(base, `/api/rooms/${room}/messages?since=${since}&wait=25&presence=0`);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(names(r.json.presence), ['ivy']);
    joiner.destroy();
  });
});

describe('across worker processes', () => {
  test('every subscriber of every process sees a person of any process', async () => {
    const room = newRoom();
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push(openEvents(base, room, { query: 'presence=0' }));
    await Promise.all(subs.map((s) => s.opened));
    const people = [];
    for (let i = 0; i < 4; i++) people.push(openEvents(base, room, { query: `nick=p${i}` }));
    await Promise.all(people.map((s) => s.opened));
    const all = (s) => {
      const last = s.events.filter((e) => e.event === 'presence').at(-1);
      return last && names(last.json).join() === 'p0,p1,p2,p3';
    };
    for (const s of subs) await s.until(all, BOUND + SLACK, 'all four people');
    for (const s of people) s.close();
    for (const s of subs) {
      await s.until((x) => x.events.filter((e) => e.event === 'presence').at(-1).json.people.length === 0, BOUND + SLACK, 'nobody');
      s.close();
    }
  });
});

describe('the parked long-poll body', () => {
  test('spaces while it waits, still one JSON document', async () => {
    const room = newRoom();
    const since = await lastId(room);
    const t0 = Date.now();
    const r = await get(base, `/api/rooms/${room}/messages?since=${since}&wait=3&nick=jo`);
    assert.ok(Date.now() - t0 >= 2500);
    assert.match(r.text, /^ +\{/, 'a space a second for a person');
    assert.deepEqual(r.json, { messages: [], last_id: since });
  });
});

describe('with the web server\'s login (REMOTE_USER)', () => {
  let asrv;
  before(async () => { asrv = await startServer({ procs: 2, auth: true }); });
  after(async () => { await asrv?.cleanup(); });

  test('a signed-in user is present as the user, verified, whatever nick= or a header says', async () => {
    const room = newRoom();
    const list = async () => (await get(asrv.url, `/api/rooms/${room}/presence`, { auth: 'carol' })).json;
    const alice = openRequest(asrv.url, `/api/rooms/${room}/messages?since=0&wait=30&nick=mallory`, { auth: 'alice' });
    // A client's own X-Remote-User / Remote-User headers are no identity.
    const bob = openEvents(asrv.url, room, {
      query: 'nick=eve', auth: 'bob', headers: { 'X-Remote-User': 'carol', 'Remote-User': 'carol' },
    });
    await bob.opened;
    await waitFor(async () => (await list()).people.length === 2, { timeout: BOUND + SLACK, interval: 50, what: 'alice and bob' });
    assert.deepEqual((await list()).people.map(({ nick, user, verified }) => ({ nick, user, verified })), [
      { nick: 'alice', user: 'alice', verified: true },
      { nick: 'bob', user: 'bob', verified: true },
    ]);
    // An anonymous name equal to a user's is another entry, unverified.
    const t0 = Date.now();
    alice.destroy();
    await waitFor(async () => (await list()).people.map((p) => p.nick).join() === 'bob', { timeout: BOUND + SLACK, interval: 50, what: 'alice gone' });
    console.log(`# ${FE}: a signed-in user left after ${Date.now() - t0} ms`);
    bob.close();
  });
});
