// api.test.mjs - every endpoint, rule, limit and error of API.md v1, over
// HTTP through a real web server (FCGICHAT_FRONTEND: lighttpd, Apache with
// mod_proxy_fcgi or mod_fcgid) with the project's config and a real SQLite
// file. Each bad request is also checked to leave the database unchanged.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { get, post, request, send } from '../lib/http.mjs';

let srv;
let base;
before(async () => {
  srv = await startServer({ procs: 2, env: { FCGICHAT_MAX_WAIT: '2' } });
  base = srv.url;
});
after(async () => { await srv?.cleanup(); });

const count = () => Number(srv.sql('SELECT count(*) FROM messages').trim());

function assertJsonAnswer(r) {
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
}

// A request that must fail with status and code and store nothing.
async function rejects(status, code, doRequest) {
  const before = count();
  const r = await doRequest();
  assert.equal(r.status, status, r.text);
  assertJsonAnswer(r);
  assert.equal(r.json?.error?.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 10);
  assert.equal(count(), before, 'a bad request changed the database');
  return r;
}

describe('send', () => {
  test('201 with the stored message and a Location that reads it back', async () => {
    const r = await send(base, 'lobby', 'alice', 'hello');
    assert.equal(r.status, 201, r.text);
    assertJsonAnswer(r);
    const m = r.json;
    assert.deepEqual(Object.keys(m).sort(), ['id', 'nick', 'room', 'text', 'ts']);
    assert.equal(m.room, 'lobby');
    assert.equal(m.nick, 'alice');
    assert.equal(m.text, 'hello');
    assert.ok(Math.abs(m.ts - Date.now()) < 10000);
    assert.equal(r.headers.location, `/api/rooms/lobby/messages?since=${m.id - 1}&limit=1`);
    const back = await get(base, r.headers.location);
    assert.deepEqual(back.json.messages, [m]);
  });

  test('ids strictly increase across rooms', async () => {
    const a = await send(base, 'r1', 'x', 'a');
    const b = await send(base, 'r2', 'x', 'b');
    const c = await send(base, 'r1', 'x', 'c');
    assert.ok(a.json.id < b.json.id && b.json.id < c.json.id);
  });

  test('nick is trimmed, text keeps inner space and turns \\r\\n and \\r into \\n', async () => {
    const r = await send(base, 'lobby', '\u00a0 bob\u3000\t', ' a\r\nb\rc\td ');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.nick, 'bob');
    assert.equal(r.json.text, ' a\nb\nc\td ');
    const row = srv.sql(`SELECT nick || '|' || text FROM messages WHERE id = ${r.json.id}`);
    assert.equal(row, 'bob| a\nb\nc\td \n');
  });

  test('client_id makes a send idempotent', async () => {
    const first = await send(base, 'idem', 'carol', 'one', { client_id: 'abc-1' });
    assert.equal(first.status, 201);
    const n = count();
    const again = await send(base, 'idem', 'carol', 'different text', { client_id: 'abc-1' });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, first.json);
    assert.equal(count(), n);
    const otherNick = await send(base, 'idem', 'dave', 'one', { client_id: 'abc-1' });
    assert.equal(otherNick.status, 201);
    const otherRoom = await send(base, 'idem2', 'carol', 'one', { client_id: 'abc-1' });
    assert.equal(otherRoom.status, 201);
    const nullId = await send(base, 'idem', 'carol', 'x', { client_id: null });
    assert.equal(nullId.status, 201);
  });

  test('unknown fields are ignored', async () => {
    const r = await post(base, '/api/rooms/lobby/messages', { nick: 'e', text: 't', colour: 'red', n: [1, { a: 2 }] });
    assert.equal(r.status, 201, r.text);
  });

  test('limits at their edges are accepted', async () => {
    const room = 'R'.repeat(64);
    assert.equal((await send(base, room, 'n', 't')).status, 201);
    assert.equal((await send(base, 'a-b_C9', 'n', 't')).status, 201);
    assert.equal((await send(base, 'lobby', '😀'.repeat(32), 't')).status, 201);
    assert.equal((await send(base, 'lobby', 'n', 'x'.repeat(4000))).status, 201);
    assert.equal((await send(base, 'lobby', 'n', 'é'.repeat(2000))).status, 201);
    assert.equal((await send(base, 'lobby', 'n', 'x'.repeat(3999) + '\r\n')).status, 201);
    assert.equal((await send(base, 'lobby', 'n', 't', { client_id: '!'.repeat(64) })).status, 201);
    assert.equal((await send(base, 'lobby', 'n', 'tab\there')).status, 201);
  });
});

describe('send rejects, storing nothing', () => {
  const sendRaw = (room, body, headers = { 'Content-Type': 'application/json' }) =>
    request(base, 'POST', `/api/rooms/${room}/messages`, { body, headers });

  test('bad_room', async () => {
    await rejects(400, 'bad_room', () => send(base, 'R'.repeat(65), 'n', 't'));
    await rejects(400, 'bad_room', () => send(base, 'no%20space', 'n', 't'));
    await rejects(400, 'bad_room', () => send(base, 'd%C3%A9j%C3%A0', 'n', 't'));
    await rejects(400, 'bad_room', () => send(base, 'a.b', 'n', 't'));
  });

  test('bad_nick', async () => {
    for (const nick of ['', '   ', '\u3000', '😀'.repeat(33), 'a\u0007b', 'a\u0085b', 'a\u007fb']) {
      await rejects(400, 'bad_nick', () => send(base, 'lobby', nick, 't'));
    }
    await rejects(400, 'bad_nick', () => sendRaw('lobby', '{"nick":"a\\u0000b","text":"t"}'));
    await rejects(400, 'bad_nick', () => sendRaw('lobby', '{"nick":"\\ud800","text":"t"}'));
    await rejects(400, 'bad_nick', () => sendRaw('lobby', '{"nick":42,"text":"t"}'));
    await rejects(400, 'bad_nick', () => sendRaw('lobby', '{"text":"t"}'));
  });

  test('bad_text', async () => {
    for (const text of ['', 'x'.repeat(4001), 'é'.repeat(2001), 'a\u0000b', 'a\u001bb', 'a\u0085b', 'x'.repeat(4000) + '\r\n']) {
      await rejects(400, 'bad_text', () => send(base, 'lobby', 'n', text));
    }
    await rejects(400, 'bad_text', () => sendRaw('lobby', '{"nick":"n","text":"\\udc00"}'));
    await rejects(400, 'bad_text', () => sendRaw('lobby', '{"nick":"n","text":["t"]}'));
    await rejects(400, 'bad_text', () => sendRaw('lobby', '{"nick":"n"}'));
  });

  test('bad_client_id', async () => {
    for (const client_id of ['', 'a b', 'x'.repeat(65), 'é', 7, true]) {
      await rejects(400, 'bad_client_id', () => send(base, 'lobby', 'n', 't', { client_id }));
    }
  });

  test('bad_json', async () => {
    for (const body of ['', 'nope', '[]', '"str"', '{"nick":"n","text":"t"} x', '{"nick":"n","text":"t"', '{"nick":"n","text":"a\nb"}']) {
      await rejects(400, 'bad_json', () => sendRaw('lobby', body));
    }
    await rejects(400, 'bad_json', () => sendRaw('lobby', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])));
    await rejects(400, 'bad_json', () => sendRaw('lobby', Buffer.from('{"nick":"n","text":"\xc3\x28"}', 'latin1')));
  });

  test('too_large', async () => {
    const big = JSON.stringify({ nick: 'n', text: 't', pad: 'x'.repeat(17000) });
    await rejects(413, 'too_large', () => sendRaw('lobby', big));
  });

  test('unsupported_media_type', async () => {
    const body = '{"nick":"n","text":"t"}';
    await rejects(415, 'unsupported_media_type', () => sendRaw('lobby', body, { 'Content-Type': 'text/plain' }));
    await rejects(415, 'unsupported_media_type', () => sendRaw('lobby', body, { 'Content-Type': 'application/x-www-form-urlencoded' }));
    await rejects(415, 'unsupported_media_type', () => sendRaw('lobby', body, {}));
    await rejects(415, 'unsupported_media_type', () => sendRaw('lobby', body, { 'Content-Type': 'application/json; charset=latin1' }));
    const ok = await sendRaw('lobby', body, { 'Content-Type': 'Application/JSON; charset=UTF-8' });
    assert.equal(ok.status, 201);
  });

  test('method_not_allowed with Allow', async () => {
    let r = await rejects(405, 'method_not_allowed', () => request(base, 'DELETE', '/api/rooms/lobby/messages'));
    assert.equal(r.headers.allow, 'GET, POST');
    r = await rejects(405, 'method_not_allowed', () => request(base, 'POST', '/api/rooms/lobby/events', { body: {} }));
    assert.equal(r.headers.allow, 'GET');
    r = await rejects(405, 'method_not_allowed', () => request(base, 'PUT', '/api/health'));
    assert.equal(r.headers.allow, 'GET');
  });

  test('not_found', async () => {
    for (const p of ['/api/', '/api/nope', '/api/rooms/lobby', '/api/rooms/lobby/messages/1', '/api/rooms/lobby/other']) {
      await rejects(404, 'not_found', () => get(base, p));
    }
  });
});

describe('read', () => {
  let ids;
  before(async () => {
    ids = [];
    for (let i = 0; i < 7; i++) ids.push((await send(base, 'hist', 'h', `m${i}`)).json.id);
  });

  test('newest limit messages, oldest first', async () => {
    const r = await get(base, '/api/rooms/hist/messages?limit=3');
    assert.equal(r.status, 200);
    assertJsonAnswer(r);
    assert.deepEqual(r.json.messages.map((m) => m.id), ids.slice(4));
    assert.equal(r.json.last_id, ids[6]);
    const all = await get(base, '/api/rooms/hist/messages');
    assert.deepEqual(all.json.messages.map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  test('since gives the first limit after the id', async () => {
    const r = await get(base, `/api/rooms/hist/messages?since=${ids[1]}&limit=2`);
    assert.deepEqual(r.json.messages.map((m) => m.id), [ids[2], ids[3]]);
    assert.equal(r.json.last_id, ids[3]);
  });

  test('before pages back through history, oldest first', async () => {
    const r = await get(base, `/api/rooms/hist/messages?before=${ids[5]}&limit=2`);
    assert.deepEqual(r.json.messages.map((m) => m.id), [ids[3], ids[4]]);
    const r2 = await get(base, `/api/rooms/hist/messages?before=${r.json.messages[0].id}&limit=10`);
    assert.deepEqual(r2.json.messages.map((m) => m.id), ids.slice(0, 3));
  });

  test('last_id when nothing matches', async () => {
    let r = await get(base, `/api/rooms/hist/messages?since=${ids[6]}`);
    assert.deepEqual(r.json, { messages: [], last_id: ids[6] });
    r = await get(base, '/api/rooms/hist/messages?since=999999999');
    assert.deepEqual(r.json, { messages: [], last_id: 999999999 });
    r = await get(base, '/api/rooms/empty-room/messages');
    assert.deepEqual(r.json, { messages: [], last_id: 0 });
    r = await get(base, `/api/rooms/hist/messages?before=${ids[0]}`);
    assert.deepEqual(r.json, { messages: [], last_id: ids[6] });
  });

  test('a client sending back last_id never misses or repeats', async () => {
    let since = 0;
    const seen = [];
    for (;;) {
      const r = await get(base, `/api/rooms/hist/messages?since=${since}&limit=2`);
      if (r.json.messages.length === 0) break;
      seen.push(...r.json.messages.map((m) => m.id));
      since = r.json.last_id;
    }
    assert.deepEqual(seen, ids);
  });

  test('wait without since is ignored; wait=0 answers at once', async () => {
    const t0 = Date.now();
    const r = await get(base, '/api/rooms/hist/messages?wait=30&limit=1');
    assert.equal(r.json.messages.length, 1);
    const r2 = await get(base, `/api/rooms/hist/messages?since=${ids[6]}&wait=0`);
    assert.deepEqual(r2.json.messages, []);
    assert.ok(Date.now() - t0 < 1500);
  });

  test('bad_param for every malformed or out-of-range parameter', async () => {
    const bad = ['since=-1', 'since=abc', 'since=', 'since', 'since=1.5', 'since=9223372036854775808',
      'before=-2', 'limit=0', 'limit=1001', 'limit=x', 'wait=61', 'wait=-1', 'since=1&before=5',
      'since=1&since=2', 'limit=%zz', 'since=%2B1', 'since= 1', 'wait=1e1'];
    for (const q of bad) {
      await rejects(400, 'bad_param', () => get(base, `/api/rooms/hist/messages?${q}`));
      await rejects(400, 'bad_param', () => get(base, `/api/rooms/hist/events?${q}`));
    }
    // checked even where it has no effect
    await rejects(400, 'bad_param', () => get(base, '/api/rooms/hist/messages?wait=99'));
    const many = Array.from({ length: 40 }, (_, i) => `p${i}=1`).join('&');
    await rejects(400, 'bad_param', () => get(base, `/api/rooms/hist/messages?${many}`));
    await rejects(400, 'bad_param', () => get(base, `/api/rooms/hist/messages?since=${'1'.repeat(5000)}`));
  });

  test('parameters at their edges are accepted', async () => {
    for (const q of ['since=0', 'since=9223372036854775807', 'limit=1', 'limit=1000', 'wait=0', 'since=007', 'since=%31', 'x=y&limit=5&', '_=123']) {
      const r = await get(base, `/api/rooms/hist/messages?${q}`);
      assert.equal(r.status, 200, `${q}: ${r.text}`);
    }
  });

  test('wait above the server maximum is lowered to it', async () => {
    const t0 = Date.now();
    const r = await get(base, `/api/rooms/hist/messages?since=${ids[6]}&wait=60`);
    const took = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { messages: [], last_id: ids[6] });
    assert.ok(took >= 1900 && took < 5000, `held ${took} ms, configured maximum 2 s`);
  });

  test('bad_room on read', async () => {
    await rejects(400, 'bad_room', () => get(base, '/api/rooms/bad%21room/messages'));
  });
});

describe('rooms and health', () => {
  test('rooms lists name, last_id and count', async () => {
    await send(base, 'count-me', 'a', '1');
    const last = (await send(base, 'count-me', 'a', '2')).json.id;
    const r = await get(base, '/api/rooms');
    assert.equal(r.status, 200);
    assertJsonAnswer(r);
    const room = r.json.rooms.find((x) => x.name === 'count-me');
    assert.deepEqual(room, { name: 'count-me', last_id: last, messages: 2 });
    assert.ok(!r.json.rooms.some((x) => x.name === 'empty-room'));
  });

  test('health reports the newest id', async () => {
    const last = (await send(base, 'lobby', 'a', 'x')).json.id;
    const r = await get(base, '/api/health');
    assert.equal(r.status, 200);
    assertJsonAnswer(r);
    assert.deepEqual(r.json, { status: 'ok', last_id: last });
  });

  test('the history view shows messages with a readable UTC time', async () => {
    const m = (await send(base, 'view', 'vic', 'seen in sqlite3')).json;
    const row = srv.sql(`SELECT * FROM history WHERE id = ${m.id}`).trim().split('|');
    assert.equal(row[1], 'view');
    assert.equal(row[2], 'vic');
    assert.equal(row[3], 'seen in sqlite3');
    assert.equal(row[4], new Date(m.ts).toISOString().replace('T', ' ').replace('Z', ''));
  });
});
