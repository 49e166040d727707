// frontends.test.mjs - the three front ends side by side (lighttpd, Apache
// with mod_proxy_fcgi, Apache with mod_fcgid), each with the project's own
// config: the same answers to the same requests; all three on one database
// at once, where a send through any wakes waiters on every other and a
// long-poll held for the longest wait (60 s) ends with the worker's 200,
// not a proxy timeout, and an idle WebSocket outlives the front ends' 60-s
// idle limits on the worker's pings; mod_fcgid at and past its process
// cap; the worker on a socket passed the systemd way, behind Apache; the
// systemd units. WebSocket through each front end: ws.test.mjs. The
// integration suite (../integration) runs once per front end as well.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, waitFor, FRONTENDS, BIN, ROOT, connectionCount } from '../lib/server.mjs';
import { get, send, request, openEvents } from '../lib/http.mjs';
import { openWs, framesOf } from './ws-client.mjs';

const isRoot = process.getuid() === 0;
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-fe-'));
  fs.chmodSync(d, 0o700);
  return d;
};

// --- one database, three front ends -------------------------------------------

// Started first and checked last, so that the longest hold (60 s) runs
// while the other tests do; so does a request to a mod_fcgid whose every
// process an event stream holds (it waits about a minute for a process).
const shared = {};
let sharedDir;
const held = {};
const idleWs = {};
let full;
let fullStreams = [];
let refused;
before(async () => {
  full = await startServer({ frontend: 'apache-fcgid', fcgidProcs: 3, env: { FCGICHAT_SSE_LIFETIME: '0' } });
  fullStreams = Array.from({ length: 3 }, () => openEvents(full.url, 'full'));
  await Promise.all(fullStreams.map((st) => st.until((x) => x.retry !== null, 10000, 'three streams')));
  const t1 = Date.now();
  refused = get(full.url, '/api/health', { timeout: 120000 })
    .then((r) => ({ ...r, took: Date.now() - t1 }), (e) => ({ error: e.message, took: Date.now() - t1 }));
  sharedDir = tmpDir();
  for (const fe of FRONTENDS) {
    shared[fe] = await startServer({ frontend: fe, dir: sharedDir, env: { FCGICHAT_MAX_WAIT: '60' } });
  }
  for (const fe of FRONTENDS) {
    const t0 = Date.now();
    held[fe] = get(shared[fe].url, '/api/rooms/still/messages?since=0&wait=60', { timeout: 90000 })
      .then((r) => ({ ...r, took: Date.now() - t0 }), (e) => ({ error: e.message, took: Date.now() - t0 }));
    idleWs[fe] = openWs(shared[fe].url, 'idle', { origin: shared[fe].url });
    idleWs[fe].t0 = t0;
  }
  await Promise.all(FRONTENDS.map((fe) => idleWs[fe].opened));
});
after(async () => {
  for (const fe of FRONTENDS) idleWs[fe]?.terminate();
  for (const st of fullStreams) st.close();
  await full?.cleanup();
  for (const fe of FRONTENDS) await shared[fe]?.stop();
  if (sharedDir) fs.rmSync(sharedDir, { recursive: true, force: true });
});

describe('three front ends on one database', () => {
  test('a send through any front end wakes long-polls and streams on all three', async () => {
    for (const via of FRONTENDS) {
      const room = `via-${via}`;
      const polls = FRONTENDS.map((fe) => get(shared[fe].url, `/api/rooms/${room}/messages?since=0&wait=30`));
      const streams = FRONTENDS.map((fe) => openEvents(shared[fe].url, room, { since: 0 }));
      await Promise.all(streams.map((s) => s.until((x) => x.retry !== null)));
      // Each front end's workers hold the 60-s long-poll, this long-poll and
      // this stream (since=0: a late one still gets the message).
      await waitFor(() => FRONTENDS.every((fe) => shared[fe].connections() >= 3), { what: 'a long-poll and a stream parked in each front end' });
      const t0 = Date.now();
      const m = (await send(shared[via].url, room, 'x', `through ${via}`)).json;
      const answers = await Promise.all(polls);
      await Promise.all(streams.map((s) => s.until((x) => x.events.length === 1, 5000, 'the event')));
      const took = Date.now() - t0;
      for (const r of answers) assert.deepEqual(r.json, { messages: [m], last_id: m.id });
      for (const s of streams) {
        assert.deepEqual(s.events[0].json, m);
        s.close();
      }
      assert.ok(took < 2000, `all woken ${took} ms after a send through ${via}`);
    }
  });
});

// --- the same answers ------------------------------------------------------

const JSON_CT = { 'Content-Type': 'application/json' };
const APP = 'http://app.example';
// [name, method, path, {body, headers}]; run in this order on a fresh
// database, so ids and answers are the same everywhere but for times.
const SCRIPT = [
  ['health, empty', 'GET', '/api/health'],
  ['rooms, empty', 'GET', '/api/rooms'],
  ['send', 'POST', '/api/rooms/lobby/messages', { body: { nick: 'alice', text: 'hello' } }],
  ['send with client_id', 'POST', '/api/rooms/lobby/messages', { body: { nick: 'bob', text: 'hi', client_id: 'c-1' } }],
  ['retry of it: 200, no Location', 'POST', '/api/rooms/lobby/messages', { body: { nick: 'bob', text: 'again', client_id: 'c-1' } }],
  ['send, other room', 'POST', '/api/rooms/other/messages', { body: { nick: ' carol ', text: 'a\r\nb' } }],
  ['bad_json', 'POST', '/api/rooms/lobby/messages', { body: 'nope', headers: JSON_CT }],
  ['bad_nick', 'POST', '/api/rooms/lobby/messages', { body: { nick: '', text: 't' } }],
  ['bad_text', 'POST', '/api/rooms/lobby/messages', { body: { nick: 'n', text: '' } }],
  ['bad_client_id', 'POST', '/api/rooms/lobby/messages', { body: { nick: 'n', text: 't', client_id: '' } }],
  ['too_large', 'POST', '/api/rooms/lobby/messages', { body: { nick: 'n', text: 't', pad: 'x'.repeat(17000) } }],
  ['unsupported_media_type', 'POST', '/api/rooms/lobby/messages', { body: '{"nick":"n","text":"t"}', headers: { 'Content-Type': 'text/plain' } }],
  ['405 with Allow', 'DELETE', '/api/rooms/lobby/messages'],
  ['405 on events', 'POST', '/api/rooms/lobby/events', { body: {} }],
  ['405 on health', 'PUT', '/api/health', { body: {} }],
  ['404 prefix', 'GET', '/api/'],
  ['404 unknown', 'GET', '/api/nope'],
  ['404 room without messages', 'GET', '/api/rooms/lobby'],
  ['404 below messages', 'GET', '/api/rooms/lobby/messages/1'],
  ['bad_room !', 'GET', '/api/rooms/bad%21room/messages'],
  ['bad_room space', 'GET', '/api/rooms/no%20space/messages'],
  ['bad_room UTF-8', 'GET', '/api/rooms/d%C3%A9j%C3%A0/messages'],
  ['read newest', 'GET', '/api/rooms/lobby/messages'],
  ['read since', 'GET', '/api/rooms/lobby/messages?since=1&limit=1'],
  ['read before', 'GET', '/api/rooms/lobby/messages?before=3'],
  ['read empty room', 'GET', '/api/rooms/empty/messages'],
  ['bad_param limit', 'GET', '/api/rooms/lobby/messages?limit=0'],
  ['bad_param since+before', 'GET', '/api/rooms/lobby/messages?since=1&before=2'],
  ['bad_param wait', 'GET', '/api/rooms/lobby/messages?wait=61'],
  // lighttpd normalizes a stray '%' in the query to %25 before the worker
  // sees it, so the worker names the value, not the '%': same error code.
  ['bad_param percent', 'GET', '/api/rooms/lobby/messages?limit=%zz', { codeOnly: true }],
  ['long-poll that times out', 'GET', '/api/rooms/lobby/messages?since=1000&wait=1'],
  ['long-poll answered at once', 'GET', '/api/rooms/lobby/messages?since=0&wait=5'],
  ['events, bad Last-Event-ID', 'GET', '/api/rooms/lobby/events', { headers: { 'Last-Event-ID': 'abc' } }],
  // Proxied to the worker's WebSocket socket, which answers 426 to a GET
  // that asks for no upgrade.
  ['WebSocket path without upgrade', 'GET', '/api/rooms/lobby/ws'],
  ['CORS read', 'GET', '/api/rooms/lobby/messages', { headers: { Origin: APP } }],
  ['CORS preflight', 'OPTIONS', '/api/rooms/lobby/messages', { headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' } }],
  ['preflight, other origin', 'OPTIONS', '/api/rooms/lobby/messages', { headers: { Origin: 'http://other.example' } }],
  ['rooms', 'GET', '/api/rooms'],
  ['health', 'GET', '/api/health'],
  ['page', 'GET', '/'],
  ['page by name', 'GET', '/index.html'],
  ['script', 'GET', '/js/app.js'],
  ['style', 'GET', '/style.css'],
  ['icon', 'GET', '/favicon.svg'],
  ['missing file', 'GET', '/nope.html'],
  ['/api without slash', 'GET', '/api'],
  ['config beside the page', 'GET', '/conf/apache.conf'],
];
const API_HEADERS = ['content-type', 'cache-control', 'allow', 'location', 'retry-after', 'vary',
  'access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers',
  'access-control-max-age'];
const PAGE_HEADERS = ['content-security-policy', 'x-content-type-options', 'referrer-policy'];

// What must be equal: status, the API's headers and body (times zeroed);
// for the page, its headers and the file; for the server's own error
// pages (missing file, denied), the status only: their bodies are the
// server's, and Apache sends the page's security headers on them too
// (lighttpd not on a denied path).
function essence(path, r, codeOnly) {
  const h = {};
  const api = path.startsWith('/api/');
  const serverPage = !api && r.status >= 400;
  for (const k of api ? API_HEADERS : serverPage ? [] : [...PAGE_HEADERS, 'content-type']) {
    if (r.headers[k] !== undefined) h[k] = r.headers[k];
  }
  let body = serverPage ? '' : r.text.replace(/"ts":\d+/g, '"ts":0');
  if (codeOnly) body = r.json?.error?.code;
  return { status: r.status, headers: h, body };
}

async function runScript(base) {
  const out = [];
  for (const [name, method, p, { codeOnly, ...opts } = {}] of SCRIPT) {
    out.push({ name, ...essence(p, await request(base, method, p, opts), codeOnly) });
  }
  // An event stream up to its first two events (the stored messages).
  const s = openEvents(base, 'lobby', { since: 0 });
  await s.until((x) => x.events.length >= 2, 10000, 'two events');
  const h = {};
  for (const k of ['content-type', 'cache-control']) h[k] = s.headers[k];
  out.push({ name: 'event stream', status: s.status, headers: h, body: s.raw.replace(/"ts":\d+/g, '"ts":0') });
  s.close();
  return out;
}

describe('the same answers from every front end', () => {
  test(`${SCRIPT.length + 1} requests: same status, headers and body from ${FRONTENDS.join(', ')}`, async () => {
    const env = { FCGICHAT_MAX_WAIT: '10', FCGICHAT_CORS_ORIGINS: APP };
    const answers = {};
    for (const fe of FRONTENDS) {
      const srv = await startServer({ frontend: fe, env });
      try {
        answers[fe] = await runScript(srv.url);
      } finally {
        await srv.cleanup();
      }
    }
    const ref = answers[FRONTENDS[0]];
    // The list means something: it saw the answers it is about.
    const byName = Object.fromEntries(ref.map((a) => [a.name, a]));
    assert.equal(byName['send'].status, 201);
    assert.equal(byName['retry of it: 200, no Location'].status, 200);
    assert.equal(byName['retry of it: 200, no Location'].headers.location, undefined);
    assert.equal(byName['405 with Allow'].headers.allow, 'GET, POST');
    assert.equal(byName['too_large'].status, 413);
    assert.equal(byName['CORS preflight'].status, 204);
    assert.equal(byName['script'].headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(byName['page'].headers['content-security-policy'], "default-src 'self'");
    assert.equal(byName['config beside the page'].status, 403);
    assert.equal(byName['WebSocket path without upgrade'].status, 426);
    for (const fe of FRONTENDS.slice(1)) {
      for (let i = 0; i < ref.length; i++) {
        assert.deepEqual(answers[fe][i], ref[i], `${fe} differs from ${FRONTENDS[0]} on "${ref[i].name}"`);
      }
    }
  });
});

// --- mod_fcgid at and past its process cap ---------------------------------------

describe('mod_fcgid past its process cap', () => {
  test('with every process held by a waiting client, a send waits for a free process', async () => {
    // 6 processes; 6 long-polls of 5 s hold all of them.
    const srv = await startServer({ frontend: 'apache-fcgid', fcgidProcs: 6 });
    try {
      // A poll that fails says how and when, with Apache's log: a rare
      // reset here (ECONNRESET within a second of the start) is not
      // understood yet. "socket hang up" is the server closing before it
      // answered, "read ECONNRESET" a reset.
      const failed = [];
      const t00 = Date.now();
      const polls = Array.from({ length: 6 }, (_, i) => get(srv.url, '/api/rooms/full/messages?since=0&wait=5')
        .catch((e) => { failed.push(`poll ${i}: ${e.code} (${e.message}) after ${Date.now() - t00} ms`); return null; }));
      const why = () => `${failed.join('; ')}\nApache's log:\n${srv.log().slice(-4000)}`;
      await waitFor(() => srv.connections() >= 6 || failed.length > 0, { timeout: 10000, what: 'six processes held' });
      assert.deepEqual(failed, [], why());
      assert.equal(srv.workers().length, 6);
      const t0 = Date.now();
      const sent = await send(srv.url, 'full', 'x', 'queued');
      const took = Date.now() - t0;
      assert.equal(sent.status, 201, sent.text);
      const answers = await Promise.all(polls);
      assert.deepEqual(failed, [], why());
      assert.ok(answers.every((r) => r.status === 200));
      // Queued until the first hold ended at its deadline, empty.
      assert.ok(took >= 2000, `the send was answered after ${took} ms`);
      assert.ok(answers.some((r) => r.json.messages.length === 0), 'a hold ended before the send');
    } finally {
      await srv.cleanup();
    }
  });
});

// --- systemd ----------------------------------------------------------------

describe('systemd', () => {
  test('the worker takes a socket passed the systemd way, and Apache proxies to it', {
    skip: !have('systemd-socket-activate') && 'no systemd-socket-activate (package systemd)',
  }, async () => {
    const dir = tmpDir();
    const sock = path.join(dir, 'fcgichat.sock');
    const db = path.join(dir, 'chat.db');
    assert.equal(spawnSync(BIN, ['--init'], { env: { ...process.env, FCGICHAT_DB: db } }).status, 0);
    // As root, the worker runs as Apache's user, like fcgichat.service.
    let cmd = ['systemd-socket-activate', '-l', sock, '-E', `FCGICHAT_DB=${db}`, '-E', 'FCGICHAT_PREFIX=/api', BIN];
    if (isRoot) {
      spawnSync('chown', ['-R', 'www-data:www-data', dir]);
      cmd = ['setpriv', '--reuid=www-data', '--regid=www-data', '--init-groups', ...cmd];
    }
    const act = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let srv;
    try {
      await waitFor(() => fs.existsSync(sock), { what: 'the socket' });
      srv = await startServer({ frontend: 'apache-proxy', dir, env: { FCGICHAT_SOCKET: sock } });
      const since = (await get(srv.url, '/api/rooms/sd/messages')).json.last_id;
      const poll = get(srv.url, `/api/rooms/sd/messages?since=${since}&wait=10`);
      await waitFor(() => connectionCount(act.pid) >= 1, { what: 'a parked long-poll' });
      const m = (await send(srv.url, 'sd', 'x', 'via a socket from systemd')).json;
      assert.deepEqual((await poll).json.messages, [m]);
      // systemd-socket-activate became the worker, listening on fd 3.
      assert.equal(fs.readFileSync(`/proc/${act.pid}/cmdline`, 'utf8').split('\0')[0], BIN);
      assert.match(fs.readlinkSync(`/proc/${act.pid}/fd/3`), /^socket:/);
    } finally {
      await srv?.stop();
      const done = new Promise((r) => act.once('exit', r));
      act.kill('SIGTERM');
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('conf/fcgichat.socket and conf/fcgichat.service pass systemd-analyze verify', {
    skip: !have('systemd-analyze') && 'no systemd-analyze (package systemd)',
  }, () => {
    const dir = tmpDir();
    try {
      // The units name the installed program; point them at this build.
      for (const u of ['fcgichat.socket', 'fcgichat.service']) {
        const text = fs.readFileSync(path.join(ROOT, 'conf', u), 'utf8')
          .replaceAll('/usr/local/lib/fcgichat/fcgichat.fcgi', BIN);
        fs.writeFileSync(path.join(dir, u), text);
      }
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', 'fcgichat.socket', 'fcgichat.service'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', r.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- last: the longest hold -------------------------------------------------

test('a long-poll held for the longest wait (60 s) ends with the worker\'s empty 200 on every front end', async () => {
  for (const fe of FRONTENDS) {
    const r = await held[fe];
    assert.equal(r.error, undefined, `${fe}: ${r.error}`);
    assert.equal(r.status, 200, `${fe} answered ${r.status} after ${r.took} ms: ${r.text?.slice(0, 200)}`);
    assert.deepEqual(r.json, { messages: [], last_id: 0 }, fe);
    assert.ok(r.took >= 59000 && r.took < 65000, `${fe} held ${r.took} ms`);
  }
});

test('a WebSocket idle for over a minute stays open on every front end (the worker pings every 15 s) and still gets a message', async () => {
  // lighttpd (server.max-read-idle) and Apache (Timeout) end a tunnel
  // with no byte either way for 60 s.
  const open = Math.min(...FRONTENDS.map((fe) => idleWs[fe].t0));
  await new Promise((r) => setTimeout(r, Math.max(0, open + 65000 - Date.now())));
  for (const fe of FRONTENDS) {
    const c = idleWs[fe];
    assert.equal(c.status, 101, `${fe}: ${c.status} ${c.text}`);
    assert.equal(c.closed, null, `${fe} closed it: ${JSON.stringify(c.closed)}`);
    assert.ok(c.pings >= 3, `${fe}: ${c.pings} pings`);
  }
  const m = (await send(shared.lighttpd.url, 'idle', 'x', 'after a minute')).json;
  for (const fe of FRONTENDS) {
    await idleWs[fe].until((x) => framesOf(x, 'message').length === 1, 5000, `the message on ${fe}`);
    assert.deepEqual(framesOf(idleWs[fe], 'message')[0].message, m, fe);
  }
});

test('mod_fcgid with every process held for good: a request waits about a minute, then Apache answers 503 with the API\'s error body', async () => {
  const r = await refused;
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.status, 503, r.text?.slice(0, 200));
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.json?.error?.code, 'unavailable', 'the API\'s error body, not Apache\'s page');
  // mod_fcgid tries 64 times a second apart (fcgid_bridge.c), then gives up.
  assert.ok(r.took >= 55000 && r.took < 80000, `refused after ${r.took} ms`);
  assert.match(full.log(), /mod_fcgid: can't apply process slot/);
});
