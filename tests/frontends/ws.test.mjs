// ws.test.mjs - WebSocket (GET /api/rooms/ROOM/ws) through each front end
// with the project's own config: lighttpd (mod_proxy), Apache with
// mod_proxy_fcgi and with mod_fcgid (mod_proxy_http, upgrade=websocket):
// the handshake with the backlog, pings and keepalives; a POST delivered
// live; a WebSocket send acked and reaching an event stream; a client
// that vanishes freed within a bound; the worker's 426 for a GET without
// upgrade; the Origin check seeing the browser's Host and scheme, which a
// browser cannot fake; the per-address limit keyed on the address the
// front end saw, whatever X-Forwarded-For the browser sends. Then what
// mod_fcgid does when the worker of a socket, or every worker, is gone.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, FRONTENDS } from '../lib/server.mjs';
import { get, send, openEvents, waitingNow } from '../lib/http.mjs';
import { openWs, framesOf } from './ws-client.mjs';

// Each front end frees a vanished client's socket at once (the tunnel
// sees the close); other processes publish their counts every 500 ms.
const GONE_WITHIN_MS = 3000;
const LISTED = 'http://listed.example';

for (const fe of FRONTENDS) {
  describe(`${fe}: WebSocket`, () => {
    let srv;
    before(async () => {
      // With an allow-list, so that the Origin check compares with the
      // Host and scheme the worker is given (the front end's part).
      srv = await startServer({ frontend: fe, env: { FCGICHAT_KEEPALIVE: '1', FCGICHAT_ALLOW_ORIGINS: LISTED } });
    });
    after(() => srv?.cleanup());

    test('the handshake gets 101 and the backlog after since; a POST then arrives live; pings and keepalives while idle', async () => {
      const first = (await send(srv.url, 'hs', 'alice', 'before')).json;
      const c = openWs(srv.url, 'hs', { since: 0, origin: srv.url });
      await c.opened;
      assert.equal(c.status, 101, c.error?.message ?? c.text);
      assert.equal(c.headers.upgrade.toLowerCase(), 'websocket');
      await c.until((x) => x.frames.length >= 1, 5000, 'the backlog');
      assert.deepEqual(c.frames[0], { type: 'message', message: first });
      const t0 = Date.now();
      const m = (await send(srv.url, 'hs', 'bob', 'live')).json;
      await c.until((x) => framesOf(x, 'message').length === 2, 5000, 'the live message');
      const took = Date.now() - t0;
      assert.deepEqual(framesOf(c, 'message')[1].message, m);
      assert.ok(took < 1000, `delivered ${took} ms after the send`);
      await c.until((x) => x.pings >= 1 && framesOf(x, 'keepalive').length >= 1, 5000, 'a ping and a keepalive');
      c.close();
      await c.until((x) => x.closed, 5000, 'the close');
    });

    test('a send over the WebSocket is acked and reaches an event stream of the room', async () => {
      const es = openEvents(srv.url, 'dup');
      await es.until((x) => x.retry !== null);
      const c = openWs(srv.url, 'dup', { origin: srv.url });
      await c.opened;
      assert.equal(c.status, 101, c.error?.message ?? c.text);
      c.send({ type: 'send', nick: 'carol', text: 'over the socket', client_id: 'fe-1' });
      await c.until((x) => framesOf(x, 'ack').length === 1, 5000, 'the ack');
      const ack = framesOf(c, 'ack')[0];
      assert.equal(ack.client_id, 'fe-1');
      assert.equal(ack.message.text, 'over the socket');
      await es.until((x) => x.events.length === 1, 5000, 'the event');
      assert.deepEqual(es.events[0].json, ack.message);
      await c.until((x) => framesOf(x, 'message').length === 1, 5000, 'its own message');
      assert.deepEqual(framesOf(c, 'message')[0].message, ack.message);
      es.close();
      c.close();
    });

    test(`a client that vanishes (no close frame) is no longer waiting within ${GONE_WITHIN_MS} ms`, async (t) => {
      await waitFor(async () => (await waitingNow(srv.url)).ws === 0, { what: 'no WebSocket waiting' });
      const c = openWs(srv.url, 'gone', { origin: srv.url });
      await c.opened;
      assert.equal(c.status, 101, c.error?.message ?? c.text);
      await waitFor(async () => (await waitingNow(srv.url)).ws === 1, { what: 'the WebSocket counted' });
      const t0 = Date.now();
      c.terminate();
      await waitFor(async () => (await waitingNow(srv.url)).ws === 0,
        { timeout: GONE_WITHIN_MS, interval: 50, what: 'waiting.ws back at 0' });
      const took = Date.now() - t0;
      t.diagnostic(`${fe}: freed after ${took} ms`);
      assert.ok(took < GONE_WITHIN_MS, `freed after ${took} ms`);
    });

    test('a GET of the path without an upgrade gets the worker\'s 426', async () => {
      const r = await get(srv.url, '/api/rooms/lobby/ws');
      assert.equal(r.status, 426, r.text);
      assert.equal(r.json?.error?.code, 'upgrade_required');
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(r.headers.upgrade, 'websocket');
    });

    test('Origin: the page\'s own is let in, another site\'s refused, and a browser\'s X-Forwarded-Proto cannot make https its own', async () => {
      const own = openWs(srv.url, 'o', { origin: srv.url });
      await own.opened;
      assert.equal(own.status, 101, `the worker did not see the browser's Host: ${own.text}`);
      own.close();
      const listed = await openWs(srv.url, 'o', { origin: LISTED }).opened;
      assert.equal(listed.status, 101, listed.text);
      listed.close();
      const other = await openWs(srv.url, 'o', { origin: 'http://evil.example' }).opened;
      assert.equal(other.status, 403, other.text);
      assert.equal(other.json?.error?.code, 'forbidden');
      const https = srv.url.replace('http:', 'https:');
      const faked = await openWs(srv.url, 'o', { origin: https, headers: { 'X-Forwarded-Proto': 'https' } }).opened;
      assert.equal(faked.status, 403, `an https origin let in over http: ${faked.text}`);
    });
  });

  test(`${fe}: the waiting limit counts the address the front end saw, whatever X-Forwarded-For the browser sends`, async () => {
    const srv = await startServer({ frontend: fe, env: { FCGICHAT_MAX_WAITING: '1' } });
    try {
      const a = await openWs(srv.url, 'xff', { origin: srv.url, headers: { 'X-Forwarded-For': '198.51.100.1' } }).opened;
      assert.equal(a.status, 101, a.text);
      const b = await openWs(srv.url, 'xff', { origin: srv.url, headers: { 'X-Forwarded-For': '198.51.100.2, 198.51.100.3' } }).opened;
      assert.equal(b.status, 429, `a second address was made up: ${b.status} ${b.text}`);
      assert.equal(b.json?.error?.code, 'rate_limited');
      a.close();
    } finally {
      await srv.cleanup();
    }
  });
}

// --- mod_fcgid: WebSocket needs a worker that FastCGI started -------------

// The socket a worker took, from its log line.
function socketOf(srv, pid) {
  return new RegExp(`fcgichat\\[${pid}\\] info: ws_accept: WebSocket upgrades on \\S*/(ws-\\d+)\\.sock`).exec(srv.log())?.[1];
}

describe('mod_fcgid: WebSocket and the workers it starts', () => {
  let srv;
  before(async () => { srv = await startServer({ frontend: 'apache-fcgid', fcgidProcs: 6 }); });
  after(() => srv?.cleanup());

  test('with the worker holding ws-0 gone, a WebSocket opens on the next one in the same request', async () => {
    // Three held requests: three workers, on ws-0, ws-1 and ws-2.
    await Promise.all([1, 2, 3].map(() => get(srv.url, '/api/rooms/busy/messages?since=1000&wait=1')));
    await waitFor(() => srv.workers().filter((p) => socketOf(srv, p)).length >= 2, { what: 'two workers with a socket' });
    const first = srv.workers().find((p) => socketOf(srv, p) === 'ws-0');
    assert.ok(first, 'a worker holds ws-0');
    const c = openWs(srv.url, 'fo', { origin: srv.url });
    await c.opened;
    assert.equal(c.status, 101, c.text);
    process.kill(first, 'SIGKILL');
    await c.until((x) => x.closed, 5000, 'its WebSocket cut');
    const d = await openWs(srv.url, 'fo', { origin: srv.url }).opened;
    assert.equal(d.status, 101, `${d.status} ${d.text}`);
    d.close();
  });

  test('with no worker running, a WebSocket gets 503 with the API\'s error body at once; after a FastCGI request it opens', async () => {
    for (const p of srv.workers()) process.kill(p, 'SIGKILL');
    await waitFor(() => srv.workers().length === 0, { what: 'no worker' });
    const t0 = Date.now();
    const r = await openWs(srv.url, 'cold', { origin: srv.url }).opened;
    assert.equal(r.status, 503, r.text);
    assert.ok(Date.now() - t0 < 2000, `refused after ${Date.now() - t0} ms`);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.json?.error?.code, 'unavailable');
    assert.equal(r.headers['retry-after'], '5');
    assert.equal(srv.workers().length, 0, 'a WebSocket starts no worker');
    // mod_fcgid may hand the first request to a killed worker it has not
    // reaped yet (500, "End of script output before headers"): retry.
    await waitFor(async () => (await get(srv.url, '/api/health')).status === 200, { what: 'a worker started by FastCGI' });
    const c = await openWs(srv.url, 'cold', { origin: srv.url }).opened;
    assert.equal(c.status, 101, `${c.status} ${c.text}`);
    c.close();
  });
});
