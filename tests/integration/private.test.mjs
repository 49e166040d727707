// private.test.mjs - private rooms and direct messages behind a Basic login
// (startServer({ auth: true }), on the front end of FCGICHAT_FRONTEND and
// the store of FCGICHAT_STORE): a room that user may not see answers as
// one that does not exist on every endpoint and transport, members are
// cut off at once when removed (long-poll, SSE, WebSocket), the API's
// room and DM making with its limits, and the operators' commands.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, BIN } from '../lib/server.mjs';
import { get, post, send, openEvents, request } from '../lib/http.mjs';
import { openWs } from '../lib/ws.mjs';

const CUT_OFF_MS = 10000;   // generous: 2 shared cores; measured far less

function admin(srv, ...args) {
  const r = spawnSync(BIN, ['admin', ...args], { env: { ...process.env, FCGICHAT_DB: srv.dbPath }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const makeRoom = (base, user, room, members) => post(base, '/api/rooms', { room, members }, { auth: user });
const openDm = (base, user, other) => post(base, '/api/dm', { user: other }, { auth: user });
const read = (base, room, user, q = 'since=0') => get(base, `/api/rooms/${room}/messages?${q}`, { auth: user });
const roomsOf = async (base, user) => (await get(base, '/api/rooms', { auth: user })).json.rooms;

// Every endpoint and transport of room as user answers 404 not_found, as
// for a room that does not exist; sends store nothing.
async function assertHidden(srv, room, user) {
  const base = srv.url;
  const before = srv.sql('SELECT count(*) FROM messages').trim();
  for (const q of ['', 'since=0', 'before=5', 'since=0&wait=1']) {
    const r = await read(base, room, user, q);
    assert.equal(r.status, 404, `${user} GET ${room}?${q}: ${r.text}`);
    assert.equal(r.json.error.code, 'not_found');
  }
  const s = await send(base, room, 'x', 'sneaking in', {}, { auth: user });
  assert.equal(s.status, 404, s.text);
  assert.equal(s.json.error.code, 'not_found');
  const ev = openEvents(base, room, { since: 0, auth: user });
  await ev.opened;
  assert.equal(ev.status, 404, `${user} events of ${room}`);
  await ev.done;
  const ws = openWs(base, room, { since: 0, auth: user });
  await ws.opened;
  assert.equal(ws.status, 404, ws.describe());
  assert.equal(ws.refused.json.error.code, 'not_found');
  await ws.done;
  assert.ok(!(await roomsOf(base, user)).some((r) => r.name === room), `${room} listed for ${user}`);
  assert.equal(srv.sql('SELECT count(*) FROM messages').trim(), before);
}

describe('private rooms and DMs behind a Basic login', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer({ auth: true });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('a user makes a private room with members; only they see, read and send', async () => {
    const r = await makeRoom(base, 'alice', 'team', ['bob', 'bob']);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, { room: 'team', private: true, members: ['alice', 'bob'] });
    assert.equal((await makeRoom(base, 'bob', 'team', [])).status, 409);
    assert.equal((await send(base, 'team', 'alice', 'for the team', {}, { auth: 'alice' })).status, 201);
    const got = await read(base, 'team', 'bob');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.messages.map((m) => m.text), ['for the team']);
    const listed = (await roomsOf(base, 'bob')).find((x) => x.name === 'team');
    assert.deepEqual(listed, { name: 'team', last_id: got.json.last_id, messages: 1, private: true });
    await assertHidden(srv, 'team', 'carol');
    // A public room with messages cannot be taken over.
    assert.equal((await send(base, 'lobby', 'carol', 'hi', {}, { auth: 'carol' })).status, 201);
    const taken = await makeRoom(base, 'alice', 'lobby', []);
    assert.equal(taken.status, 409);
    assert.equal(taken.json.error.code, 'conflict');
    assert.ok((await roomsOf(base, 'alice')).some((x) => x.name === 'lobby' && x.private === undefined));
  });

  test('a DM has one name for both users, is listed for both with the other one, and hidden from carol', async () => {
    const a = await openDm(base, 'alice', 'bob');
    assert.equal(a.status, 201, a.text);
    assert.match(a.json.room, /^dm-[0-9a-f]{40}$/);
    assert.equal(a.json.direct, 'bob');
    const b = await openDm(base, 'bob', 'alice');
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.room, a.json.room);
    assert.equal(b.json.direct, 'alice');
    assert.deepEqual(b.json.members, ['alice', 'bob']);
    const dm = a.json.room;
    assert.equal((await send(base, dm, 'bob', 'just us', {}, { auth: 'bob' })).status, 201);
    assert.deepEqual((await read(base, dm, 'alice')).json.messages.map((m) => m.text), ['just us']);
    assert.equal((await roomsOf(base, 'alice')).find((x) => x.name === dm).direct, 'bob');
    assert.equal((await roomsOf(base, 'bob')).find((x) => x.name === dm).direct, 'alice');
    await assertHidden(srv, dm, 'carol');
    // carol's own DM with alice is another room.
    const c = await openDm(base, 'carol', 'alice');
    assert.notEqual(c.json.room, dm);
  });

  test('what a room-making request may hold: its limits, each refused with nothing stored', async () => {
    const rooms = srv.sql('SELECT count(*) FROM private_rooms').trim();
    const cases = [
      [makeRoom(base, 'alice', 'bad room', []), 400, 'bad_room'],
      [makeRoom(base, 'alice', 'x'.repeat(65), []), 400, 'bad_room'],
      [makeRoom(base, 'alice', 'dm-mine', []), 400, 'bad_room'],
      [post(base, '/api/rooms', { members: [] }, { auth: 'alice' }), 400, 'bad_room'],
      [makeRoom(base, 'alice', 'big', Array.from({ length: 100 }, (_, i) => `u${i}`)), 400, 'bad_param'],
      [makeRoom(base, 'alice', 'ctl', ['bo\u0001b']), 400, 'bad_param'],
      [makeRoom(base, 'alice', 'long', ['b'.repeat(129)]), 400, 'bad_param'],
      [makeRoom(base, 'alice', 'num', [7]), 400, 'bad_param'],
      [post(base, '/api/rooms', { room: 'm', members: 'bob' }, { auth: 'alice' }), 400, 'bad_param'],
      [post(base, '/api/rooms', '{"room":', { auth: 'alice', headers: { 'Content-Type': 'application/json' } }), 400, 'bad_json'],
      [post(base, '/api/rooms', 'room=x', { auth: 'alice', headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type'],
      [post(base, '/api/rooms', { room: 'huge', members: ['x'.repeat(17000)] }, { auth: 'alice' }), 413, 'too_large'],
      [openDm(base, 'alice', 'alice'), 400, 'bad_param'],
      [openDm(base, 'alice', ''), 400, 'bad_param'],
      [post(base, '/api/dm', {}, { auth: 'alice' }), 400, 'bad_param'],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.code, code, r.text);
    }
    // 99 members besides the creator are allowed: 100 in all.
    const most = await makeRoom(base, 'alice', 'most', Array.from({ length: 99 }, (_, i) => `u${i}`));
    assert.equal(most.status, 201, most.text);
    assert.equal(most.json.members.length, 100);
    assert.equal(srv.sql('SELECT count(*) FROM private_rooms').trim(), String(Number(rooms) + 1));
    assert.equal((await request(base, 'PUT', '/api/dm', { auth: 'alice' })).status, 405);
  });

  test('a member removed while waiting is cut off at once on long-poll, SSE and WebSocket', async (t) => {
    assert.equal((await makeRoom(base, 'alice', 'cut', ['bob'])).status, 201);
    const last = (await read(base, 'cut', 'bob')).json.last_id;
    const poll = read(base, 'cut', 'bob', `since=${last}&wait=30`);
    const ev = openEvents(base, 'cut', { since: last, auth: 'bob' });
    await ev.opened;
    assert.equal(ev.status, 200);
    const ws = openWs(base, 'cut', { since: last, auth: 'bob' });
    await ws.opened;
    assert.equal(ws.status, 101, ws.describe());
    // All three parked: a message reaches each (so none is still being set up).
    assert.equal((await send(base, 'cut', 'alice', 'still here?', {}, { auth: 'alice' })).status, 201);
    const first = await poll;
    assert.deepEqual(first.json.messages.map((m) => m.text), ['still here?']);
    await ev.until((s) => s.events.some((e) => e.json?.text === 'still here?'), 20000, 'the message on SSE');
    await ws.until((c) => c.messages().some((m) => m.text === 'still here?'), 20000, 'the message on the WebSocket');
    const poll2 = read(base, 'cut', 'bob', `since=${first.json.last_id}&wait=30`);
    // Parked or not yet: either way it ends empty (cut off) or 404.
    const t0 = Date.now();
    const rm = admin(srv, 'members', 'cut', 'remove', 'bob');
    assert.equal(rm.status, 0, rm.err);
    assert.deepEqual(rm.out.trim().split('\n'), ['alice\tprivate']);
    const answered = await poll2;
    assert.ok([200, 404].includes(answered.status), answered.text);
    if (answered.status === 200) assert.deepEqual(answered.json.messages, []);
    await ev.until((s) => s.ended, CUT_OFF_MS, 'the SSE stream to end');
    await ws.done;
    assert.equal(ws.closeCode, 4404, ws.describe());
    assert.equal(ws.closeReason, 'not_found');
    const took = Date.now() - t0;
    assert.ok(took < CUT_OFF_MS, `cut off after ${took} ms`);
    await assertHidden(srv, 'cut', 'bob');
    t.diagnostic(`cut off within ${took} ms of the admin command`);
  });

  test('a public room made private cuts off those not on its list; admin public opens it again', async () => {
    assert.equal((await send(base, 'open', 'carol', 'public words', {}, { auth: 'carol' })).status, 201);
    const last = (await read(base, 'open', 'carol')).json.last_id;
    const ws = openWs(base, 'open', { since: last, auth: 'carol' });
    await ws.opened;
    assert.equal(ws.status, 101);
    const poll = read(base, 'open', 'carol', `since=${last}&wait=30`);
    const ev = openEvents(base, 'open', { since: last, auth: 'carol' });
    await ev.opened;
    const t0 = Date.now();
    const mk = admin(srv, 'private', 'open', 'alice');
    assert.equal(mk.status, 0, mk.err);
    await ws.done;
    assert.equal(ws.closeCode, 4404);
    await ev.until((s) => s.ended, CUT_OFF_MS, 'the SSE stream to end');
    const answered = await poll;
    assert.ok([200, 404].includes(answered.status), answered.text);
    assert.ok(Date.now() - t0 < CUT_OFF_MS);
    await assertHidden(srv, 'open', 'carol');
    assert.deepEqual((await read(base, 'open', 'alice')).json.messages.map((m) => m.text), ['public words']);
    const members = admin(srv, 'members', 'open');
    assert.equal(members.out, 'alice\tprivate\n');
    assert.equal(admin(srv, 'members', 'open', 'add', 'carol').status, 0);
    assert.equal((await read(base, 'open', 'carol')).status, 200);
    assert.equal(admin(srv, 'members', 'open', 'remove', 'carol').status, 0);
    assert.equal((await read(base, 'open', 'carol')).status, 404);
    assert.equal(admin(srv, 'public', 'open').status, 0);
    assert.equal((await read(base, 'open', 'carol')).status, 200);
    assert.ok((await roomsOf(base, 'carol')).some((x) => x.name === 'open' && !x.private));
    const again = admin(srv, 'public', 'open');
    assert.equal(again.status, 1);
    assert.match(again.err, /not private/);
    assert.equal(admin(srv, 'members', 'nosuch').status, 1);
    assert.equal(admin(srv, 'members', 'open', 'add').status, 2);
    assert.equal(admin(srv, 'private', 'bad room', 'x').status, 2);
  });

  test('a service account tells one user: admin dm and admin send --as land in their DM', async () => {
    const dm = admin(srv, 'dm', 'support', 'alice');
    assert.equal(dm.status, 0, dm.err);
    const room = dm.out.trim();
    assert.match(room, /^dm-[0-9a-f]{40}$/);
    const s = admin(srv, 'send', room, '--as', 'support', 'Your question was answered');
    assert.equal(s.status, 0, s.err);
    const got = await read(base, room, 'alice');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.messages.map((m) => [m.nick, m.user, m.text]), [['support', 'support', 'Your question was answered']]);
    assert.equal((await roomsOf(base, 'alice')).find((x) => x.name === room).direct, 'support');
    await assertHidden(srv, room, 'bob');
    assert.equal(admin(srv, 'send', room, 'no sender').status, 2);
    const third = admin(srv, 'members', room, 'add', 'carol');
    assert.equal(third.status, 1);
    assert.match(third.err, /two users/);
    assert.equal(srv.sql(`SELECT count(*) FROM members WHERE room='${room}'`).trim(), '2');
  });
});

describe('private rooms without a login', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.cleanup(); });

  test('anonymous clients see a private room as absent and cannot make rooms or DMs', async () => {
    assert.equal(admin(srv, 'private', 'staff', 'alice').status, 0);
    await assertHidden(srv, 'staff', undefined);
    for (const [path, body] of [['/api/rooms', { room: 'mine' }], ['/api/dm', { user: 'bob' }]]) {
      const r = await post(srv.url, path, body);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json.error.code, 'forbidden');
    }
    // Names of DMs are kept: a public room so named is absent too.
    await assertHidden(srv, 'dm-0123456789abcdef0123456789abcdef01234567', undefined);
    assert.equal((await read(srv.url, 'lobby', undefined)).status, 200);
  });
});

describe('making rooms is rate limited', () => {
  let srv;
  before(async () => {
    srv = await startServer({ auth: true, env: { FCGICHAT_SEND_RATE: '1', FCGICHAT_SEND_BURST: '3' } });
  });
  after(async () => { await srv?.cleanup(); });

  test('past the send burst, a room or DM request gets 429 and makes nothing', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await makeRoom(srv.url, 'alice', `r${i}`, []));
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length >= 2, answers.map((r) => r.status).join(','));
    assert.ok(limited.every((r) => r.json.error.code === 'rate_limited' && Number(r.headers['retry-after']) >= 1));
    const made = answers.filter((r) => r.status === 201).length;
    assert.equal(srv.sql('SELECT count(*) FROM private_rooms').trim(), String(made));
    assert.equal((await openDm(srv.url, 'alice', 'bob')).status, 429);
  });
});
