// hosts.test.mjs - several hosts on one PostgreSQL database: wake-ups
// across hosts (long-poll, event stream, WebSocket, a row inserted with
// psql),
// client_id idempotency across hosts, ids visible in id order under
// concurrent senders on every host, moderation, retention with one
// leader, --check and admin, PostgreSQL restarted under load, and what a
// host shows of its database (never the password; its size; --check of a
// role that may not write).
// Each "host" is a lighttpd with its own workers; they share only the
// database (tests/lib/pg.mjs starts a throwaway cluster).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, waitFor, BIN, SCHEMA } from '../lib/server.mjs';
import { get, send, tryRequest, openEvents } from '../lib/http.mjs';
import { pgDatabase, psql, pgStop, pgStart } from '../lib/pg.mjs';
import { openWs } from '../lib/ws.mjs';

// A wake-up across hosts must come from LISTEN/NOTIFY, well inside the
// watchers' 1-s fallback timer.
const WAKE_BOUND_MS = 500;

const run = (args, env) => spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8' });

describe('two hosts, one database', () => {
  let a, b, db;
  before(async () => {
    db = pgDatabase();
    a = await startServer({ store: 'postgresql', db });
    b = await startServer({ store: 'postgresql', db });
  });
  after(async () => { await a?.cleanup(); await b?.cleanup(); });

  test('a long-poll on A is woken by a send on B', async () => {
    const first = (await send(b.url, 'x', 'bob', 'before')).json;
    const t0 = Date.now();
    const wait = get(a.url, `/api/rooms/x/messages?since=${first.id}&wait=20`);
    await waitFor(async () => (await get(a.url, '/api/stats')).json.waiting.longpoll === 1, { what: 'the long-poll parked on A' });
    const sent = Date.now();
    const m = (await send(b.url, 'x', 'bob', 'across')).json;
    const r = await wait;
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.messages.map((x) => x.id), [m.id]);
    assert.ok(Date.now() - sent < WAKE_BOUND_MS, `woken ${Date.now() - sent} ms after the send (${Date.now() - t0} in all)`);
  });

  test('an event stream on B is woken by a send on A', async () => {
    const s = openEvents(b.url, 'y', { since: 0 });
    await s.opened;
    await waitFor(async () => (await get(b.url, '/api/stats')).json.waiting.sse === 1, { what: 'the stream parked on B' });
    const sent = Date.now();
    const m = (await send(a.url, 'y', 'al', 'hello B')).json;
    await s.until((x) => x.events.length === 1, 5000);
    assert.ok(Date.now() - sent < WAKE_BOUND_MS, `delivered ${Date.now() - sent} ms after the send`);
    assert.equal(s.events[0].json.id ?? s.events[0].json.messages?.[0]?.id, m.id);
    s.close();
  });

  test('a WebSocket on A is woken by a send on B, and its own send reaches B', async () => {
    const c = openWs(a.url, 'wsx');
    await c.opened;
    assert.equal(c.status, 101, c.describe());
    await waitFor(async () => (await get(a.url, '/api/stats')).json.waiting.ws === 1, { what: 'the WebSocket parked on A' });
    const s = openEvents(b.url, 'wsx', { since: 0 });
    await s.opened;
    const sent = Date.now();
    const m = (await send(b.url, 'wsx', 'bob', 'to A')).json;
    await c.until((x) => x.ids().includes(m.id), 5000, 'the message from B');
    assert.ok(Date.now() - sent < WAKE_BOUND_MS, `delivered ${Date.now() - sent} ms after the send`);
    c.send({ type: 'send', nick: 'al', text: 'to B', client_id: 'ws-x1' });
    await c.until((x) => x.of('ack').length === 1, 5000, 'the ack');
    const ack = c.of('ack')[0].message;
    await s.until((x) => x.events.some((e) => e.json?.id === ack.id), 5000);
    c.close(1000);
    await c.done;
    s.close();
  });

  test('who is here across hosts: a person on A is in the list and events of B, and leaves both', async () => {
    // API.md: gone within 5 s of leaving; 3 s more for a busy machine.
    const BOUND = 8000;
    const room = 'herehosts';
    const onB = openEvents(b.url, room, { query: 'presence=0' });
    await onB.opened;
    const last = () => onB.events.filter((e) => e.event === 'presence').at(-1)?.json;
    const t0 = Date.now();
    const person = openWs(a.url, room, { path: `/api/rooms/${room}/ws?nick=zoe` });
    await person.opened;
    assert.equal(person.status, 101, person.describe());
    await onB.until(() => last()?.people.some((p) => p.nick === 'zoe'), BOUND, 'zoe in B\'s presence event');
    const arrived = Date.now() - t0;
    const listB = (await get(b.url, `/api/rooms/${room}/presence`)).json;
    assert.deepEqual(listB.people.map((p) => [p.nick, p.verified]), [['zoe', false]]);
    const t1 = Date.now();
    person.destroy();
    await onB.until(() => last()?.people.length === 0, BOUND, 'zoe gone from B\'s presence event');
    const left = Date.now() - t1;
    assert.deepEqual((await get(a.url, `/api/rooms/${room}/presence`)).json.people, []);
    console.log(`# pg two hosts: presence arrived on B after ${arrived} ms, left after ${left} ms`);
    onB.close();
  });

  test('a row inserted with psql reaches a waiting client at once', async () => {
    const wait = get(a.url, '/api/rooms/shell/messages?since=0&wait=20');
    await waitFor(async () => (await get(a.url, '/api/stats')).json.waiting.longpoll === 1, { what: 'parked' });
    const t0 = Date.now();
    psql(db, "INSERT INTO messages (room, nick, text) VALUES ('shell', 'admin', 'from psql')");
    const r = await wait;
    assert.equal(r.json.messages[0].text, 'from psql');
    assert.ok(Date.now() - t0 < WAKE_BOUND_MS, `${Date.now() - t0} ms`);
    assert.ok(Math.abs(r.json.messages[0].ts - Date.now()) < 60000, 'ts defaults to now');
  });

  test('a retry with the same client_id on the other host stores nothing', async () => {
    const r1 = await send(a.url, 'idem', 'carol', 'once', { client_id: 'c-1' });
    const r2 = await send(b.url, 'idem', 'carol', 'once', { client_id: 'c-1' });
    assert.equal(r1.status, 201);
    assert.equal(r2.status, 200);
    assert.equal(r2.json.id, r1.json.id);
    assert.equal(psql(db, "SELECT count(*) FROM messages WHERE room = 'idem'").trim(), '1');
  });

  test('the same client_id sent to both hosts at once is stored once', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      send(i % 2 ? a.url : b.url, 'idem2', 'dave', 'race', { client_id: 'race-1' })));
    assert.ok(rs.every((r) => r.status === 200 || r.status === 201), rs.map((r) => r.status).join());
    assert.equal(rs.filter((r) => r.status === 201).length, 1);
    assert.equal(new Set(rs.map((r) => r.json.id)).size, 1);
  });

  test('ids become visible in id order: readers on both hosts never see an id below one they passed', async () => {
    const room = 'order';
    const senders = 12, each = 40;
    let done = false;
    const readers = [a, b, a, b].map(async (h) => {
      let cursor = 0;
      const seen = [];
      for (;;) {
        // Only a read begun after every send was acknowledged may end
        // the loop: one begun before may come back empty just before the
        // last commits.
        const last = done;
        const r = await get(h.url, `/api/rooms/${room}/messages?since=${cursor}&limit=500`);
        assert.equal(r.status, 200);
        for (const m of r.json.messages) {
          assert.ok(m.id > cursor, `id ${m.id} after cursor ${cursor}`);
          cursor = m.id;
          seen.push(m.id);
        }
        if (last && r.json.messages.length === 0) break;
      }
      return seen;
    });
    await Promise.all(Array.from({ length: senders }, async (_, i) => {
      for (let k = 0; k < each; k++) {
        const r = await send(i % 2 ? a.url : b.url, room, `s${i}`, `m${k}`);
        assert.equal(r.status, 201);
      }
    }));
    done = true;
    const all = psql(db, `SELECT id FROM messages WHERE room = '${room}' ORDER BY id`).trim().split('\n').map(Number);
    assert.equal(all.length, senders * each);
    for (const seen of await Promise.all(readers)) assert.deepEqual(seen, all, 'a reader missed an id that became visible late');
  });

  test('a deletion on one host reaches a waiting client on the other', async () => {
    const m = (await send(a.url, 'mod', 'eve', 'spam')).json;
    const wait = get(b.url, `/api/rooms/mod/messages?since=${m.id}&wait=20`);
    await waitFor(async () => (await get(b.url, '/api/stats')).json.waiting.longpoll === 1, { what: 'parked' });
    const r = run(['admin', 'delete', String(m.id)], { FCGICHAT_DB: db });
    assert.equal(r.status, 0, r.stderr);
    const w = await wait;
    assert.deepEqual(w.json.deleted, [m.id]);
    assert.equal(psql(db, `SELECT count(*) FROM history WHERE id = ${m.id}`).trim(), '0');
  });

  test('admin export and import, rooms, --check', () => {
    const ex = run(['admin', 'export', 'x'], { FCGICHAT_DB: db });
    assert.equal(ex.status, 0, ex.stderr);
    const lines = ex.stdout.trim().split('\n');
    assert.ok(lines.length >= 2);
    const other = pgDatabase();
    assert.equal(run(['--init'], { FCGICHAT_DB: other }).status, 0);
    const im = spawnSync(BIN, ['admin', 'import'], { env: { ...process.env, FCGICHAT_DB: other }, input: ex.stdout, encoding: 'utf8' });
    assert.equal(im.status, 0, im.stderr);
    assert.equal(psql(other, 'SELECT count(*) FROM messages').trim(), String(lines.length));
    const next = psql(other, "INSERT INTO messages (room, nick, text) VALUES ('x', 'n', 't') RETURNING id").trim();
    assert.ok(Number(next) > Math.max(...lines.map((l) => JSON.parse(l).id)), 'the sequence stays ahead of imported ids');
    const rooms = run(['admin', 'rooms'], { FCGICHAT_DB: db });
    assert.match(rooms.stdout, /\nx\t/);
    const ok = run(['--check'], { FCGICHAT_DB: db });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`ok: postgresql:.*schema ${SCHEMA}`));
    const empty = pgDatabase();
    const bad = run(['--check'], { FCGICHAT_DB: empty });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /schema version 0.*--init/);
  });
});

describe('retention across hosts', () => {
  let hosts = [];
  after(async () => { for (const h of hosts) await h.cleanup(); });

  test('one process of all hosts prunes; each room keeps its newest messages', async () => {
    const db = pgDatabase();
    const env = { FCGICHAT_RETENTION_MESSAGES: '5', FCGICHAT_RETENTION_INTERVAL: '1' };
    hosts = [await startServer({ store: 'postgresql', db, env }), await startServer({ store: 'postgresql', db, env })];
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await send(hosts[i % 2].url, 'ret', 'n', `m${i}`)).json.id);
    await waitFor(() => psql(db, "SELECT count(*) FROM messages WHERE room = 'ret'").trim() === '5', { timeout: 15000, what: 'retention' });
    assert.equal(psql(db, "SELECT pruned_through FROM rooms WHERE name = 'ret'").trim(), String(ids[6]));
    const r = await get(hosts[1].url, `/api/rooms/ret/messages?since=${ids[0]}`);
    assert.equal(r.json.limited, true);
  });
});

describe('PostgreSQL restarted under load', () => {
  let a, b;
  before(async () => {
    const db = pgDatabase();
    a = await startServer({ store: 'postgresql', db, env: { FCGICHAT_BUSY_TIMEOUT: '500' } });
    b = await startServer({ store: 'postgresql', db, env: { FCGICHAT_BUSY_TIMEOUT: '500' } });
  });
  after(async () => { await a?.cleanup(); await b?.cleanup(); });

  test('sends answer 503 with Retry-After while it is down, waiting clients stay and catch up, nothing acknowledged is lost', async () => {
    const first = (await send(a.url, 'r', 'n', 'before')).json;
    const stream = openEvents(b.url, 'r', { since: first.id });
    await stream.opened;
    const wait = get(b.url, `/api/rooms/r/messages?since=${first.id}&wait=30`);
    await waitFor(async () => (await get(b.url, '/api/stats')).json.waiting.total === 2, { what: 'two waiting on B' });
    const acked = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await tryRequest(a.url, 'POST', '/api/rooms/r/messages', { body: { nick: 'n', text: `t${i}` } });
        if (r.status === 201) acked.push(r.json.id);
        else if (r.status === 503) assert.ok(r.headers['retry-after'], 'a 503 says when to retry');
        else assert.fail(`send answered ${r.status}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    })();
    await new Promise((res) => setTimeout(res, 300));
    pgStop();
    const down = await send(a.url, 'r', 'n', 'while down');
    assert.equal(down.status, 503);
    assert.ok(down.headers['retry-after']);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(stream.ended, false, 'the event stream stays open');
    pgStart();
    await waitFor(async () => (await send(a.url, 'r', 'n', 'after')).status === 201, { timeout: 15000, what: 'sends to work again' });
    await new Promise((res) => setTimeout(res, 300));
    stop = true;
    await load;
    const last = (await send(b.url, 'r', 'n', 'last')).json;
    await stream.until((x) => x.events.some((e) => e.id === String(last.id)), 10000, 'the stream to catch up').catch((e) => { throw new Error(`${e.message}: ${b.log().split('\n').filter((l) => /fcgichat\[/.test(l)).slice(-15).join('\n')}`); });
    const got = new Set(stream.events.map((e) => Number(e.id)));
    for (const id of acked) assert.ok(got.has(id), `acknowledged ${id} reached the stream`);
    const stored = new Set(psql(a.dbPath, "SELECT id FROM messages WHERE room = 'r'").trim().split('\n').map(Number));
    for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
    assert.equal((await wait).status, 200);
    stream.close();
  });
});

describe('what a host shows of its database', () => {
  let srv, db;
  before(async () => {
    db = pgDatabase().replace('://postgres@', '://postgres:s3cret@');
    srv = await startServer({ store: 'postgresql', db, procs: 1 });
  });
  after(async () => { await srv?.cleanup(); });

  test('the password in FCGICHAT_DB is never shown: start line, /api/stats, --check', async () => {
    await waitFor(() => /info: main: fcgichat \S+ serving postgresql:\/\/postgres:\*\*\*@\/t\w+\?host=\S+ at \/api/.test(srv.log()),
      { what: 'the start line' });
    const s = (await get(srv.url, '/api/stats')).json;
    assert.match(s.database.path, /^postgresql:\/\/postgres:\*\*\*@\//);
    assert.ok(s.database.size_bytes > 1000000, `size_bytes ${s.database.size_bytes}`);
    assert.equal(s.database.wal_bytes, 0);
    const ok = run(['--check'], { FCGICHAT_DB: db });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok: postgresql:\/\/postgres:\*\*\*@/);
    const bad = run(['--check'], { FCGICHAT_DB: db.replace(/\/t\w+\?/, '/nosuch?') });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /postgres:\*\*\*@\/nosuch.*does not exist/);
    for (const said of [srv.log(), JSON.stringify(s), ok.stdout + ok.stderr, bad.stdout + bad.stderr]) {
      assert.doesNotMatch(said, /s3cret/);
    }
  });

  test('--check: a role that may read but not write is told so', () => {
    const role = `reader_${process.pid}`;
    psql(db, `CREATE ROLE ${role} LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    const r = run(['--check'], { FCGICHAT_DB: db.replace('postgres:s3cret@', `${role}@`) });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /error: .* cannot be written: .*permission denied for table messages/);
  });
});
