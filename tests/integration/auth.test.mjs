// auth.test.mjs - the chat behind a Basic login (startServer({ auth: true }):
// conf/lighttpd-auth.conf, conf/apache-auth.conf) on the front end of
// FCGICHAT_FRONTEND: who is let in, on every transport, and what stays open.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, USERS } from '../lib/server.mjs';
import { get, send, openEvents, basicAuth } from '../lib/http.mjs';
import { openWs, upgradeRequest, upgradeHeaders, wsPath } from '../lib/ws.mjs';

describe('behind a Basic login', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer({ auth: true });
    base = srv.url;
  });
  after(async () => { await srv?.cleanup(); });

  test('the page and the API ask for a login; a wrong password is refused and stores nothing', async () => {
    for (const path of ['/', '/index.html', '/api/rooms', '/api/rooms/lobby/messages?since=0']) {
      const r = await get(base, path);
      assert.equal(r.status, 401, path);
      assert.match(String(r.headers['www-authenticate']), /^Basic realm="fcgichat"/, path);
      const bad = await get(base, path, { headers: basicAuth('alice', 'bob') });
      assert.equal(bad.status, 401, path);
    }
    const refused = await get(base, '/api/rooms/lobby/messages?since=0');
    assert.equal(refused.json?.error?.code, 'unauthorized', refused.text);
    assert.equal((await send(base, 'lobby', 'x', 'no login')).status, 401);
    assert.equal((await send(base, 'lobby', 'x', 'bad', {}, { headers: basicAuth('bob', 'alice') })).status, 401);
    assert.equal(srv.sql('SELECT count(*) FROM messages').trim(), '0');
  });

  test('each demo user logs in with the password equal to the name', async () => {
    for (const u of USERS) {
      assert.equal((await get(base, '/', { auth: u })).status, 200, u);
      assert.equal((await get(base, '/api/rooms', { auth: u })).status, 200, u);
    }
    assert.equal((await send(base, 'lobby', 'alice', 'hi', {}, { auth: 'alice' })).status, 201);
    const r = await get(base, '/api/rooms/lobby/messages?since=0', { auth: 'bob' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.messages.map((m) => m.text), ['hi']);
  });

  test('health and stats keep their own access rules', async () => {
    assert.equal((await get(base, '/api/health')).status, 200);
    assert.equal((await get(base, '/api/stats')).status, 200);
  });

  test('an event stream and a WebSocket need the login too', async () => {
    const anon = openEvents(base, 'lobby', { since: 0 });
    await anon.opened;
    assert.equal(anon.status, 401);
    anon.close();
    const s = openEvents(base, 'lobby', { since: 0, auth: 'carol' });
    await s.opened;
    assert.equal(s.status, 200);
    await s.until((x) => x.events.some((e) => e.json?.text === 'hi'), 20000, 'the message on the stream');
    s.close();

    const refused = await upgradeRequest(base, wsPath('lobby', 0), { headers: upgradeHeaders() });
    assert.equal(refused.status, 401);
    const ws = openWs(base, 'lobby', { since: 0, auth: 'bob' });
    await ws.opened;
    assert.equal(ws.status, 101, ws.describe());
    await ws.until((c) => c.messages().some((m) => m.text === 'hi'), 20000, 'the message over the WebSocket');
    ws.close();
    await ws.done;
  });
});
