// bad-input.test.mjs - hostile requests over raw sockets through real
// lighttpd: oversized headers, bodies (1 MiB, and 100 MiB streamed both
// with Content-Length and chunked), query strings and parameter counts,
// invalid percent-encoding, NUL bytes in path, query, headers and body.
// Each gets a clear 4xx from lighttpd or from the worker (which layer
// answers is part of the expectation), no worker dies, the worker does
// not hold a big body in memory, and the database is unchanged.
//
// Also what the server must never do: serve the database, var/, sql/,
// conf/, the sources or anything outside htdocs/ (../ and %2e%2e tricks
// included); and what it must do: security headers on the page, and a
// database file and directory only its owner can read.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLighttpd, BIN, ROOT } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { rawExchange } from '../lib/raw.mjs';
import { procStatus, dbState } from './helpers.mjs';

let srv;
let host;
before(async () => {
  srv = await startLighttpd({ procs: 2 });
  host = `Host: 127.0.0.1:${srv.port}\r\n`;
  // A few rows, so that "unchanged" means something.
  for (let i = 0; i < 3; i++) await tryRequest(srv.url, 'POST', '/api/rooms/a/messages', { body: { nick: 'n', text: `t${i}` } });
});
after(async () => { await srv?.cleanup(); });

const get = (p, extra = '') => `GET ${p} HTTP/1.1\r\n${host}${extra}Connection: close\r\n\r\n`;
const post = (p, body, { type = 'application/json', extra = '' } = {}) => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([Buffer.from(`POST ${p} HTTP/1.1\r\n${host}Content-Type: ${type}\r\n` +
    `Content-Length: ${b.length}\r\n${extra}Connection: close\r\n\r\n`), b]);
};
const send = JSON.stringify({ nick: 'n', text: 'x' });
const M = '/api/rooms/a/messages';

// name, request, status, who answers, the worker's error code.
const CASES = [
  ['a 64 KiB cookie', () => get('/api/health', `Cookie: a=${'x'.repeat(65536)}\r\n`), 431, 'lighttpd'],
  ['1000 request headers', () => get('/api/health', Array.from({ length: 1000 }, (_, i) => `X-H${i}: 1\r\n`).join('')), 431, 'lighttpd'],
  ['a 100 KiB query string', () => get(`${M}?${'a'.repeat(100 * 1024)}`), 431, 'lighttpd'],
  ['a 10 KiB path', () => get(`/api/rooms/${'a'.repeat(10000)}/messages`), 431, 'lighttpd'],
  ['a 5 KiB query string', () => get(`${M}?since=1&x=${'a'.repeat(5000)}`), 400, 'worker', 'bad_param'],
  ['2000 query parameters', () => get(`${M}?${Array(2000).fill('a').join('&')}`), 400, 'worker', 'bad_param'],
  ['33 query parameters', () => get(`${M}?${Array(33).fill('a=1').join('&')}`), 400, 'worker', 'bad_param'],
  ['a 2 KiB path', () => get(`/api/rooms/${'a'.repeat(2000)}/messages`), 404, 'worker', 'not_found'],
  ['a 65-byte room', () => get(`/api/rooms/${'a'.repeat(65)}/messages`), 400, 'worker', 'bad_room'],
  ['%zz in the path', () => get('/api/rooms/%zz/messages'), 400, 'worker', 'bad_room'],
  ['%2f in the room', () => get('/api/rooms/a%2fb/messages'), 404, 'worker', 'not_found'],
  ['%00 in the path', () => get('/api/rooms/a%00b/messages'), 400, 'lighttpd'],
  ['a raw NUL in the path', () => Buffer.from(`GET /api/rooms/a\0b/messages HTTP/1.1\r\n${host}Connection: close\r\n\r\n`), 400, 'lighttpd'],
  ['%zz in the query', () => get(`${M}?since=%zz`), 400, 'worker', 'bad_param'],
  ['a lone % in the query', () => get(`${M}?since=1%`), 400, 'worker', 'bad_param'],
  ['%00 in the query', () => get(`${M}?since=1%00`), 400, 'lighttpd'],
  ['%00 in an unknown parameter', () => get(`${M}?x=%00`), 400, 'lighttpd'],
  ['a raw NUL in a header', () => Buffer.from(`GET /api/health HTTP/1.1\r\n${host}X-A: a\0b\r\nConnection: close\r\n\r\n`), 400, 'lighttpd'],
  ['a NUL in Content-Type', () => post(M, send, { type: 'application/json\0x' }), 400, 'lighttpd'],
  ['a NUL in Last-Event-ID', () => get('/api/rooms/a/events', 'Last-Event-ID: 1\0\r\n'), 400, 'lighttpd'],
  ['a bad Last-Event-ID', () => get('/api/rooms/a/events', 'Last-Event-ID: 1x\r\n'), 400, 'worker', 'bad_param'],
  ['a 1 MiB body', () => post(M, JSON.stringify({ nick: 'n', text: 'x'.repeat(1 << 20) })), 413, 'worker', 'too_large'],
  ['a raw NUL inside a JSON string', () => post(M, Buffer.from('{"nick":"n","text":"a\0b"}')), 400, 'worker', 'bad_json'],
  ['a raw NUL after the JSON', () => post(M, Buffer.from('{"nick":"n","text":"ab"}\0')), 400, 'worker', 'bad_json'],
  ['an escaped NUL in the text', () => post(M, '{"nick":"n","text":"a\\u0000b"}'), 400, 'worker', 'bad_text'],
  ['an escaped NUL in the nick', () => post(M, '{"nick":"a\\u0000","text":"b"}'), 400, 'worker', 'bad_nick'],
  ['an escaped NUL in client_id', () => post(M, '{"nick":"a","text":"b","client_id":"\\u0000"}'), 400, 'worker', 'bad_client_id'],
  ['invalid UTF-8 in the body', () => post(M, Buffer.from([...Buffer.from('{"nick":"n","text":"'), 0xc3, 0x28, ...Buffer.from('"}')])), 400, 'worker', 'bad_json'],
  ['JSON nested 10000 deep', () => post(M, '['.repeat(10000)), 400, 'worker', 'bad_json'],
  ['a body just over the limit (16 KiB)', () => post(M, JSON.stringify({ nick: 'n', text: 'x'.repeat(16384) })), 413, 'worker', 'too_large'],
  ['a Content-Length of 10^20', () => Buffer.from(`POST ${M} HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 99999999999999999999\r\nConnection: close\r\n\r\n`), 400, 'lighttpd'],
  ['a negative Content-Length', () => Buffer.from(`POST ${M} HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: -1\r\nConnection: close\r\n\r\n`), 400, 'lighttpd'],
  ['a control byte in the method', () => get('/api/health').replace('GET', 'G\x01T'), 501, 'lighttpd'],
  ['an unknown method', () => get('/api/health').replace('GET', 'BREW'), 501, 'lighttpd'],
];

describe('bad input', () => {
  const seen = [];
  after(() => {
    console.log('# who answers bad input:\n' + seen.map(([n, s, l]) => `#   ${s} ${l.padEnd(8)} ${n}`).join('\n'));
  });

  for (const [name, make, status, layer, code] of CASES) {
    test(`${name}: ${status} from ${layer}${code ? ` (${code})` : ''}`, async () => {
      const pids = srv.workers();
      const db0 = dbState(srv.dbPath);
      const r = await rawExchange(srv.port, make());
      const json = (() => { try { return JSON.parse(r.body); } catch { return undefined; } })();
      seen.push([name, r.status, json?.error ? 'worker' : 'lighttpd']);
      assert.equal(r.status, status, r.text.slice(0, 300));
      if (layer === 'worker') {
        assert.match(r.text, /\r\nContent-Type: application\/json; charset=utf-8\r\n/i);
        assert.equal(json?.error?.code, code, r.body.slice(0, 300));
        assert.ok(json.error.message.length > 10);
      } else {
        assert.equal(json, undefined, 'answered by lighttpd, not the worker');
      }
      assert.deepEqual(dbState(srv.dbPath), db0, 'the database changed');
      assert.deepEqual(srv.workers(), pids, 'a worker died');
    });
  }

  // 100 MiB sent as it is produced, never held whole by this process.
  async function streamHuge(chunked) {
    const MiB = Buffer.alloc(1 << 20, 'x');
    const head = `POST ${M} HTTP/1.1\r\n${host}Content-Type: application/json\r\n` +
      (chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${100 * MiB.length + 2}\r\n`) + 'Connection: close\r\n\r\n';
    const frame = (b) => (chunked ? [Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')] : [b]);
    function* body() {
      yield head;
      yield Buffer.concat(frame(Buffer.from('["')));
      for (let i = 0; i < 100; i++) yield* frame(MiB);
      if (chunked) yield '0\r\n\r\n';
    }
    const r = await rawExchange(srv.port, body(), { timeout: 120000 });
    if (r.error) throw r.error;
    return r;
  }

  for (const chunked of [false, true]) {
    test(`a 100 MiB body${chunked ? ', chunked,' : ''}: 413 from the worker, which never holds it`, { timeout: 120000 }, async (t) => {
      const pids = srv.workers();
      const db0 = dbState(srv.dbPath);
      const peak0 = pids.map((p) => procStatus(p).hwm);
      const t0 = Date.now();
      const r = await streamHuge(chunked);
      assert.equal(r.status, 413, r.body.slice(0, 200));
      assert.equal(JSON.parse(r.body.slice(r.body.indexOf('{'), r.body.lastIndexOf('}') + 1)).error.code, 'too_large');
      const peak = pids.map((p) => procStatus(p).hwm);
      for (const [i, p] of peak.entries()) {
        assert.ok(p - peak0[i] < 8 * 1024, `worker peak memory grew by ${p - peak0[i]} kB`);
      }
      assert.deepEqual(dbState(srv.dbPath), db0);
      assert.deepEqual(srv.workers(), pids);
      t.diagnostic(`answered in ${Date.now() - t0} ms; worker peak VmHWM ${peak0.join('/')} -> ${peak.join('/')} kB`);
    });
  }
});

describe('what is never served', () => {
  // What each of these would show if it were served.
  const SECRETS = [/SQLite format 3/, /var\.fcgichat_bin/, /CREATE TABLE/i, /#include/, /root:x:0:0/, /\[core\]/,
    /fcgichat - real-time web chat/, /ELF/, /startLighttpd/];
  const PATHS = [
    '/chat.db', '/var/chat.db', '/var/', '/sql/001_init.sql', '/sql/', '/conf/lighttpd.conf', '/conf/',
    '/src/api.c', '/src/', '/tests/lib/server.mjs', '/cgi-bin/fcgichat.fcgi', '/build/', '/Makefile', '/.git/config',
    '/../Makefile', '/../../etc/passwd', '/%2e%2e/Makefile', '/%2e%2e/%2e%2e/etc/passwd', '/..%2fMakefile',
    '/%2e%2e%2fconf/lighttpd.conf', '/.%2e/conf/lighttpd.conf', '/%252e%252e/Makefile', '/..\\conf\\lighttpd.conf',
    '/..%5cconf%5clighttpd.conf', '//etc/passwd', '/index.html/../../Makefile', '/index.html/..%2f..%2fMakefile',
    '/js/../../Makefile', '/api/../conf/lighttpd.conf', '/api/..%2f..%2fMakefile', '/api/%2e%2e/%2e%2e/Makefile',
    '/CONF/lighttpd.conf', '/Conf/lighttpd.conf', '/conf./lighttpd.conf', '/conf%2flighttpd.conf', '/sql%2f001_init.sql',
  ];
  // The config also denies these outright, in case the document root is
  // ever set to the project's own directory.
  const DENIED = /^\/(var|sql|conf|src|tests|cgi-bin|build)(\/|$)/;
  for (const p of PATHS) {
    test(`GET ${p} shows nothing it must not`, async () => {
      const r = await rawExchange(srv.port, get(p));
      assert.ok(r.status >= 400 && r.status < 500, `${p}: ${r.status}`);
      if (DENIED.test(p)) assert.equal(r.status, 403, `${p} is denied by the config`);
      for (const s of SECRETS) assert.doesNotMatch(r.body, s, `${p} served a file it must not`);
    });
  }

  test('the document root holds no links that lead out of it', () => {
    const root = fs.realpathSync(path.join(ROOT, 'htdocs'));
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        assert.ok(fs.realpathSync(f).startsWith(root + path.sep), `${f} leads outside htdocs/`);
        if (e.isDirectory()) walk(f);
      }
    };
    walk(root);
  });

  test('the page has Content-Security-Policy, nosniff and Referrer-Policy', async () => {
    for (const p of ['/', '/index.html', '/style.css']) {
      const r = await tryRequest(srv.url, 'GET', p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers['content-security-policy'] ?? '', /(^|;)\s*default-src 'self'(;|$)/, p);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
      assert.match(r.headers['referrer-policy'] ?? '', /^(no-referrer|same-origin|strict-origin|strict-origin-when-cross-origin)$/, p);
    }
  });
});

describe('database permissions', () => {
  const mode = (f) => fs.statSync(f).mode & 0o777;

  test('a fresh database and its directory are created 0600 and 0700, whatever the umask', () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-perm-'));
    try {
      const db = path.join(top, 'new', 'chat.db');
      const r = spawnSync('sh', ['-c', 'umask 000; exec "$0" --init', BIN], {
        env: { ...process.env, FCGICHAT_DB: db }, encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(mode(path.dirname(db)).toString(8), '700');
      for (const f of fs.readdirSync(path.dirname(db))) {
        const p = path.join(path.dirname(db), f);
        assert.equal(mode(p).toString(8), fs.statSync(p).isDirectory() ? '700' : '600', f);
      }
    } finally {
      fs.rmSync(top, { recursive: true, force: true });
    }
  });

  test('while the workers run, every file beside the database is 0600 (directories 0700)', async () => {
    const r = await tryRequest(srv.url, 'POST', '/api/rooms/perm/messages', { body: { nick: 'n', text: 'x' } });
    assert.equal(r.status, 201);
    const files = fs.readdirSync(srv.dir).filter((f) => f.startsWith('chat.db'));
    assert.ok(files.includes('chat.db-wal') && files.includes('chat.db-shm'), files.join(' '));
    for (const f of files) {
      const p = path.join(srv.dir, f);
      assert.equal(mode(p).toString(8), fs.statSync(p).isDirectory() ? '700' : '600', f);
    }
  });
});
