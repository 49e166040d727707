// ops.test.mjs - what operators use, through real lighttpd with two worker
// processes: GET /api/stats and who may read it, --check, retention
// (old messages go, clients with an older cursor are told "limited"),
// export/import of a room, and deleting a message (waiting long-polls and
// event streams learn of it at once; history reads no longer show it).
// With FCGICHAT_STORE=postgresql the same tests run on PostgreSQL (the
// per-store steps are the table STORES below), but those of SQLite's
// files alone (journal mode, notify file, directory permissions), which
// are skipped with the reason.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startLighttpd, waitFor, BIN, SCHEMA } from '../lib/server.mjs';
import { get, send, request, openEvents } from '../lib/http.mjs';
import { rawExchange } from '../lib/raw.mjs';
import { STORE, pgDatabase, pgUri, psql } from '../lib/pg.mjs';

const TOKEN = 'test-token-0123456789abcdef';

// The database's name in a URI (node's URL takes no user without a host).
const pgName = (uri) => uri.split('?')[0].split('/').pop();

// What the tests do to a database, for each store: name a new one
// (where: SQLite's file in dir, or a PostgreSQL database not yet made),
// make it exist (create; --init makes SQLite's), tell whether it exists,
// set its schema version, the start line's name for it, and a session
// that holds the write lock until ended: {proc, locked, release()}.
const STORES = {
  sqlite: {
    where: (dir, name) => path.join(dir, `${name}.db`),
    create: () => {},
    exists: (db) => fs.existsSync(db),
    missing: /error: database .*chat\.db: No such file.*--init/,
    version: (db, v) => spawnSync('sqlite3', [db, `PRAGMA user_version = ${v}`]),
    shown: /serving .*chat\.db at/,
    lock: (db) => holder('sqlite3', [db], 'BEGIN EXCLUSIVE;\nSELECT 1;\n', 'COMMIT;\n'),
  },
  postgresql: {
    where: (dir, name) => pgUri(`${name}_${process.pid}_${Date.now() % 100000}`),
    create: (db) => psql(pgUri(), `CREATE DATABASE ${pgName(db)}`),
    exists: (db) => psql(pgUri(), `SELECT count(*) FROM pg_database WHERE datname = '${pgName(db)}'`).trim() === '1',
    missing: /error: database postgresql:.*database "chat_\d+_\d+" does not exist/,
    version: (db, v) => psql(db, `UPDATE fcgichat_schema SET version = ${v}`),
    shown: /serving postgresql:\/\/\S+ at/,
    lock: (db) => holder('psql', ['-XAtq', '-d', db], 'BEGIN;\nLOCK TABLE messages IN ACCESS EXCLUSIVE MODE;\nSELECT 1;\n', 'COMMIT;\n'),
  },
};
const ON = STORES[STORE] || STORES.sqlite;
const FILES_ONLY = STORE === 'postgresql' && 'SQLite\'s files alone: PostgreSQL has no journal mode, notify file or database directory here';

// A shell (sqlite3, psql) that runs begin and holds what it took until
// release() sends end; locked resolves once begin's SELECT 1 answered.
function holder(cmd, args, begin, end) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const locked = new Promise((r) => proc.stdout.once('data', r));
  proc.stdin.write(begin);
  const release = () => {
    proc.stdin.end(end);
    return new Promise((r) => proc.once('exit', r));
  };
  return { proc, locked, release };
}

// A new database with the schema, for imports.
function freshDb(dir, name) {
  const db = STORE === 'postgresql' ? pgDatabase() : ON.where(dir, name);
  assert.equal(run(['--init'], { FCGICHAT_DB: db }).status, 0);
  return db;
}

// Runs the program (--check, admin ...) on a database; {status, stdout, stderr}.
function run(args, env = {}, opts = {}) {
  const r = spawnSync(BIN, args, {
    env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30000, ...opts,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const admin = (srv, args, opts) => run(['admin', ...args], { FCGICHAT_DB: srv.dbPath }, opts);

async function sendAll(base, room, texts) {
  const out = [];
  for (const t of texts) {
    const r = await send(base, room, 'op', t);
    assert.equal(r.status, 201, r.text);
    out.push(r.json);
  }
  return out;
}

describe('stats', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startLighttpd({ procs: 2, env: { FCGICHAT_MAX_WAIT: '30' } });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('from loopback: totals, waiting clients by transport, every process, the database', async () => {
    const sent = await sendAll(base, 'st', ['one', 'two', 'three']);
    const since = sent[2].id;
    const polls = [1, 2, 3].map(() => get(base, `/api/rooms/st/messages?since=${since}&wait=20`));
    const streams = [openEvents(base, 'st'), openEvents(base, 'st')];
    await Promise.all(streams.map((s) => s.opened));
    const stats = async () => (await get(base, '/api/stats')).json;
    const s = await waitFor(async () => {
      const j = await stats();
      return j.waiting.longpoll === 3 && j.waiting.sse === 2 && j.processes.length === 2 && j;
    }, { what: '3 long-polls and 2 streams in /api/stats' });
    const r = await get(base, '/api/stats');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(s.waiting.total, 5);
    assert.ok(s.sends >= 3, `sends ${s.sends}`);
    assert.ok(s.requests >= 4);
    assert.ok(s.uptime_s >= 0);
    assert.equal(s.processes.filter((p) => p.self).length, 1);
    assert.deepEqual(s.processes.map((p) => p.pid).sort(), srv.workers().sort());
    for (const p of s.processes) {
      for (const k of ['requests', 'sends', 'delivered', 'parked', 'dropped', 'waiting_longpoll', 'waiting_sse', 'uptime_s']) {
        assert.equal(typeof p[k], 'number', k);
      }
    }
    assert.equal(s.database.last_id, sent[2].id);
    assert.equal(s.database.schema, SCHEMA);
    assert.ok(s.database.size_bytes > 0);
    assert.ok(s.database.messages >= 3);
    assert.deepEqual(s.retention, { days: 0, messages: 0, interval_s: 300 });

    // A send reaches the five; the deliveries show up in the totals.
    const delivered0 = s.delivered;
    await send(base, 'st', 'op', 'four');
    await Promise.all(polls);
    await Promise.all(streams.map((x) => x.until((y) => y.events.length === 1)));
    await waitFor(async () => (await stats()).delivered >= delivered0 + 5, { what: '5 more deliveries' });
    for (const x of streams) x.close();
    await waitFor(async () => (await stats()).waiting.total === 0, { what: 'no one waiting' });
  });

  test('a dead process\'s file is ignored and removed', async () => {
    const dir = `${srv.statePath}-stats`;
    const stale = path.join(dir, '999999');
    fs.copyFileSync(path.join(dir, String(srv.workers()[0])), stale);
    const s = (await get(base, '/api/stats')).json;
    assert.equal(s.processes.length, 2);
    assert.ok(!s.processes.some((p) => p.pid === 999999));
    assert.equal(fs.existsSync(stale), false);
  });

  test('with a token set, a wrong one is refused even from loopback', async () => {
    const r = await get(base, '/api/stats', { headers: { Authorization: 'Bearer nope' } });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'forbidden');
  });
});

describe('stats access', () => {
  let srv;
  before(async () => {
    srv = await startLighttpd({
      procs: 1,
      env: { FCGICHAT_STATS_ALLOW: 'token', FCGICHAT_STATS_TOKEN: TOKEN },
    });
  });
  after(async () => { await srv?.cleanup(); });

  test('FCGICHAT_STATS_ALLOW=token: 403 without the token, even from loopback', async () => {
    const r = await get(srv.url, '/api/stats');
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'forbidden');
    assert.match(r.json.error.message, /token|operators/);
  });

  test('403 with a wrong token or scheme', async () => {
    for (const h of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, 'Bearer ']) {
      const r = await get(srv.url, '/api/stats', { headers: { Authorization: h } });
      assert.equal(r.status, 403, h);
      assert.equal(r.json.error.code, 'forbidden');
    }
  });

  test('200 with the right token', async () => {
    const r = await get(srv.url, '/api/stats', { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.processes.length, 1);
  });

  test('only GET', async () => {
    const r = await request(srv.url, 'POST', '/api/stats', { body: {} });
    assert.equal(r.status, 405);
  });
});

describe('--check', () => {
  let dir;
  let db;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-check-'));
    db = ON.where(dir, 'chat');
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });
  const check = (env = {}, opts) => run(['--check'], { FCGICHAT_DB: db, ...env }, opts);

  test('a missing database: exit 1, says to run --init', () => {
    const r = check();
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, ON.missing);
    assert.equal(ON.exists(db), false, '--check must not create the database');
  });

  test('a good database: exit 0', () => {
    ON.create(db);
    assert.equal(run(['--init'], { FCGICHAT_DB: db }).status, 0);
    const r = check();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`fcgichat: ok: .*schema ${SCHEMA}, newest id 0`));
    assert.doesNotMatch(r.stdout, /error:/);
  });

  test('WebSocket sockets: each one listed, free or served; a bad directory: exit 1', async () => {
    let r = check();
    assert.match(r.stdout, /ok: WebSocket off \(FCGICHAT_WS_SOCKETS unset\)/);
    const free = path.join(dir, 'ws-0.sock');
    r = check({ FCGICHAT_WS_SOCKETS: `${free} /nonexistent-dir/ws.sock` });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /ok: WebSocket socket .*ws-0\.sock: free/);
    assert.match(r.stdout, /error: WebSocket socket \/nonexistent-dir\/ws\.sock: directory \/nonexistent-dir is not writable/);
    // A socket somebody listens on counts as served.
    const srv = net.createServer().listen(free);
    await new Promise((res) => srv.on('listening', res));
    r = check({ FCGICHAT_WS_SOCKETS: free });
    srv.close();
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /ok: WebSocket socket .*ws-0\.sock: a worker serves it/);
  });

  test('a bad setting: exit 1, naming the variable', () => {
    const r = check({ FCGICHAT_RETENTION_DAYS: 'soon' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FCGICHAT_RETENTION_DAYS=soon/);
  });

  test('a schema version from an older or newer program: exit 1', () => {
    ON.version(db, 1);
    let r = check();
    assert.equal(r.status, 1);
    assert.ok(r.stdout.includes(`schema version 1, this program needs ${SCHEMA}: run \`fcgichat.fcgi --init\``), r.stdout);
    ON.version(db, 99);
    r = check();
    assert.equal(r.status, 1);
    assert.match(r.stdout, /schema version 99, newer than this program/);
    ON.version(db, SCHEMA);
    assert.equal(check().status, 0);
  });

  test('not WAL, or no notify file: exit 1', { skip: FILES_ONLY }, () => {
    spawnSync('sqlite3', [db, 'PRAGMA journal_mode = DELETE']);
    let r = check();
    assert.equal(r.status, 1);
    assert.match(r.stdout, /not in WAL mode/);
    assert.equal(run(['--init'], { FCGICHAT_DB: db }).status, 0);
    fs.rmSync(`${db}-notify`);
    r = check();
    assert.equal(r.status, 1);
    assert.match(r.stdout, /notify file .*-notify/);
    assert.equal(run(['--init'], { FCGICHAT_DB: db }).status, 0);
    assert.equal(check().status, 0);
  });

  test('a directory or database the workers cannot write: exit 1', { skip: FILES_ONLY }, () => {
    // root may write anything: check as www-data when we are root.
    const asRoot = process.getuid() === 0;
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-ro-'));
    const f = path.join(d, 'chat.db');
    let opts = {};
    if (asRoot) {
      const pw = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('www-data:'));
      const [, , uid, gid] = pw.split(':').map(Number);
      fs.chownSync(d, uid, gid);
      opts = { uid, gid };
    }
    try {
      assert.equal(run(['--init'], { FCGICHAT_DB: f }, opts).status, 0);
      assert.equal(run(['--check'], { FCGICHAT_DB: f }, opts).status, 0);
      fs.chmodSync(d, 0o500);
      let r = run(['--check'], { FCGICHAT_DB: f }, opts);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stdout, /directory .* is not writable/);
      fs.chmodSync(d, 0o700);
      fs.chmodSync(f, 0o400);
      r = run(['--check'], { FCGICHAT_DB: f }, opts);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stdout, /cannot be written/);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('retention', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startLighttpd({
      procs: 2,
      env: { FCGICHAT_RETENTION_MESSAGES: '5', FCGICHAT_RETENTION_INTERVAL: '1', FCGICHAT_MAX_WAIT: '10' },
    });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('each room keeps its newest 5; an older cursor is told limited', async () => {
    const sent = await sendAll(base, 'ret', Array.from({ length: 12 }, (_, i) => `m${i}`));
    await sendAll(base, 'ret-small', ['a', 'b']);
    const ids = sent.map((m) => m.id);
    await waitFor(() => srv.sql("SELECT count(*) FROM messages WHERE room = 'ret'").trim() === '5',
      { what: 'retention to prune the room to 5' });
    const newest = await get(base, '/api/rooms/ret/messages');
    assert.deepEqual(newest.json.messages.map((m) => m.id), ids.slice(7));
    assert.equal(newest.json.limited, undefined);
    assert.equal(srv.sql("SELECT pruned_through FROM rooms WHERE name = 'ret'").trim(), String(ids[6]));
    assert.equal(srv.sql("SELECT count(*) FROM messages WHERE room = 'ret-small'").trim(), '2');

    // A client far behind: the rest, and "limited" so that it reloads.
    const old = await get(base, `/api/rooms/ret/messages?since=${ids[0]}`);
    assert.equal(old.json.limited, true);
    assert.deepEqual(old.json.messages.map((m) => m.id), ids.slice(7));
    // A client up to date is not told anything.
    const cur = await get(base, `/api/rooms/ret/messages?since=${ids[6]}`);
    assert.equal(cur.json.limited, undefined);
    assert.equal(cur.json.messages.length, 5);
    // A long-poll from behind answers at once instead of waiting.
    const t0 = Date.now();
    const lp = await get(base, `/api/rooms/ret/messages?since=${ids[2]}&wait=10`);
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(lp.json.limited, true);
    // An event stream from behind starts with a limited event, no id.
    const s = openEvents(base, 'ret', { since: ids[3] });
    await s.until((x) => x.events.length === 6);
    assert.equal(s.events[0].event, 'limited');
    assert.equal(s.events[0].id, null);
    assert.deepEqual(s.events[0].json, { room: 'ret', pruned_through: ids[6] });
    assert.deepEqual(s.events.slice(1).map((e) => Number(e.id)), ids.slice(7));
    s.close();
    const fresh = openEvents(base, 'ret', { since: ids[8] });
    await fresh.until((x) => x.events.length === 3);
    assert.ok(fresh.events.every((e) => e.event === 'message'));
    fresh.close();

    const rooms = (await get(base, '/api/rooms')).json.rooms;
    assert.equal(rooms.find((r) => r.name === 'ret').messages, 5);
    const stats = (await get(base, '/api/stats')).json;
    assert.ok(stats.pruned >= 7, `pruned ${stats.pruned}`);
    assert.deepEqual(stats.retention, { days: 0, messages: 5, interval_s: 1 });
    await waitFor(() => /housekeep: retention removed \d+ rows/.test(srv.log()), { what: 'the retention log line' });
  });

  test('a room emptied by age keeps its cursor: a reload is not told limited again', async () => {
    const sent = await sendAll(base, 'ret-age', ['x', 'y']);
    // Make them old and prune by age with the admin command.
    srv.sql("UPDATE messages SET ts = ts - 3 * 86400000 WHERE room = 'ret-age'");
    const r = admin(srv, ['prune'], { env: { ...process.env, FCGICHAT_DB: srv.dbPath, FCGICHAT_RETENTION_DAYS: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pruned \d+ rows/);
    const page = await get(base, '/api/rooms/ret-age/messages');
    assert.deepEqual(page.json, { messages: [], last_id: sent[1].id });
    const next = await get(base, `/api/rooms/ret-age/messages?since=${page.json.last_id}`);
    assert.equal(next.json.limited, undefined);
    const behind = await get(base, `/api/rooms/ret-age/messages?since=${sent[0].id - 1}`);
    assert.equal(behind.json.limited, true);
    assert.ok(!(await get(base, '/api/rooms')).json.rooms.some((x) => x.name === 'ret-age'));
  });
});

describe('history: export, import, delete', () => {
  let srv;
  let base;
  let dir;
  before(async () => {
    srv = await startLighttpd({ procs: 2, env: { FCGICHAT_MAX_WAIT: '20' } });
    base = srv.url;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-io-'));
  });
  after(async () => {
    await srv?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('admin rooms lists rooms with counts', async () => {
    await sendAll(base, 'listed', ['1', '2']);
    const r = admin(srv, ['rooms']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^room\tmessages\tlast_id\tpruned_through\n/);
    assert.match(r.stdout, /\nlisted\t2\t\d+\t0\n/);
  });

  test('export as JSON lines and import into another database: the same messages, ids kept, idempotent', async () => {
    const texts = ['plain', 'two\nlines', 'quote " and \\ back', 'émoji 😀', 'tab\there', ' , comma'];
    const sent = await sendAll(base, 'io', texts);
    const ex = admin(srv, ['export', 'io']);
    assert.equal(ex.status, 0, ex.stderr);
    const lines = ex.stdout.trim().split('\n');
    assert.deepEqual(lines.map((l) => JSON.parse(l)), sent);

    const file = path.join(dir, 'io.jsonl');
    fs.writeFileSync(file, ex.stdout);
    const other = freshDb(dir, 'other');
    let im = run(['admin', 'import', file], { FCGICHAT_DB: other });
    assert.equal(im.status, 0, im.stderr);
    assert.equal(im.stdout.trim(), `imported ${texts.length} messages, skipped 0 (id in use), 0 bad lines`);
    const back = run(['admin', 'export', 'io'], { FCGICHAT_DB: other });
    assert.equal(back.stdout, ex.stdout);
    // Again, from standard input: nothing new.
    im = run(['admin', 'import'], { FCGICHAT_DB: other }, { input: ex.stdout });
    assert.equal(im.stdout.trim(), `imported 0 messages, skipped ${texts.length} (id in use), 0 bad lines`);

    // Into the live database: ids in use are skipped, a new room is fine.
    const moved = lines.map((l) => ({ ...JSON.parse(l), room: 'io-copy', id: undefined }))
      .map((m) => JSON.stringify(m)).join('\n');
    im = admin(srv, ['import'], { input: `${ex.stdout}${moved}\nnot json\n` });
    assert.equal(im.status, 1, 'a bad line fails the import');
    assert.match(im.stderr, /stdin:13: /);
    assert.equal(im.stdout.trim(), `imported ${texts.length} messages, skipped ${texts.length} (id in use), 1 bad lines`);
    const copy = (await get(base, '/api/rooms/io-copy/messages')).json.messages;
    assert.deepEqual(copy.map((m) => m.text), texts);
    assert.ok(copy[0].id > sent[sent.length - 1].id);
  });

  test('export as CSV', async () => {
    const r = admin(srv, ['export', 'io', '--csv']);
    assert.equal(r.status, 0);
    const rows = r.stdout.split('\r\n');
    assert.equal(rows[0], 'id,ts,time,room,nick,text,user');
    assert.match(rows[1], /^\d+,\d+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,"io","op","plain",$/);
    assert.ok(r.stdout.includes('"two\nlines"'));
    assert.ok(r.stdout.includes('"quote "" and \\ back"'));
  });

  test('import CSV: what export --csv wrote comes back the same; rows typed with no id get new ones; bad rows are named', async () => {
    const ex = admin(srv, ['export', 'io', '--csv']);
    assert.equal(ex.status, 0, ex.stderr);
    const other = freshDb(dir, 'csv');
    let im = run(['admin', 'import', '--csv'], { FCGICHAT_DB: other }, { input: ex.stdout });
    assert.equal(im.status, 0, im.stderr);
    assert.equal(im.stdout.trim(), 'imported 6 messages, skipped 0 (id in use), 0 bad lines');
    assert.equal(run(['admin', 'export', 'io', '--csv'], { FCGICHAT_DB: other }).stdout, ex.stdout);
    assert.equal(run(['admin', 'export', 'io'], { FCGICHAT_DB: other }).stdout, admin(srv, ['export', 'io']).stdout);

    // Rows typed in a spreadsheet: a byte order mark, LF line ends, no id
    // or ts, a quoted field over two lines; then a row of 5 fields and one
    // with a bad room, each named by its line, and neither stored.
    const file = path.join(dir, 'sheet.csv');
    fs.writeFileSync(file, [
      '\ufeffid,ts,time,room,nick,text',
      ',,,sheet,ann,"first, with a comma"',
      ',,,sheet,bob,"two',
      'lines and a ""quote"""',
      ',,,sheet,cy',
      ',,,bad room,dan,x',
      '',
    ].join('\n'));
    im = run(['admin', 'import', file, '--csv'], { FCGICHAT_DB: other });
    assert.equal(im.status, 1, 'bad rows fail the import');
    assert.match(im.stderr, /sheet\.csv:5: a record has 7 fields/);
    assert.match(im.stderr, /sheet\.csv:6: room may only hold/);
    assert.equal(im.stdout.trim(), 'imported 2 messages, skipped 0 (id in use), 2 bad lines');
    const rows = run(['admin', 'export', 'sheet'], { FCGICHAT_DB: other }).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((m) => [m.nick, m.text]), [['ann', 'first, with a comma'], ['bob', 'two\nlines and a "quote"']]);
    assert.ok(rows.every((m) => m.id > 6 && m.ts > 0));
  });

  test('bad admin usage: exit 2', () => {
    for (const args of [[], ['nope'], ['export'], ['export', 'bad room'], ['delete', 'x'], ['delete', '0'], ['rooms', 'extra'], ['export', 'r', '--json'], ['import', '--json'], ['rooms', '--csv']]) {
      const r = admin(srv, args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /fcgichat: admin: /);
    }
  });

  test('delete: a waiting long-poll and an event stream learn of it at once; reads no longer show it', async () => {
    const [keep, gone] = await sendAll(base, 'mod', ['stays', 'spam']);
    const lp = get(base, `/api/rooms/mod/messages?since=${gone.id}&wait=15`);
    const es = openEvents(base, 'mod');
    await es.until((x) => x.retry !== null);
    await waitFor(async () => (await get(base, '/api/stats')).json.waiting.total === 2, { what: 'both waiting' });
    const t0 = Date.now();
    const r = admin(srv, ['delete', String(gone.id)]);
    assert.equal(r.status, 0, r.stderr);
    const tomb = Number(r.stdout.match(/tombstone (\d+)/)[1]);
    assert.ok(tomb > gone.id);

    const answer = await lp;
    assert.ok(Date.now() - t0 < 3000, 'woken by the commit, not a timer');
    assert.deepEqual(answer.json, { messages: [], deleted: [gone.id], last_id: tomb });
    await es.until((x) => x.events.length === 1);
    assert.deepEqual(es.events[0], {
      id: String(tomb), event: 'delete', data: JSON.stringify({ id: gone.id, room: 'mod' }),
      json: { id: gone.id, room: 'mod' },
    });
    es.close();

    // History reads leave it (and the tombstone) out; reads after a cursor carry the deletion.
    const hist = (await get(base, '/api/rooms/mod/messages')).json;
    assert.deepEqual(hist, { messages: [keep], last_id: keep.id });
    const before = (await get(base, `/api/rooms/mod/messages?before=${tomb + 1}`)).json;
    assert.deepEqual(before.messages, [keep]);
    const since = (await get(base, `/api/rooms/mod/messages?since=${keep.id}`)).json;
    assert.deepEqual(since, { messages: [], deleted: [gone.id], last_id: tomb });
    const resumed = openEvents(base, 'mod', { lastEventId: keep.id });
    await resumed.until((x) => x.events.length === 1);
    assert.equal(resumed.events[0].event, 'delete');
    resumed.close();
    const room = (await get(base, '/api/rooms')).json.rooms.find((x) => x.name === 'mod');
    assert.deepEqual(room, { name: 'mod', last_id: tomb, messages: 1 });
    assert.equal(srv.sql(`SELECT count(*) FROM history WHERE id = ${gone.id}`).trim(), '0');
    assert.equal(admin(srv, ['export', 'mod']).stdout, `${JSON.stringify(keep)}\n`);

    // Twice: there is nothing left to delete.
    const again = admin(srv, ['delete', String(gone.id)]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no message/);
    assert.equal(admin(srv, ['delete', String(tomb)]).status, 1, 'a tombstone is not a message');
  });

  test('a deletion among new messages: one long-poll answer lists both', async () => {
    const [a] = await sendAll(base, 'mod2', ['a']);
    const lp = get(base, `/api/rooms/mod2/messages?since=${a.id}&wait=15`);
    await waitFor(async () => (await get(base, '/api/stats')).json.waiting.longpoll === 1, { what: 'parked' });
    // Two rows in one commit window: the deletion and a message, read in
    // one wakeup or two; either way nothing is lost.
    srv.sql(`BEGIN; DELETE FROM messages WHERE id = ${a.id};
      INSERT INTO messages (room, nick, text, deletes) VALUES ('mod2', '', '', ${a.id});
      INSERT INTO messages (room, nick, text) VALUES ('mod2', 'b', 'after'); COMMIT;`);
    const r = (await lp).json;
    assert.deepEqual(r.deleted, [a.id]);
    assert.deepEqual(r.messages.map((m) => m.text), ['after']);
    assert.equal(r.last_id, r.messages[0].id);
  });
});

describe('logs', () => {
  let srv;
  before(async () => {
    srv = await startLighttpd({ procs: 1, env: { FCGICHAT_LOG_LEVEL: 'debug', FCGICHAT_BUSY_TIMEOUT: '100' } });
  });
  after(async () => { await srv?.cleanup(); });

  test('a line per start, per failed request (client bytes escaped), per stop', async () => {
    // Logged once the accept threads run, which may be just after the
    // first answer.
    await waitFor(() => new RegExp(`fcgichat\\[\\d+\\] info: main: fcgichat \\S+ ${ON.shown.source} \\/api with \\d+ threads`).test(srv.log()),
      { what: 'the start line' });
    // UTF-8 bytes and a backslash in the path, sent raw: a client
    // library would refuse to send them.
    const answer = await rawExchange(srv.port, 'GET /api/rooms/caf\u00e9\\x/messages HTTP/1.0\r\n\r\n', { end: true });
    assert.equal(answer.error, undefined);
    assert.match(answer.text, /^HTTP\/1\.0 400 /);
    await waitFor(() => /debug: api: 400 bad_room: GET \/api\/rooms\/caf\\xc3\\xa9\\x5cx\/messages from 127\.0\.0\.1/.test(srv.log()),
      { what: 'the escaped 400 line' });

    // The database locked by someone else for longer than the busy timeout: 503, at warn.
    const held = ON.lock(srv.dbPath);
    try {
      await held.locked;
      const r = await send(srv.url, 'logs', 'n', 'blocked');
      assert.equal(r.status, 503, r.text);
    } finally {
      await held.release();
    }
    await waitFor(() => /warn: api: 503 unavailable: POST \/api\/rooms\/logs\/messages from 127\.0\.0\.1/.test(srv.log()),
      { what: 'the 503 line' });
    assert.equal((await send(srv.url, 'logs', 'n', 'free again')).status, 201);
    await srv.stop();
    assert.match(srv.log(), /info: main: \S+, exiting/);
  });
});
