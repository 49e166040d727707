// ws.test.mjs - GET /api/rooms/{room}/ws (API.md, "WebSocket") through a
// real web server (FCGICHAT_FRONTEND; nothing here is lighttpd's but where
// a test says so) and real workers, with a real WebSocket client (npm ws):
// the handshake and every refusal before it, the cursor (the backlog, then
// live, each message once), limited and delete frames, sends answered
// with ack or error exactly as a POST is answered, sends crossing to and
// from the other transports, the Origin check and the per-address limits,
// keepalives, the lifetime close and resuming after it, 1000 clients
// woken by one send, and clients that vanish leaving nothing behind.
// Hand-made frames and close codes: ws-frames.test.mjs.
import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, waitFor, BIN, FRONTEND, setSoftFileLimit, softFileLimit } from '../lib/server.mjs';
import { get, send, openEvents, waitingNow } from '../lib/http.mjs';
import { openWs, rawWs, acceptFor, wsPath, upgradeHeaders, upgradeRequest, WsFollower, OP } from '../lib/ws.mjs';

// mod_fcgid starts and ends worker processes as it likes: their
// descriptors are counted only where the set of workers is fixed.
const fixedWorkers = FRONTEND !== 'apache-fcgid';

// Every client a test opened: each test's end ends those it left open.
const clients = new Set();
afterEach(() => {
  for (const c of clients) c.destroy();
  clients.clear();
});

// A WebSocket to server's room, open (or refused: see status).
async function ws(server, room, opts) {
  const c = openWs(server.url, room, opts);
  clients.add(c);
  return c.opened;
}
// A WebSocket that must open.
async function wsOpen(server, room, opts) {
  const c = await ws(server, room, opts);
  assert.equal(c.status, 101, `${room}: ${c.describe()} ${c.refused?.text ?? ''}`);
  assert.equal(c.closed, false, `${room}: closed at once: ${c.describe()}`);
  return c;
}
// Closes c and waits until it has ended.
async function shut(c) {
  c.close(1000);
  await c.done;
}
// What came but keepalives (which come when they will).
const seen = (c) => c.frames.filter((f) => f.type !== 'keepalive');
// The rows of the database.
const count = (server) => Number(server.sql('SELECT count(*) FROM messages').trim());
// Runs `fcgichat.fcgi admin ARGS` on server's database.
function admin(server, args, env = {}) {
  return spawnSync(BIN, ['admin', ...args], {
    env: { ...process.env, FCGICHAT_DB: server.dbPath, ...env }, encoding: 'utf8', timeout: 30000,
  });
}
// Sends a last message and waits until each client has it: a connection
// gets a room's messages in order, so whatever it was owed before has come
// by then, and its messages can be compared whole (nothing more, nothing
// twice).
async function fence(server, room, ...cs) {
  const r = await send(server.url, room, 'fence', 'fence');
  assert.equal(r.status, 201, r.text);
  await Promise.all(cs.map((c) => c.until((x) => x.ids().includes(r.json.id), 10000, `the fence ${r.json.id}`)));
  return r.json;
}
// The stats' WebSockets waiting, once it is n: other processes publish
// their counts every 500 ms.
async function wsWaiting(server, n, timeout = 10000) {
  await waitFor(async () => (await waitingNow(server.url)).ws === n,
    { timeout, what: `waiting.ws to be ${n}` });
}
// The workers' own WebSocket sockets (ws-N.sock): in the server's dir
// (lighttpd) or a directory of it (apache-proxy's ws-proxy/); none where
// the test cannot find them.
function wsSockets(server) {
  const dirs = [server.dir, ...fs.readdirSync(server.dir, { withFileTypes: true })
    .filter((e) => e.isDirectory()).map((e) => path.join(server.dir, e.name))];
  return dirs.flatMap((d) => fs.readdirSync(d).filter((f) => /^ws-\d+\.sock$/.test(f)).map((f) => path.join(d, f)));
}

// A request refused before any upgrade: plain HTTP, status and the API's
// error body with code.
function assertRefused(r, status, code, what) {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8', what);
  assert.equal(r.headers['cache-control'], 'no-store', what);
  assert.equal(r.json?.error?.code, code, `${what}: ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 10, what);
}

describe('on one server', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer({ procs: 2, env: { FCGICHAT_MAX_WAIT: '20' } });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });
  const sendJson = (room, text, extra) => send(base, room, 'n', text, extra).then((r) => {
    assert.equal(r.status, 201, r.text);
    return r.json;
  });

  describe('handshake', () => {
    test('101 with the right Sec-WebSocket-Accept, no extension, no subprotocol', async () => {
      const c = await rawWs(srv.port, wsPath('hs'), {
        headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits', 'Sec-WebSocket-Protocol': 'chat' },
      });
      clients.add(c);
      assert.equal(c.status, 101, c.head + c.body);
      assert.equal(c.headers.upgrade.toLowerCase(), 'websocket');
      assert.match(c.headers.connection, /(^|[\s,])upgrade($|[\s,])/i);
      assert.equal(c.headers['sec-websocket-accept'], acceptFor(c.key));
      assert.equal(c.headers['sec-websocket-extensions'], undefined);
      assert.equal(c.headers['sec-websocket-protocol'], undefined);
      c.destroy();
      // RFC 6455 1.3's own example.
      const ex = await rawWs(srv.port, wsPath('hs'), { headers: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      clients.add(ex);
      assert.equal(ex.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      ex.destroy();
      // Token lists and case: Connection "keep-alive, Upgrade", Upgrade "WebSocket".
      const tokens = await rawWs(srv.port, wsPath('hs'), { headers: { Connection: 'keep-alive, Upgrade', Upgrade: 'WebSocket' } });
      clients.add(tokens);
      assert.equal(tokens.status, 101, tokens.head + tokens.body);
      tokens.destroy();
      // A client library agrees (it checks the accept value itself), and
      // the stats count it.
      const w = await wsOpen(srv, 'hs');
      await wsWaiting(srv, 1);
      await shut(w);
      assert.equal(w.closeCode, 1000);
      assert.deepEqual(w.problems, []);
    });

    test('426 upgrade_required for a plain GET and each missing or bad upgrade header', async () => {
      const n = count(srv);
      const cases = [
        ['a plain GET', {}],
        ['no Upgrade', upgradeHeaders({ Upgrade: undefined })],
        ['Upgrade: h2c', upgradeHeaders({ Upgrade: 'h2c' })],
        // Apache's mod_proxy_http sends its own Connection: Upgrade
        // when the browser asks to upgrade; the worker's own check is
        // tested on its socket below.
        ...(FRONTEND === 'lighttpd' ? [['no Connection', upgradeHeaders({ Connection: undefined })]] : []),
        ['Sec-WebSocket-Version: 8', upgradeHeaders({ 'Sec-WebSocket-Version': '8' })],
        ['no Sec-WebSocket-Version', upgradeHeaders({ 'Sec-WebSocket-Version': undefined })],
        ['no Sec-WebSocket-Key', upgradeHeaders({ 'Sec-WebSocket-Key': undefined })],
        ['a key of 15 bytes', upgradeHeaders({ 'Sec-WebSocket-Key': Buffer.alloc(15, 1).toString('base64') })],
        ['a key of 17 bytes', upgradeHeaders({ 'Sec-WebSocket-Key': Buffer.alloc(17, 1).toString('base64') })],
        ['a key that is not base64', upgradeHeaders({ 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' })],
      ];
      for (const [what, headers] of cases) {
        const r = await upgradeRequest(base, wsPath('hs'), { headers });
        assertRefused(r, 426, 'upgrade_required', what);
        assert.equal(r.headers.upgrade, 'websocket', what);
      }
      await wsWaiting(srv, 0);
      assert.equal(count(srv), n);
    });

    // lighttpd hands the worker "Connection: close, upgrade" whatever the
    // browser sent with its Upgrade header, so what the worker does with
    // Connection shows only on the worker's own socket.
    test('the worker itself wants the token upgrade in Connection (on its own socket)', async (t) => {
      const socks = wsSockets(srv);
      if (socks.length === 0) return t.skip(`no ws-N.sock in ${srv.dir} with this front end`);
      for (const [connection, status] of [[undefined, 426], ['keep-alive', 426], ['upgrades', 426], ['close', 426],
        ['Upgrade', 101], ['keep-alive, UPGRADE', 101], ['close,upgrade', 101]]) {
        const c = await rawWs(socks[0], wsPath('hs'), { headers: { Connection: connection } });
        clients.add(c);
        assert.equal(c.status, status, `Connection: ${connection}: ${c.head}`);
        if (status !== 101) {
          await c.until((x) => x.ended, 5000, 'the worker to close');
          assert.equal(JSON.parse(c.body).error.code, 'upgrade_required');
        }
        c.destroy();
      }
    });

    // Browsers send no preflight for a WebSocket: the Origin check is the
    // only guard against another site's page opening one with the user's
    // cookies, so it holds without FCGICHAT_ALLOW_ORIGINS too (API.md).
    test('a foreign Origin gets 403 without FCGICHAT_ALLOW_ORIGINS too; the own and none are allowed', async () => {
      const own = new URL(base);
      for (const origin of ['http://evil.example', 'null', `https://${own.host}`]) {
        const r = await upgradeRequest(base, wsPath('org'), { headers: upgradeHeaders({ Origin: origin }) });
        assertRefused(r, 403, 'forbidden', origin);
      }
      for (const origin of [own.origin, undefined]) await shut(await wsOpen(srv, 'org', { origin }));
    });

    test('bad_room, bad_param and method_not_allowed, before any upgrade', async () => {
      const n = count(srv);
      for (const room of ['bad%21room', 'R'.repeat(65), 'd%C3%A9j%C3%A0', 'a.b']) {
        assertRefused(await upgradeRequest(base, wsPath(room), { headers: upgradeHeaders() }), 400, 'bad_room', room);
      }
      for (const since of ['-1', 'abc', '', '1.5', '9223372036854775808', '1&since=2', '%2B1', '1e1']) {
        assertRefused(await upgradeRequest(base, wsPath('hs', since), { headers: upgradeHeaders() }), 400, 'bad_param', `since=${since}`);
      }
      const post = await upgradeRequest(base, wsPath('hs'), { method: 'POST', headers: upgradeHeaders() });
      assertRefused(post, 405, 'method_not_allowed', 'POST');
      assert.equal(post.headers.allow, 'GET');
      await wsWaiting(srv, 0);
      assert.equal(count(srv), n);
    });
  });

  describe('cursor', () => {
    test('without since: only what is sent after the upgrade', async () => {
      const room = 'cur-new';
      await sendJson(room, 'before 1');
      await sendJson(room, 'before 2');
      const c = await wsOpen(srv, room);
      const m = await sendJson(room, 'after');
      const f = await fence(srv, room, c);
      assert.deepEqual(c.messages(), [m, f]);
      assert.deepEqual(seen(c).map((x) => x.type), ['message', 'message']);
    });

    test('since=N: the backlog after N in order, then live, each once', async () => {
      const room = 'cur-since';
      const old = [];
      for (let i = 0; i < 6; i++) old.push(await sendJson(room, `old ${i}`));
      const c = await wsOpen(srv, room, { since: old[1].id });
      await c.until((x) => x.ids().length === 4, 5000, 'the backlog');
      assert.deepEqual(c.messages(), old.slice(2));
      const live = [];
      for (let i = 0; i < 5; i++) live.push(await sendJson(room, `live ${i}`));
      const f = await fence(srv, room, c);
      assert.deepEqual(c.messages(), [...old.slice(2), ...live, f]);
      // since=0: everything; since at the newest: nothing but what comes.
      const all = await wsOpen(srv, room, { since: 0 });
      const none = await wsOpen(srv, room, { since: f.id });
      const g = await fence(srv, room, all, none, c);
      assert.deepEqual(all.ids(), [...old, ...live, f, g].map((m) => m.id));
      assert.deepEqual(none.ids(), [g.id]);
    });

    test('a backlog longer than one read (1500 rows) comes whole, then live', async () => {
      const room = 'cur-long';
      // Rows written with the sqlite3 shell: quicker than 1500 sends.
      srv.sql(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
        INSERT INTO messages(room, nick, text) SELECT '${room}', 'shell', 'row ' || i FROM n`);
      const ids = srv.roomIds(room);
      assert.equal(ids.length, 1500);
      const c = await wsOpen(srv, room, { since: 0 });
      await c.until((x) => x.ids().length >= 1500, 20000, 'the whole backlog');
      const f = await fence(srv, room, c);
      assert.deepEqual(c.ids(), [...ids, f.id]);
      assert.deepEqual(c.messages().slice(0, 2).map((m) => m.text), ['row 1', 'row 2']);
    });

    test('limited first when the cursor is older than what retention kept', async () => {
      const room = 'cur-ret';
      const old = [await sendJson(room, 'a'), await sendJson(room, 'b'), await sendJson(room, 'c')];
      srv.sql(`UPDATE messages SET ts = ts - 3 * 86400000 WHERE room = '${room}'`);
      const pr = admin(srv, ['prune'], { FCGICHAT_RETENTION_DAYS: '1' });
      assert.equal(pr.status, 0, pr.stderr);
      assert.deepEqual(srv.roomIds(room), []);
      const fresh = [await sendJson(room, 'd'), await sendJson(room, 'e')];
      const limited = { type: 'limited', room, pruned_through: old[2].id };
      const behind = await wsOpen(srv, room, { since: old[0].id });
      const zero = await wsOpen(srv, room, { since: 0 });
      const current = await wsOpen(srv, room, { since: old[2].id });
      const fresh0 = await wsOpen(srv, room);
      const f = await fence(srv, room, behind, zero, current, fresh0);
      const msgs = [...fresh, f].map((message) => ({ type: 'message', message }));
      assert.deepEqual(seen(behind), [limited, ...msgs]);
      assert.deepEqual(seen(zero), [limited, ...msgs]);
      assert.deepEqual(seen(current), msgs);
      assert.deepEqual(seen(fresh0), msgs.slice(2));
    });

    test('a deletion comes as a delete frame, live and in a backlog, and moves the cursor', async () => {
      const room = 'cur-mod';
      const keep = await sendJson(room, 'stays');
      const gone = await sendJson(room, 'spam');
      const live = await wsOpen(srv, room);
      const t0 = Date.now();
      const r = admin(srv, ['delete', String(gone.id)]);
      assert.equal(r.status, 0, r.stderr);
      const seq = Number(/tombstone (\d+)/.exec(r.stdout)[1]);
      assert.ok(seq > gone.id);
      const del = { type: 'delete', id: gone.id, room, seq };
      await live.until((x) => x.of('delete').length === 1, 5000, 'the delete frame');
      assert.ok(Date.now() - t0 < 3000, 'woken by the notify file, not a timer');
      // From before both: the one kept, then the deletion (the row is gone).
      const back = await wsOpen(srv, room, { since: keep.id - 1 });
      // From the tombstone on: nothing of either.
      const later = await wsOpen(srv, room, { since: seq });
      const f = await fence(srv, room, live, back, later);
      const fm = { type: 'message', message: f };
      assert.deepEqual(seen(live), [del, fm]);
      assert.deepEqual(seen(back), [{ type: 'message', message: keep }, del, fm]);
      assert.deepEqual(seen(later), [fm]);
    });
  });

  describe('sends', () => {
    test('ack with the stored message, which comes to every connection of the room, the sender too, once', async () => {
      const room = 'snd';
      const a = await wsOpen(srv, room);
      const b = await wsOpen(srv, room);
      const other = await wsOpen(srv, 'snd-other');
      const n = count(srv);
      a.send({ type: 'send', nick: ' alice ', text: 'hi\r\nthere', client_id: 'k1' });
      await a.until((x) => x.of('ack').length === 1, 5000, 'the ack');
      const [ack] = a.of('ack');
      assert.deepEqual(Object.keys(ack).sort(), ['client_id', 'message', 'type']);
      assert.equal(ack.client_id, 'k1');
      // Checked and stored as a POST: nick trimmed, text's CRLF made LF.
      assert.equal(ack.message.nick, 'alice');
      assert.equal(ack.message.text, 'hi\nthere');
      assert.equal(ack.message.room, room);
      assert.deepEqual((await get(base, `/api/rooms/${room}/messages?since=${ack.message.id - 1}&limit=1`)).json.messages, [ack.message]);
      assert.equal(count(srv), n + 1);
      const f = await fence(srv, room, a, b);
      assert.deepEqual(a.messages(), [ack.message, f]);
      assert.deepEqual(b.messages(), [ack.message, f]);
      assert.deepEqual(b.of('ack'), []);
      await fence(srv, 'snd-other', other);
      assert.equal(other.ids().length, 1);
      // Without a client_id, the ack says null.
      b.send({ type: 'send', nick: 'bob', text: 'no id' });
      await b.until((x) => x.of('ack').length === 1, 5000, 'the ack');
      assert.equal(b.of('ack')[0].client_id, null);
      assert.equal(b.of('ack')[0].message.text, 'no id');
    });

    test('the same client_id twice: one message, both acked with it; a POST with it gets it too', async () => {
      const room = 'snd-idem';
      const c = await wsOpen(srv, room);
      const n = count(srv);
      c.send({ type: 'send', nick: 'carol', text: 'once', client_id: 'twice-1' });
      c.send({ type: 'send', nick: 'carol', text: 'a retry may differ', client_id: 'twice-1' });
      await c.until((x) => x.of('ack').length === 2, 5000, 'two acks');
      const [a1, a2] = c.of('ack');
      assert.equal(a1.client_id, 'twice-1');
      assert.deepEqual(a2, a1);
      assert.equal(a1.message.text, 'once');
      assert.equal(count(srv), n + 1);
      const post = await send(base, room, 'carol', 'by POST', { client_id: 'twice-1' });
      assert.equal(post.status, 200, post.text);
      assert.deepEqual(post.json, a1.message);
      const f = await fence(srv, room, c);
      assert.deepEqual(c.messages(), [a1.message, f]);
    });

    test("a connection's sends are stored and answered in the order it sent them", async () => {
      const room = 'snd-order';
      const c = await wsOpen(srv, room);
      const cids = Array.from({ length: 30 }, (_, i) => `order-${i}`);
      for (const [i, cid] of cids.entries()) c.send({ type: 'send', nick: 'o', text: `m${i}`, client_id: cid });
      await c.until((x) => x.of('ack').length === cids.length, 10000, 'every ack');
      assert.deepEqual(c.of('ack').map((a) => a.client_id), cids);
      assert.deepEqual(c.of('ack').map((a) => a.message.text), cids.map((_, i) => `m${i}`));
      const ids = c.of('ack').map((a) => a.message.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      const f = await fence(srv, room, c);
      assert.deepEqual(c.ids(), [...ids, f.id]);
    });

    test('each refusal is an error frame with the code a POST gets; nothing stored, the connection stays', async () => {
      const room = 'snd-bad';
      const c = await wsOpen(srv, room);
      const n = count(srv);
      const ok = { type: 'send', nick: 'n', text: 't' };
      const cases = [
        ['not JSON', 'nope', 'bad_json', null],
        ['an array', '[]', 'bad_json', null],
        ['a string', '"send"', 'bad_json', null],
        ['a number', '42', 'bad_json', null],
        ['null', 'null', 'bad_json', null],
        ['two objects', '{"type":"send","nick":"n","text":"t"} {}', 'bad_json', null],
        ['a cut object', '{"type":"send","nick":"n","text":"t"', 'bad_json', null],
        ['no type', { nick: 'n', text: 't', client_id: 'e1' }, 'bad_param', 'e1'],
        ['another type', { ...ok, type: 'join', client_id: 'e2' }, 'bad_param', 'e2'],
        ['"SEND"', { ...ok, type: 'SEND', client_id: 'e3' }, 'bad_param', 'e3'],
        ['a type that is no string', { ...ok, type: 1 }, 'bad_param', null],
        ['no nick', { type: 'send', text: 't', client_id: 'e4' }, 'bad_nick', 'e4'],
        ['a blank nick', { ...ok, nick: ' \u3000 ', client_id: 'e5' }, 'bad_nick', 'e5'],
        ['a nick of 33 characters', { ...ok, nick: '😀'.repeat(33) }, 'bad_nick', null],
        ['a nick that is a number', { ...ok, nick: 42 }, 'bad_nick', null],
        ['no text', { type: 'send', nick: 'n', client_id: 'e6' }, 'bad_text', 'e6'],
        ['an empty text', { ...ok, text: '' }, 'bad_text', null],
        ['a text of 4001 characters', { ...ok, text: 'x'.repeat(4001) }, 'bad_text', null],
        ['a text with NUL', { ...ok, text: 'a\u0000b' }, 'bad_text', null],
        ['a text with a lone surrogate', '{"type":"send","nick":"n","text":"\\udc00","client_id":"e7"}', 'bad_text', 'e7'],
        ['a text that is an array', { ...ok, text: ['t'] }, 'bad_text', null],
        ['an empty client_id', { ...ok, client_id: '' }, 'bad_client_id', null],
        ['a client_id with a space', { ...ok, client_id: 'a b' }, 'bad_client_id', null],
        ['a client_id of 65', { ...ok, client_id: 'x'.repeat(65) }, 'bad_client_id', null],
        ['a client_id that is a number', { ...ok, client_id: 7 }, 'bad_client_id', null],
      ];
      for (const [i, [what, frame, code, clientId]] of cases.entries()) {
        c.send(frame);
        await c.until((x) => x.of('error').length === i + 1, 5000, `the error for ${what}`);
        const e = c.of('error')[i];
        assert.deepEqual(Object.keys(e).sort(), ['client_id', 'error', 'type'], what);
        assert.equal(e.error.code, code, `${what}: ${JSON.stringify(e)}`);
        assert.equal(e.client_id, clientId, what);
        assert.ok(typeof e.error.message === 'string' && e.error.message.length > 10, what);
      }
      assert.equal(count(srv), n);
      assert.deepEqual(c.of('ack'), []);
      // Still open, and a good send goes through.
      c.send({ ...ok, client_id: 'after-errors' });
      await c.until((x) => x.of('ack').length === 1, 5000, 'the ack after the errors');
      assert.equal(c.closed, false);
      assert.equal(count(srv), n + 1);
      assert.deepEqual(c.problems, []);
    });

    test('a message of FCGICHAT_MAX_BODY bytes is read; one byte more closes with 1009, storing nothing', async () => {
      const room = 'snd-big';
      const cap = 16384;   // the default FCGICHAT_MAX_BODY
      const frame = (size, cid) => {
        const base0 = JSON.stringify({ type: 'send', nick: 'n', text: 'edge', client_id: cid, pad: '' });
        const f = JSON.stringify({ type: 'send', nick: 'n', text: 'edge', client_id: cid, pad: 'x'.repeat(size - base0.length) });
        assert.equal(Buffer.byteLength(f), size);
        return f;
      };
      const c = await wsOpen(srv, room);
      c.send(frame(cap, 'at-cap'));
      await c.until((x) => x.of('ack').length === 1, 5000, 'the ack of a message at the cap');
      const n = count(srv);
      c.send(frame(cap + 1, 'over-cap'));
      await c.until((x) => x.closed, 5000, 'the close');
      assert.equal(c.closeCode, 1009);
      assert.equal(count(srv), n);
      assert.equal(srv.sql("SELECT count(*) FROM messages WHERE client_id = 'over-cap'").trim(), '0');
    });
  });

  describe('across transports', () => {
    test('a POST reaches WebSockets parked in every worker', async () => {
      const room = 'x-post';
      const cs = await Promise.all(Array.from({ length: 20 }, () => wsOpen(srv, room)));
      // lighttpd spreads them over its workers' sockets.
      if (FRONTEND === 'lighttpd') {
        await waitFor(async () => (await get(base, '/api/stats')).json.processes.every((p) => p.waiting_ws > 0),
          { what: 'WebSockets parked in every worker' });
      }
      const m = (await send(base, room, 'poster', 'by POST')).json;
      const f = await fence(srv, room, ...cs);
      for (const c of cs) assert.deepEqual(c.messages(), [m, f]);
      await Promise.all(cs.map(shut));
    });

    test('a WebSocket send reaches event streams and long-polls', async () => {
      const room = 'x-ws';
      const since = (await get(base, `/api/rooms/${room}/messages`)).json.last_id;
      const es = openEvents(base, room);
      await es.until((x) => x.retry !== null);
      const lp = get(base, `/api/rooms/${room}/messages?since=${since}&wait=15`);
      await waitFor(async () => (await waitingNow(base)).longpoll >= 1, { what: 'the long-poll parked' });
      const c = await wsOpen(srv, room);
      c.send({ type: 'send', nick: 'ws', text: 'to everyone', client_id: 'x1' });
      await c.until((x) => x.of('ack').length === 1 && x.ids().length === 1, 5000, 'ack and message');
      const m = c.of('ack')[0].message;
      assert.deepEqual(c.messages(), [m]);
      const answer = await lp;
      assert.deepEqual(answer.json, { messages: [m], last_id: m.id });
      await es.until((x) => x.events.length === 1);
      assert.equal(es.events[0].id, String(m.id));
      assert.deepEqual(es.events[0].json, m);
      es.close();
    });
  });

  describe('many and vanishing', () => {
    test('1000 WebSockets all get one send, once, within 10 s', { timeout: 120000 }, async (t) => {
      const room = 'fan-ws';
      const N = 1000;
      const t0 = Date.now();
      const cs = await Promise.all(Array.from({ length: N }, () => ws(srv, room)));
      const refused = cs.filter((c) => c.status !== 101 || c.closed);
      assert.equal(refused.length, 0, `not opened: ${refused.slice(0, 3).map((c) => c.describe()).join('; ')}`);
      await wsWaiting(srv, N, 20000);
      const tOpen = Date.now() - t0;
      const t1 = Date.now();
      const m = (await send(base, room, 'fan', 'to all')).json;
      await Promise.all(cs.map((c) => c.until((x) => x.ids().length === 1, 10000, 'the send')));
      const took = Date.now() - t1;
      const f = await fence(srv, room, ...cs);
      for (const c of cs) assert.deepEqual(c.ids(), [m.id, f.id]);
      t.diagnostic(`${N} opened in ${tOpen} ms; one send reached all in ${took} ms`);
      assert.ok(took < 10000, `took ${took} ms`);
      for (const c of cs) c.destroy();
      await wsWaiting(srv, 0, 20000);
    });

    test('clients that vanish (socket destroyed) leave no waiter and no descriptor', { timeout: 60000 }, async () => {
      const room = 'gone-ws';
      await wsWaiting(srv, 0, 20000);
      // What the workers hold now is the baseline: behind Apache a
      // connection the web server keeps open may outlive the earlier
      // tests (lighttpd: none).
      if (FRONTEND === 'lighttpd') await srv.quiet();
      const conns0 = srv.connections();
      const fds0 = srv.workerFds();
      const n = count(srv);
      // Idle ones; ones amid a fragmented message (the worker holds its
      // start), or amid a frame header; ones that leave with a send on its
      // way to the database.
      const idle = await Promise.all(Array.from({ length: 60 }, () => wsOpen(srv, room)));
      const raws = [];
      for (let i = 0; i < 20; i++) {
        const r = await rawWs(srv.port, wsPath(room));
        clients.add(r);
        assert.equal(r.status, 101);
        if (i % 2) r.send(OP.TEXT, '{"type":"send","nick":"n",', { fin: false });
        else r.write(Buffer.from([0x81, 0xfe, 0x01]));
        raws.push(r);
      }
      const senders = await Promise.all(Array.from({ length: 20 }, () => wsOpen(srv, room)));
      await wsWaiting(srv, 100);
      senders.forEach((c, i) => c.send({ type: 'send', nick: 'leaver', text: `sent ${i}`, client_id: `leave-${i}` }));
      for (const c of [...idle, ...raws, ...senders]) c.destroy();
      await wsWaiting(srv, 0);
      await waitFor(() => srv.connections() <= conns0 && (!fixedWorkers || srv.workerFds() <= fds0),
        { timeout: 10000, what: () => `descriptors back to ${fds0} (${srv.workerFds()} now, ${srv.connections()} connections)` });
      // A send that reached the worker is stored once, even if its sender
      // left (one may still be on its way: counted in one query).
      assert.equal(srv.sql("SELECT count(*) FROM messages WHERE nick != 'leaver'").trim(), String(n));
      const [rows, ids] = srv.sql("SELECT count(*), count(DISTINCT client_id) FROM messages WHERE nick = 'leaver'").trim().split('|');
      assert.equal(rows, ids);
      // And the workers go on: a new one gets a send.
      const c = await wsOpen(srv, room);
      await fence(srv, room, c);
      await shut(c);
    });
  });
});

describe('origins and per-address limits', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer({
      procs: 2,
      env: {
        FCGICHAT_ALLOW_ORIGINS: 'http://good.example https://also.example',
        FCGICHAT_MAX_WAITING: '3', FCGICHAT_SEND_RATE: '1', FCGICHAT_SEND_BURST: '3',
      },
    });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('a foreign Origin gets 403 before any upgrade; the own, listed and no Origin are allowed', async () => {
    const own = new URL(base);
    for (const origin of ['http://evil.example', 'null', `https://${own.host}`, 'http://good.example.evil', 'http://GOOD.example']) {
      const r = await upgradeRequest(base, wsPath('org'), { headers: upgradeHeaders({ Origin: origin }) });
      assertRefused(r, 403, 'forbidden', origin);
    }
    for (const origin of ['http://good.example', 'https://also.example', own.origin, undefined]) {
      const c = await wsOpen(srv, 'org', { origin });
      await shut(c);
    }
    await wsWaiting(srv, 0);
  });

  test('sends share the per-address rate with POSTs: rate_limited past the burst, nothing stored for it', async () => {
    const room = 'rate';
    const c = await wsOpen(srv, room);
    const n = count(srv);
    const t0 = Date.now();
    for (let i = 0; i < 8; i++) c.send({ type: 'send', nick: 'r', text: `m${i}`, client_id: `rate-${i}` });
    await c.until((x) => x.of('ack').length + x.of('error').length === 8, 10000, 'eight answers');
    const post = await send(base, room, 'r', 'by POST');
    const took = (Date.now() - t0) / 1000;
    const acks = c.of('ack');
    const errors = c.of('error');
    for (const e of errors) {
      assert.equal(e.error.code, 'rate_limited');
      assert.match(e.client_id, /^rate-\d$/);
    }
    const passed = acks.length + (post.status === 201 ? 1 : 0);
    // A burst of 3, refilled one a second.
    assert.ok(acks.length >= 3 && passed <= 3 + Math.ceil(took), `${passed} sends passed a burst of 3 in ${took} s`);
    assert.ok(errors.length >= 1);
    assert.equal(count(srv), n + passed);
    // The acknowledged ones are those stored; each refused client_id is not.
    for (const a of acks) assert.equal(srv.sql(`SELECT count(*) FROM messages WHERE client_id = '${a.client_id}'`).trim(), '1');
    for (const e of errors) assert.equal(srv.sql(`SELECT count(*) FROM messages WHERE client_id = '${e.client_id}'`).trim(), '0');
    assert.equal(c.closed, false);
    await shut(c);
  });
  test('the waiting cap counts WebSockets with long-polls and streams: 429 past it, a freed slot is taken again', async () => {
    const room = 'cap';
    await wsWaiting(srv, 0);
    const since = (await get(base, `/api/rooms/${room}/messages`)).json.last_id;
    const held = await wsOpen(srv, room);
    const es = openEvents(base, room);
    await es.until((x) => x.retry !== null);
    const lp = get(base, `/api/rooms/${room}/messages?since=${since}&wait=20`);
    await waitFor(async () => (await waitingNow(base)).total === 3, { what: 'one of each waiting' });
    // The fourth of any kind is refused.
    const r = await upgradeRequest(base, wsPath(room), { headers: upgradeHeaders() });
    assertRefused(r, 429, 'rate_limited', 'a fourth waiting request, a WebSocket');
    assert.ok(Number(r.headers['retry-after']) >= 1);
    const refusedWs = await ws(srv, room);
    assert.equal(refusedWs.status, 429);
    await refusedWs.done;
    const es2 = openEvents(base, room);
    await es2.until((x) => x.ended);
    assert.equal(es2.status, 429);
    assert.equal((await get(base, `/api/rooms/${room}/messages?since=${since}&wait=5`)).status, 429);
    // The WebSocket leaves: its slot serves another WebSocket.
    await shut(held);
    const again = await waitFor(async () => {
      const c = await ws(srv, room);
      if (c.status === 101) return c;
      return false;
    }, { timeout: 5000, what: 'a freed slot' });
    // A row wakes the three (written with the sqlite3 shell: the send
    // rate's burst is the test before's).
    srv.sql(`INSERT INTO messages(room, nick, text) VALUES ('${room}', 'shell', 'wake')`);
    const [m] = srv.sql(`SELECT id FROM messages WHERE room = '${room}'`).trim().split('\n').map(Number);
    assert.deepEqual((await lp).json.messages.map((x) => x.id), [m]);
    await again.until((x) => x.ids().length === 1, 5000, 'the row');
    await es.until((x) => x.events.length === 1);
    es.close();
    await shut(again);
  });

});

// A burst of upgrades (every open page reconnecting after a restart)
// waits its turn: past MAX_HANDSHAKES (src/ws_accept.c) heads being read
// at once, the worker stops accepting and leaves the rest in its socket's
// listen backlog, instead of closing them; each is taken when a handshake
// ends.
describe('a burst of upgrades', () => {
  const MAX_HANDSHAKES = 1024;
  let srv;
  before(async () => { srv = await startServer({ procs: 1 }); });
  after(async () => { await srv?.cleanup(); });

  test(`past ${MAX_HANDSHAKES} heads being read, upgrades wait in the backlog and each opens once a slot frees`, async (t) => {
    const [sock] = wsSockets(srv);
    if (!sock) return t.skip(`no ws-N.sock in ${srv.dir} with this front end`);
    const need = MAX_HANDSHAKES + 100;
    const [worker] = srv.workers();
    if (softFileLimit() < need || softFileLimit(worker) < need) {
      return t.skip(`open files limit below ${need} (ulimit -n)`);
    }
    const conns0 = srv.connections();
    const queued0 = srv.queued();
    const K = 3;   // whole upgrades behind the idle ones
    // Web server connections that send half a head and wait: each holds a
    // slot until the worker's head deadline (10 s), far past this test.
    const idle = await Promise.all(Array.from({ length: MAX_HANDSHAKES }, () => new Promise((resolve, reject) => {
      const s = net.connect({ path: sock }, () => {
        s.write(`GET ${wsPath('burst')} HTTP/1.1\r\n`);
        resolve(s);
      });
      s.once('error', reject);
    })));
    try {
      await waitFor(() => srv.connections() >= conns0 + MAX_HANDSHAKES,
        { what: () => `the worker to take ${MAX_HANDSHAKES} (${srv.connections() - conns0} now)` });
      // The upgrades behind them: not answered, not closed, queued.
      const settled = new Array(K).fill(false);
      const ups = Array.from({ length: K }, (_, i) => rawWs(sock, wsPath('burst')).then((c) => {
        settled[i] = true;
        clients.add(c);
        return c;
      }));
      await waitFor(() => settled.some(Boolean) || srv.queued() >= queued0 + K,
        { what: () => `${K} upgrades in the backlog (${srv.queued() - queued0} queued)` });
      assert.deepEqual(settled, new Array(K).fill(false), 'an upgrade past the cap was answered or closed at once');
      // A slot each: every one opens.
      for (const s of idle.slice(0, K)) s.destroy();
      for (const c of await Promise.all(ups)) {
        assert.equal(c.status, 101, c.status ? `${c.head}${c.body}` : 'closed by the worker without an answer');
        assert.equal(c.headers['sec-websocket-accept'], acceptFor(c.key));
      }
      assert.ok(!srv.log().includes('too many handshakes'), 'the worker refused a connection');
    } finally {
      for (const s of idle) s.destroy();
    }
    // And the worker lets them all go.
    await waitFor(() => srv.connections() <= conns0 + K,
      { what: () => `the idle ones freed (${srv.connections() - conns0} left)` });
  });

  // Out of descriptors, accept fails and the connection stays queued, so
  // the socket stays readable: a door that waited on it again at once
  // would spin a core until a descriptor freed. It pauses instead, and
  // takes the upgrade when it can.
  test('out of descriptors, the door waits without spinning and takes the upgrade once it can', async (t) => {
    if (spawnSync('prlimit', ['--version']).status !== 0) return t.skip('no prlimit (util-linux)');
    const own = await startServer({ procs: 1 });
    try {
      const [sock] = wsSockets(own);
      if (!sock) return t.skip(`no ws-N.sock in ${own.dir} with this front end`);
      const [worker] = own.workers();
      const limit = softFileLimit(worker);
      // The soft limit only (raising a hard limit back needs
      // CAP_SYS_RESOURCE), down to 3: no new descriptor at all, while
      // the ones open (above 3) go on working.
      const setLimit = (n) => assert.equal(setSoftFileLimit(worker, n === Infinity ? 'unlimited' : n), '');
      const cpu = () => fs.readFileSync(`/proc/${worker}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
        .slice(11, 13).reduce((a, b) => a + Number(b), 0) / 100;   // USER_HZ
      let up;
      setLimit(3);
      try {
        let settled = false;
        // Waits in the queue: the door cannot accept it.
        up = rawWs(sock, wsPath('nofd')).then((c) => { settled = true; return c; });
        await waitFor(() => own.log().includes('ws_accept: accept'), { what: 'the door to say it is out of descriptors' });
        // A second of it: a spinning door thread would use about all of it.
        const t0 = cpu(), w0 = Date.now();
        await new Promise((r) => setTimeout(r, 1000));
        const spent = cpu() - t0, wall = (Date.now() - w0) / 1000;
        assert.ok(spent < 0.3 * wall, `the worker used ${spent} s of CPU in ${wall} s while out of descriptors`);
        assert.equal(settled, false, 'the upgrade was answered without a descriptor');
      } finally {
        setLimit(limit);
      }
      const c = await up;
      clients.add(c);
      assert.equal(c.status, 101, c.status ? `${c.head}${c.body}` : 'closed without an answer');
      assert.equal(c.headers['sec-websocket-accept'], acceptFor(c.key));
    } finally {
      await own.cleanup();
    }
  });
});

describe('idle, lifetime, shutdown', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer({ procs: 2, env: { FCGICHAT_KEEPALIVE: '1', FCGICHAT_SSE_LIFETIME: '3' } });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('while idle, a ping and a keepalive frame every FCGICHAT_KEEPALIVE seconds', async () => {
    const c = await wsOpen(srv, 'idle');
    await c.until((x) => x.pings >= 2 && x.of('keepalive').length >= 2, 5000, 'two pings and two keepalives (1 s apart)');
    assert.deepEqual(c.of('keepalive')[0], { type: 'keepalive' });
    // On the wire: an empty ping, then the frame.
    const r = await rawWs(srv.port, wsPath('idle'));
    clients.add(r);
    await r.until((x) => x.frames.length >= 2, 5000, 'a ping and a keepalive');
    assert.deepEqual(r.frames.slice(0, 2).map((f) => [f.fin, f.rsv, f.op, f.masked, f.payload.toString()]),
      [[true, 0, OP.PING, false, ''], [true, 0, OP.TEXT, false, '{"type":"keepalive"}']]);
    r.destroy();
    await shut(c);
  });

  test('closed with 1001 after FCGICHAT_SSE_LIFETIME; resuming with since loses nothing', { timeout: 60000 }, async () => {
    const room = 'life';
    const t0 = Date.now();
    const c = await wsOpen(srv, room);
    await c.until((x) => x.closed, 8000, 'the end of its lifetime (3 s)');
    assert.equal(c.closeCode, 1001);
    assert.ok(Date.now() - t0 >= 2500, `closed after ${Date.now() - t0} ms`);
    // Senders send across several lifetimes; followers resume each time.
    const followers = Array.from({ length: 5 }, () => new WsFollower(base, room, 0));
    await waitFor(() => followers.every((f) => f.open), { what: 'followers open' });
    const sent = [];
    const end = Date.now() + 7000;
    while (Date.now() < end) {
      sent.push((await send(base, room, 's', `at ${Date.now()}`)).json.id);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => followers.every((f) => f.ids.length >= sent.length), { timeout: 10000, what: 'followers to catch up' });
    for (const f of followers) f.stop();
    await Promise.all(followers.map((f) => f.done));
    for (const f of followers) {
      assert.deepEqual(f.ids, sent);
      assert.ok(f.ends >= 2, `resumed ${f.ends} times`);
      assert.ok(f.closes.get(1001) >= 2, `closes ${JSON.stringify([...f.closes])}`);
    }
  });

  // API.md: "worker shutdown or the stream lifetime 1001": an ending
  // worker has the watcher close its WebSockets (hub_stop) before it
  // exits, so a browser can tell a shutdown from a failure.
  // lighttpd starts new workers; behind Apache the test's worker (proxy)
  // or mod_fcgid's (started on demand) would not come back for the tests
  // after it.
  test('a worker that stops closes its WebSockets with 1001', {
    skip: FRONTEND !== 'lighttpd' && 'only lighttpd restarts the workers it stops',
  }, async () => {
    const cs = await Promise.all(Array.from({ length: 4 }, () => wsOpen(srv, 'stop')));
    const workers = srv.workers();
    for (const w of workers) process.kill(w, 'SIGTERM');
    await Promise.all(cs.map((c) => c.until((x) => x.closed, 10000, 'the close')));
    await waitFor(() => srv.workers().length === workers.length && srv.workers().every((w) => !workers.includes(w)),
      { what: 'new workers' });
    assert.deepEqual(cs.map((c) => c.closeCode), cs.map(() => 1001));
  });
});
