// identity.test.mjs - who sent a message, from the web server
// (src/identity.h): behind a Basic login (startServer({ auth })) on the
// front end of FCGICHAT_FRONTEND, a message carries "user" and the user
// name as its nick on every transport and in history, whatever the
// client claims (a body nick, REMOTE_USER-like headers, X-Remote-User or
// Forwarded on the WebSocket path); without a login nothing changes; a
// database of schema 2 with messages in it upgrades in place.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, USERS, FRONTEND, ROOT, BIN } from '../lib/server.mjs';
import { get, send, request, openEvents } from '../lib/http.mjs';
import { openWs, rawWs } from '../lib/ws.mjs';
import { STORE, pgDatabase, psql } from '../lib/pg.mjs';

// Headers a client might send hoping to be taken for bob.
const FORGED = {
  'Remote-User': 'bob', 'X-Remote-User': 'bob', REMOTE_USER: 'bob',
  'Remote_User': 'bob', Forwarded: 'for=192.0.2.1;remote_user=bob',
};

// A user name of 40 code points (56 bytes): longer than a chosen nick may be.
const LONG = 'Zoë-' + 'ü'.repeat(15) + 'x'.repeat(21);

// The "user" column of the history view (quoted on PostgreSQL).
const USER_COL = STORE === 'postgresql' ? '"user"' : 'user';

describe(`signed in behind ${FRONTEND}`, () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer({ auth: [...USERS, LONG] });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('GET /api/me names the user the web server signed in', async () => {
    for (const u of [...USERS, LONG]) {
      const r = await get(base, '/api/me', { auth: u });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { user: u });
      assert.match(r.headers['content-type'], /^application\/json/);
    }
    assert.equal((await get(base, '/api/me', { auth: 'alice', headers: FORGED })).json.user, 'alice');
  });

  test('a POST carries the user and its name as nick on every transport and in history; a body nick and forged headers change nothing', async () => {
    const room = 'who';
    const lp = get(base, `/api/rooms/${room}/messages?since=0&wait=30`, { auth: 'bob' });
    const sse = openEvents(base, room, { since: 0, auth: 'carol' });
    const ws = openWs(base, room, { since: 0, auth: 'bob' });
    await sse.opened;
    await ws.opened;
    assert.equal(sse.status, 200);
    assert.equal(ws.status, 101, ws.describe());
    const r = await send(base, room, 'mallory', 'from alice', {}, { auth: 'alice', headers: FORGED });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.user, 'alice');
    assert.equal(r.json.nick, 'alice');
    const want = { id: r.json.id, nick: 'alice', user: 'alice', text: 'from alice' };
    const pick = (m) => ({ id: m.id, nick: m.nick, user: m.user, text: m.text });

    const polled = await lp;
    assert.equal(polled.status, 200);
    assert.deepEqual(polled.json.messages.map(pick), [want]);
    await sse.until((s) => s.events.length >= 1, 20000, 'the event');
    assert.deepEqual(pick(sse.events[0].json), want);
    sse.close();
    await ws.until((c) => c.messages().length >= 1, 20000, 'the frame');
    assert.deepEqual(pick(ws.messages()[0]), want);
    ws.close();
    const read = await get(base, `/api/rooms/${room}/messages`, { auth: 'carol' });
    assert.deepEqual(read.json.messages.map(pick), [want]);
    assert.equal(srv.sql(`SELECT ${USER_COL}, nick FROM history WHERE room = '${room}'`).trim(), 'alice|alice');
  });

  test('a WebSocket send is the handshake\'s user, whatever nick the frame names or headers the handshake forged', async () => {
    const room = 'wsw';
    const a = openWs(base, room, { auth: 'alice', headers: { 'X-Remote-User': 'bob', Forwarded: 'for=192.0.2.1;remote_user="bob"' } });
    const b = openWs(base, room, { auth: 'bob' });
    await a.opened;
    await b.opened;
    assert.equal(a.status, 101, a.describe());
    a.send({ type: 'send', nick: 'bob', text: 'hi over ws', client_id: 'w1' });
    await a.until((x) => x.of('ack').length === 1, 20000, 'the ack');
    const [ack] = a.of('ack');
    assert.equal(ack.message.user, 'alice');
    assert.equal(ack.message.nick, 'alice');
    await b.until((x) => x.messages().length === 1, 20000, 'bob\'s frame');
    assert.equal(b.messages()[0].user, 'alice');
    a.close();
    b.close();
    assert.equal(srv.sql(`SELECT ${USER_COL}, nick FROM history WHERE room = '${room}'`).trim(), 'alice|alice');
  });

  test('a frame without a nick is taken from a signed-in user', async () => {
    const a = openWs(base, 'nonick', { auth: 'carol' });
    await a.opened;
    a.send({ type: 'send', text: 'no nick needed', client_id: 'n1' });
    await a.until((x) => x.of('ack').length + x.of('error').length === 1, 20000, 'the answer');
    assert.deepEqual(a.of('error'), []);
    assert.equal(a.of('ack')[0].message.nick, 'carol');
    a.close();
    const r = await send(base, 'nonick', undefined, 'nor here', {}, { auth: 'carol' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.user, 'carol');
  });

  test('a user name longer than a nick may be is the nick in full', async () => {
    const r = await send(base, 'long', 'x', 'long name', {}, { auth: LONG });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.nick, LONG);
    assert.equal(r.json.user, LONG);
  });

  test('a retry with client_id is the same message for the same user', async () => {
    const first = await send(base, 'idem', 'x', 'once', { client_id: 'same' }, { auth: 'alice' });
    const again = await send(base, 'idem', 'y', 'twice', { client_id: 'same' }, { auth: 'alice' });
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.equal(again.json.id, first.json.id);
    assert.equal(again.json.user, 'alice');
    assert.equal(srv.sql(`SELECT count(*) FROM messages WHERE room = 'idem'`).trim(), '1');
  });
});

describe(`anonymous behind ${FRONTEND} (no login in front)`, () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer();
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('GET /api/me is null; headers do not make anyone a user', async () => {
    const r = await get(base, '/api/me', { headers: FORGED });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { user: null });
  });

  test('a send is as before: the chosen nick, no "user" field, whatever headers claim', async () => {
    const r = await send(base, 'anon', 'dave', 'hello', {}, { headers: FORGED });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.nick, 'dave');
    assert.equal('user' in r.json, false);
    const read = await get(base, '/api/rooms/anon/messages');
    assert.equal('user' in read.json.messages[0], false);
    assert.equal(srv.sql(`SELECT coalesce(${USER_COL}, 'NULL'), nick FROM history WHERE room = 'anon'`).trim(), 'NULL|dave');
  });

  test('a WebSocket with a forged X-Remote-User or Forwarded sends anonymously', async () => {
    for (const headers of [{ 'X-Remote-User': 'bob' }, { Forwarded: 'for=192.0.2.1;remote_user=bob' },
      { Forwarded: 'for=192.0.2.1;remote_user="bob"', 'X-Remote-User': 'bob' }]) {
      const c = openWs(base, 'anonws', { headers });
      await c.opened;
      assert.equal(c.status, 101, `${JSON.stringify(headers)}: ${c.describe()}`);
      c.send({ type: 'send', nick: 'eve', text: 'forged?', client_id: `f${Object.keys(headers).length}${headers.Forwarded ? 'f' : ''}` });
      await c.until((x) => x.of('ack').length === 1, 20000, 'the ack');
      const m = c.of('ack')[0].message;
      assert.equal(m.nick, 'eve', JSON.stringify(headers));
      assert.equal('user' in m, false, JSON.stringify(headers));
      c.close();
    }
    assert.equal(srv.sql(`SELECT count(*) FROM messages WHERE ${USER_COL} IS NOT NULL`).trim(), '0');
  });

  test('a malformed user name from a front end is refused at the WebSocket door (403 bad_user), not cut', async (t) => {
    const sock = FRONTEND === 'lighttpd' ? path.join(srv.dir, 'ws-0.sock')
      : FRONTEND === 'apache-proxy' ? path.join(srv.dir, 'ws-proxy', 'ws-0.sock') : null;
    if (!sock || !fs.existsSync(sock)) { t.skip('no worker WebSocket socket to reach directly'); return; }
    for (const bad of ['\u00a0alice', 'alice\u2003', 'a'.repeat(129), 'tab\there', 'x\u0085y']) {
      const c = await rawWs(sock, '/api/rooms/door/ws', { headers: { 'X-Remote-User': bad } });
      assert.equal(c.status, 403, `${JSON.stringify(bad)}: ${c.head}`);
      assert.equal(JSON.parse(c.body).error.code, 'bad_user');
      c.destroy();
    }
    const ok = await rawWs(sock, '/api/rooms/door/ws', { headers: { 'X-Remote-User': 'a'.repeat(128) } });
    assert.equal(ok.status, 101);
    ok.destroy();
  });
});

// One database behind a login, then without one (the same directory or
// PostgreSQL database): a signed-in user and an anonymous sender whose
// nick is that user's name are two senders, also for client_id.
describe('a signed-in user and an anonymous nick of the same name', () => {
  let signed;
  let anon;
  after(async () => {
    await anon?.stop();
    await signed?.cleanup();
  });

  test('the same client_id stores a message for each, each retry finds its own, and the sends around it are unharmed', async () => {
    const room = 'twins';
    signed = await startServer({ auth: true });
    const hers = await send(signed.url, room, 'x', 'from alice', { client_id: 'X' }, { auth: 'alice' });
    assert.equal(hers.status, 201, hers.text);
    assert.equal(hers.json.user, 'alice');
    await signed.stop();

    anon = await startServer({ dir: signed.dir, db: signed.dbPath });
    assert.deepEqual((await get(anon.url, '/api/me')).json, { user: null });
    // Sent together, so that the workers' group commits may put the
    // anonymous alice in one transaction with the others.
    const others = Array.from({ length: 8 }, (_, i) => send(anon.url, room, `n${i}`, `other ${i}`, { client_id: 'X' }));
    const [theirs, ...rest] = await Promise.all([send(anon.url, room, 'alice', 'not alice', { client_id: 'X' }), ...others]);
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal(theirs.json.nick, 'alice');
    assert.equal('user' in theirs.json, false);
    assert.notEqual(theirs.json.id, hers.json.id);
    assert.deepEqual(rest.map((r) => r.status), rest.map(() => 201), rest.map((r) => r.text).join('\n'));
    const again = await send(anon.url, room, 'alice', 'retry', { client_id: 'X' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.id, theirs.json.id);
    assert.equal(again.json.text, 'not alice');
    assert.equal('user' in again.json, false);
    await anon.stop();

    await signed.start();
    const retry = await send(signed.url, room, 'x', 'retry', { client_id: 'X' }, { auth: 'alice' });
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.json.id, hers.json.id);
    assert.equal(retry.json.text, 'from alice');
    assert.equal(retry.json.user, 'alice');
    assert.equal(signed.sql(`SELECT count(*) FROM messages WHERE room = '${room}'`).trim(), '10');
    assert.equal(signed.sql(`SELECT coalesce(${USER_COL}, '-') || ' ' || text FROM history WHERE room = '${room}' AND nick = 'alice' ORDER BY id`).trim().split('\n').join(','),
      'alice from alice,- not alice');
  });
});

// A database as the program of schema 2 left it, with messages in it: the
// shipped migrations 001 and 002 applied by hand.
function schema2(dir) {
  const files = STORE === 'postgresql' ? ['sql/pg/001_init.sql', 'sql/pg/002_moderation.sql'] : ['sql/001_init.sql', 'sql/002_moderation.sql'];
  const sql = files.map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
  const rows = "INSERT INTO messages (room, nick, text, ts) VALUES ('old', 'ann', 'before', 1764100000000), ('old', 'ben', 'people', 1764100000001);";
  if (STORE === 'postgresql') {
    const uri = pgDatabase();
    psql(uri, `${sql}\nCREATE TABLE fcgichat_schema (version integer NOT NULL); INSERT INTO fcgichat_schema VALUES (2);\n${rows}`);
    return { db: uri };
  }
  const db = path.join(dir, 'chat.db');
  execFileSync('sqlite3', [db], { input: `PRAGMA journal_mode=WAL;\n${sql}\nPRAGMA user_version = 2;\n${rows}\n` });
  return { dir };
}

describe('a database of schema 2 with messages', () => {
  let srv;
  after(async () => { await srv?.cleanup(); });

  test('upgrades in place: old messages stay, anonymous; new ones carry the user; history shows both', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-test-'));
    const at = schema2(dir);
    // startServer runs fcgichat --init on it, as an upgrade does.
    srv = await startServer({ ...at, dir, auth: true });
    const version = STORE === 'postgresql' ? 'SELECT version FROM fcgichat_schema' : 'PRAGMA user_version';
    const migrations = fs.readdirSync(path.join(ROOT, STORE === 'postgresql' ? 'sql/pg' : 'sql')).filter((f) => /^\d+_.*\.sql$/.test(f));
    assert.equal(srv.sql(version).trim(), String(migrations.length));
    const old = await get(srv.url, '/api/rooms/old/messages', { auth: 'alice' });
    assert.equal(old.status, 200);
    assert.deepEqual(old.json.messages.map((m) => [m.nick, m.text, 'user' in m]), [['ann', 'before', false], ['ben', 'people', false]]);
    const r = await send(srv.url, 'old', 'x', 'after', {}, { auth: 'alice' });
    assert.equal(r.status, 201, r.text);
    assert.equal(srv.sql(`SELECT coalesce(${USER_COL}, '-') || ' ' || nick || ' ' || text FROM history WHERE room = 'old' ORDER BY id`).trim().split('\n').join(','),
      '- ann before,- ben people,alice alice after');
  });
});
