// limits.test.mjs - whom the send and waiting limits count, through the
// front end of FCGICHAT_FRONTEND (lighttpd with two workers, Apache with
// mod_proxy_fcgi or mod_fcgid):
// - behind a trusted reverse proxy (a second lighttpd, tests/lib/
//   revproxy.mjs, with FCGICHAT_TRUSTED_PROXIES switching on
//   conf/lighttpd-extforward.conf or conf/apache-remoteip.conf), each
//   visitor by the address the proxy saw (visitors connect from 127.0.0.2,
//   127.0.0.3 ...), on every transport alike; a client that is not a
//   trusted proxy cannot choose its address with X-Forwarded-For;
// - behind a login, each user, whatever the address;
// - /api/stats names who is waiting and refused most, and the log (at
//   info) names whom a 429 counted, once per client per 10 s;
// - the default caps (README, Configuration) hold.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, capacityOf, FRONTEND } from '../lib/server.mjs';
import { startReverseProxy, PROXY_ADDRESS } from '../lib/revproxy.mjs';
import { get, request, openEvents } from '../lib/http.mjs';
import { openWs } from '../lib/ws.mjs';

const RATE = { FCGICHAT_SEND_RATE: '1', FCGICHAT_SEND_BURST: '3', FCGICHAT_MAX_WAITING: '2' };

// n sends at once from one client ({ localAddress, auth, headers }, or a
// function of the send's index giving them). Resolves to { ok, limited,
// took } (took: seconds); every answer is 201 or 429, a 429 with
// Retry-After and the rate_limited code.
async function burst(base, room, n, who) {
  const t0 = Date.now();
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => {
    const opts = typeof who === 'function' ? who(i) : who;
    return request(base, 'POST', `/api/rooms/${room}/messages`, { ...opts, body: { nick: 'n', text: `m${i}` } });
  }));
  const took = (Date.now() - t0) / 1000;
  const ok = answers.filter((r) => r.status === 201).length;
  const limited = answers.filter((r) => r.status === 429);
  assert.equal(ok + limited.length, n, answers.map((r) => r.status).join(' '));
  for (const r of limited) {
    assert.equal(r.json.error.code, 'rate_limited');
    assert.ok(Number(r.headers['retry-after']) >= 1);
  }
  return { ok, limited: limited.length, took };
}

// A burst of 12 against a bucket of 3 refilled once a second: at most 3
// and one a second pass, so some are refused unless it took 9 s.
function assertBucket({ ok, limited, took }, what) {
  assert.ok(ok >= 3 && ok <= 3 + Math.ceil(took), `${what}: ${ok} of 12 passed a burst of 3 in ${took} s`);
  assert.ok(limited >= 1, `${what}: none refused in ${took} s`);
}

// The limits' part of /api/stats (asked from 127.0.0.1, the server itself).
async function limitsNow(srv) {
  const r = await get(srv.url, '/api/stats');
  assert.equal(r.status, 200, r.text);
  return r.json.limits;
}

const entryOf = (list, key, value) => list.find((e) => e[key] === value);

// The log lines of 429s that named who.
const refusalLines = (srv, who) => srv.log().split('\n').filter((l) => l.includes(`: 429 for ${who}: `));

describe('behind a trusted reverse proxy', () => {
  let srv;
  let proxy;
  before(async () => {
    srv = await startServer({
      procs: 2,
      env: { ...RATE, FCGICHAT_TRUSTED_PROXIES: PROXY_ADDRESS, FCGICHAT_LOG_LEVEL: 'info' },
    });
    proxy = await startReverseProxy(srv);
  });
  after(async () => {
    await proxy?.stop();
    await srv?.cleanup();
  });

  test('two visitors behind the proxy have a send budget each; stats and the log name the visitor', async () => {
    const a = await burst(proxy.url, 'px', 12, { localAddress: '127.0.0.2' });
    assertBucket(a, 'visitor 127.0.0.2');
    // The other visitor's bucket is whole.
    const b = await burst(proxy.url, 'px', 3, { localAddress: '127.0.0.3' });
    assert.equal(b.ok, 3, 'visitor 127.0.0.3 was limited with 127.0.0.2');

    const limits = await limitsNow(srv);
    assert.equal(limits.send_rate, 1);
    assert.equal(limits.send_burst, 3);
    assert.equal(limits.max_waiting, 2);
    assert.equal(limits.window_s, 300);
    const e = entryOf(limits.top_refused, 'address', '127.0.0.2');
    assert.ok(e, JSON.stringify(limits));
    assert.equal(e.refused_send, a.limited);
    assert.equal(entryOf(limits.top_refused, 'address', PROXY_ADDRESS), undefined, 'the proxy was limited');
    assert.equal(entryOf(limits.top_refused, 'address', '127.0.0.3'), undefined);

    // One line for the visitor (two if the burst straddled 10 s), none
    // for the proxy: a flood of 429s does not fill the log.
    await waitFor(() => refusalLines(srv, '127.0.0.2').length >= 1, { what: 'the 429 log line' });
    const lines = refusalLines(srv, '127.0.0.2');
    assert.ok(lines.length <= 1 + Math.ceil(a.took / 10), lines.join('\n'));
    assert.match(lines[0], /info: limit_send: 429 for 127\.0\.0\.2: over 1 sends\/s \(burst 3\)/);
    assert.deepEqual(refusalLines(srv, PROXY_ADDRESS), []);
  });

  test('a client that is not a trusted proxy cannot choose its address with X-Forwarded-For', async () => {
    const forged = (i) => ({ localAddress: '127.0.0.4', headers: { 'X-Forwarded-For': `198.51.100.${i + 1}` } });
    assertBucket(await burst(srv.url, 'px', 12, forged), 'direct client 127.0.0.4');
    // Nor through the proxy: it appends the address it saw.
    const viaProxy = (i) => ({ localAddress: '127.0.0.5', headers: { 'X-Forwarded-For': `198.51.100.${i + 101}` } });
    assertBucket(await burst(proxy.url, 'px', 12, viaProxy), 'visitor 127.0.0.5');
    const limits = await limitsNow(srv);
    for (const addr of ['127.0.0.4', '127.0.0.5']) {
      assert.ok(entryOf(limits.top_refused, 'address', addr), `${addr}: ${JSON.stringify(limits)}`);
    }
    for (const e of [...limits.top_refused, ...limits.top_waiting]) {
      assert.doesNotMatch(String(e.address), /^198\.51\.100\./, JSON.stringify(e));
    }
  });

  test('each visitor has its own waiting cap, and /api/stats shows who waits', async () => {
    const a = [0, 1].map(() => openEvents(proxy.url, 'pw', { localAddress: '127.0.0.6' }));
    await Promise.all(a.map((s) => s.opened));
    assert.deepEqual(a.map((s) => s.status), [200, 200]);
    const third = openEvents(proxy.url, 'pw', { localAddress: '127.0.0.6' });
    await third.opened;
    await third.until((x) => x.ended, 10000, 'the refused stream to end');
    assert.equal(third.status, 429);
    const poll = await get(proxy.url, '/api/rooms/pw/messages?since=0&wait=5', { localAddress: '127.0.0.6' });
    assert.equal(poll.status, 429);
    assert.equal(poll.json.error.code, 'rate_limited');
    // Another visitor behind the same proxy is not affected.
    const b = openEvents(proxy.url, 'pw', { localAddress: '127.0.0.7' });
    await b.opened;
    assert.equal(b.status, 200);

    const limits = await limitsNow(srv);
    const e = entryOf(limits.top_waiting, 'address', '127.0.0.6');
    assert.ok(e, JSON.stringify(limits));
    assert.equal(e.waiting, 2);
    assert.equal(e.refused_waiting, 2);
    assert.equal(entryOf(limits.top_waiting, 'address', '127.0.0.7').waiting, 1);
    assert.equal(entryOf(limits.top_waiting, 'address', PROXY_ADDRESS), undefined);
    await waitFor(() => refusalLines(srv, '127.0.0.6').length === 1, { what: 'one waiting 429 line' });
    assert.match(refusalLines(srv, '127.0.0.6')[0], /limit_wait_acquire: 429 for 127\.0\.0\.6: 2 waiting already/);
    for (const s of [...a, b]) s.close();
  });

  test('the WebSocket path counts the same visitor as the other transports', async () => {
    // One event stream and one WebSocket fill 127.0.0.8's two places.
    const sse = openEvents(proxy.url, 'pws', { localAddress: '127.0.0.8' });
    await sse.opened;
    assert.equal(sse.status, 200);
    const ws = openWs(proxy.url, 'pws', { localAddress: '127.0.0.8' });
    await ws.opened;
    assert.equal(ws.status, 101, ws.describe());
    const refused = openWs(proxy.url, 'pws', { localAddress: '127.0.0.8' });
    await refused.opened;
    assert.equal(refused.status, 429, refused.describe());
    assert.equal(refused.refused.json.error.code, 'rate_limited');
    const other = openWs(proxy.url, 'pws', { localAddress: '127.0.0.9' });
    await other.opened;
    assert.equal(other.status, 101, other.describe());

    // Sends over the WebSocket share the visitor's bucket with POSTs.
    const posts = await burst(proxy.url, 'pws', 12, { localAddress: '127.0.0.8' });
    assertBucket(posts, 'POSTs of 127.0.0.8');
    for (let i = 0; i < 5; i++) {
      ws.ws.send(JSON.stringify({ type: 'send', nick: 'w', text: `ws${i}`, client_id: `pws-${i}` }));
    }
    await ws.until((c) => c.frames.filter((f) => f.type === 'ack' || f.type === 'error').length === 5,
      20000, 'five answers over the WebSocket');
    const errors = ws.frames.filter((f) => f.type === 'error');
    assert.ok(errors.length >= 1, JSON.stringify(ws.frames));
    for (const f of errors) assert.equal(f.error.code, 'rate_limited');

    const limits = await limitsNow(srv);
    const e = entryOf(limits.top_refused, 'address', '127.0.0.8');
    assert.ok(e, JSON.stringify(limits));
    assert.equal(e.waiting, 2);
    assert.equal(e.refused_waiting, 1);
    assert.equal(e.refused_send, posts.limited + errors.length);
    assert.equal(entryOf(limits.top_waiting, 'address', PROXY_ADDRESS), undefined);
    for (const c of [ws, other]) c.close();
    sse.close();
    await Promise.all([ws.done, other.done]);
  });
});

describe('people, not addresses', () => {
  let srv;
  before(async () => {
    srv = await startServer({ procs: 2, auth: true, env: { ...RATE, FCGICHAT_LOG_LEVEL: 'info' } });
  });
  after(async () => { await srv?.cleanup(); });

  test('signed-in users at one address have a send budget each', async () => {
    assertBucket(await burst(srv.url, 'pp', 12, { auth: 'alice' }), 'alice');
    const bob = await burst(srv.url, 'pp', 3, { auth: 'bob' });
    assert.equal(bob.ok, 3, 'bob was limited with alice');
    const limits = await limitsNow(srv);
    assert.ok(entryOf(limits.top_refused, 'user', 'alice'), JSON.stringify(limits));
    assert.equal(entryOf(limits.top_refused, 'user', 'bob'), undefined);
    assert.equal(entryOf(limits.top_refused, 'address', '127.0.0.1'), undefined);
    await waitFor(() => refusalLines(srv, 'u:alice').length >= 1, { what: "alice's 429 log line" });
  });

  test('each user has its own waiting cap, whatever the address', async () => {
    const streams = [0, 1].map((i) => openEvents(srv.url, 'pq', { auth: 'carol', localAddress: `127.0.0.${10 + i}` }));
    await Promise.all(streams.map((s) => s.opened));
    assert.deepEqual(streams.map((s) => s.status), [200, 200]);
    const third = openEvents(srv.url, 'pq', { auth: 'carol', localAddress: '127.0.0.12' });
    await third.opened;
    await third.until((x) => x.ended, 10000, 'the refused stream to end');
    assert.equal(third.status, 429);
    const bob = openEvents(srv.url, 'pq', { auth: 'bob', localAddress: '127.0.0.10' });
    await bob.opened;
    assert.equal(bob.status, 200);
    const limits = await limitsNow(srv);
    assert.equal(entryOf(limits.top_waiting, 'user', 'carol')?.waiting, 2, JSON.stringify(limits));
    assert.equal(entryOf(limits.top_waiting, 'user', 'bob')?.waiting, 1);
    for (const s of [...streams, bob]) s.close();
  });
});

describe('the default caps', () => {
  let srv;
  before(async () => {
    // Empty is unset: the worker's defaults, not the tests' "off".
    srv = await startServer({ procs: 2, env: { FCGICHAT_SEND_RATE: '', FCGICHAT_SEND_BURST: '', FCGICHAT_MAX_WAITING: '' } });
  });
  after(async () => { await srv?.cleanup(); });

  test('are 20 sends/s with a burst of 100, and 500 waiting, per client', async () => {
    const limits = await limitsNow(srv);
    assert.deepEqual([limits.send_rate, limits.send_burst, limits.max_waiting], [20, 100, 500]);
  });

  test('a client gets 100 sends at once, then 20 a second', async () => {
    const r = await burst(srv.url, 'dflt', 300, { localAddress: '127.0.0.20' });
    assert.ok(r.ok >= 100 && r.ok <= 100 + 20 * Math.ceil(r.took), `${r.ok} of 300 passed in ${r.took} s`);
    assert.ok(r.limited >= 1, `none of 300 refused in ${r.took} s`);
    assert.equal((await burst(srv.url, 'dflt', 1, { localAddress: '127.0.0.21' })).ok, 1);
  });

  // mod_fcgid holds one waiting client per process (40 in the tests).
  test('a client holds at most 500 waiting requests; the 501st gets 429', { skip: capacityOf(FRONTEND) < 600 }, async () => {
    const held = Array.from({ length: 500 }, () => openEvents(srv.url, 'dfltw', { localAddress: '127.0.0.22', onEvent: () => {} }));
    try {
      await Promise.all(held.map((s) => s.opened));
      assert.deepEqual([...new Set(held.map((s) => s.status))], [200]);
      const e = entryOf((await limitsNow(srv)).top_waiting, 'address', '127.0.0.22');
      assert.equal(e?.waiting, 500);
      const more = await get(srv.url, '/api/rooms/dfltw/messages?since=0&wait=5', { localAddress: '127.0.0.22' });
      assert.equal(more.status, 429);
      const other = openEvents(srv.url, 'dfltw', { localAddress: '127.0.0.23' });
      await other.opened;
      assert.equal(other.status, 200);
      other.close();
    } finally {
      for (const s of held) s.close();
    }
  });
});
