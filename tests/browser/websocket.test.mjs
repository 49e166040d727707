// websocket.test.mjs - the page on WebSocket: Auto picks it and the page's
// sends go over it; when something between browser and server refuses the
// upgrade (400, a 200 page, a 101 that is not chat) Auto ends on SSE, chat
// works, and it tries the WebSocket again 10 minutes later; a socket that
// drops or goes silent (half-open) resumes from its cursor, and a send in
// flight when it drops is stored and shown exactly once. The page talks
// to the server through proxy.mjs, which can refuse, cut or mute.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { get, send as apiSend } from '../lib/http.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, typeAndSend,
  shownIds, shownTexts, assertNoDuplicates, WAIT,
} from './helpers.mjs';
import { startProxy } from './proxy.mjs';

// Falling back and reconnecting wait out a backoff of a few seconds.
const SLOW = 45000;

let srv;
let browser;
const proxies = [];

before(async () => {
  srv = await startLighttpd({ procs: 2 });
  browser = await launch();
});

after(async () => {
  for (const p of proxies) await p.close().catch(() => {});
  await browser?.close();
  await srv?.cleanup();
});

async function proxy(upgrade = 'pass') {
  const p = await startProxy(srv.url, { upgrade });
  proxies.push(p);
  return p;
}

/** Records a page's POSTs (their bodies) and the frames it sends over WebSockets. */
function wiretap(page) {
  page.posts = [];
  page.frames = [];
  page.sockets = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST') page.posts.push(r.postDataJSON());
  });
  page.on('websocket', (ws) => {
    page.sockets += 1;
    ws.on('framesent', ({ payload }) => {
      try { page.frames.push(JSON.parse(payload)); } catch { page.frames.push(payload); }
    });
  });
}

const transportIs = (page, kind, timeout = SLOW) => page.waitForFunction((k) =>
  window.fcgichat.transport() === k && window.fcgichat.state() === 'connected', kind, { timeout });

const outboxEmpty = (page) => page.waitForFunction(() => window.fcgichat.outbox().length === 0,
  null, { timeout: SLOW });

const stored = (room, text) => Number(srv.sql(
  `SELECT count(*) FROM messages WHERE room='${room}' AND text='${text}'`).trim());

test('Auto picks WebSocket, counted at the server; the page sends over it', async () => {
  const room = 'ws-auto';
  const ctx = await newContext(browser);
  const page = await openChat(ctx, srv, { room, nick: 'wendy', setup: wiretap });
  await waitConnected(page, 'ws');
  const status = page.locator('#status');
  assert.equal(await status.getAttribute('data-mode'), 'auto');
  assert.equal(await status.getAttribute('data-transport'), 'ws');
  assert.equal(await status.locator('.status-kind').textContent(), 'Auto · WebSocket');
  assert.match(await status.textContent(), /connected/);
  await waitFor(async () => (await get(srv.url, '/api/stats')).json.waiting.ws === 1,
    { timeout: WAIT, what: 'one WebSocket waiting at the server' });

  await typeAndSend(page, 'over the socket');
  await waitTexts(page, ['over the socket']);
  await outboxEmpty(page);
  const sends = page.frames.filter((f) => f.type === 'send');
  assert.equal(sends.length, 1);
  assert.equal(sends[0].text, 'over the socket');
  assert.equal(sends[0].nick, 'wendy');
  assert.deepEqual(page.posts, [], 'no POST while the socket is up');
  assert.equal(await page.locator('#messages .msg.mine').count(), 1);
  assert.equal(stored(room, 'over the socket'), 1);
  assert.equal(page.sockets, 1);
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

const REFUSALS = {
  refuse: 'refused with 400',
  ignore: 'answered 200 with a page',
  babble: 'answered 101 and then not chat',
};

for (const [mode, what] of Object.entries(REFUSALS)) {
  test(`Auto ends on SSE when the upgrade is ${what}, and chat works`, async () => {
    const room = `ws-${mode}`;
    const front = await proxy(mode);
    const a = await newContext(browser);
    const b = await newContext(browser);
    const alice = await openChat(a, front, { room, nick: 'alice', setup: wiretap });
    await transportIs(alice, 'sse');
    assert.equal(await alice.locator('#status .status-kind').textContent(), 'Auto · SSE');
    // Refused before opening: once is enough. Opened but not chat: as
    // any failing transport, a few times.
    if (mode === 'babble') assert.ok(front.upgrades >= 3, `upgrades ${front.upgrades}`);
    else assert.ok(front.upgrades >= 1 && front.upgrades <= 2, `upgrades ${front.upgrades}`);

    // bob is not behind that proxy: he is on a WebSocket.
    const bob = await openChat(b, srv, { room, nick: 'bob' });
    await transportIs(bob, 'ws');
    await typeAndSend(alice, 'hi bob, from behind the proxy');
    await waitTexts(bob, ['hi bob, from behind the proxy']);
    await typeAndSend(bob, 'hi alice, over the socket');
    await waitTexts(alice, ['hi bob, from behind the proxy', 'hi alice, over the socket']);
    await outboxEmpty(alice);
    assert.equal(alice.posts.length, 1, 'alice sent by POST');
    // Settled on SSE: no more upgrade attempts for now.
    const tries = front.upgrades;
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(front.upgrades, tries);
    assert.equal(await alice.evaluate(() => window.fcgichat.transport()), 'sse');
    const ids = await shownIds(alice);
    assertNoDuplicates(assert, ids);
    assert.deepEqual(ids, srv.roomIds(room));
    assert.deepEqual(a.problems, []);
    assert.deepEqual(b.problems, []);
    await a.close();
    await b.close();
  });
}

test('Auto tries the WebSocket again 10 minutes after falling back', async () => {
  const room = 'ws-upgrade';
  const front = await proxy('refuse');
  const ctx = await newContext(browser);
  const page = await openChat(ctx, front, { room, nick: 'uma', setup: (p) => p.clock.install() });
  await transportIs(page, 'sse');
  await apiSend(srv.url, room, 'x', 'via the stream');
  await waitTexts(page, ['via the stream'], SLOW);

  front.upgrade = 'pass';
  await page.clock.fastForward('09:00');
  assert.equal(await page.evaluate(() => window.fcgichat.transport()), 'sse', 'not before 10 minutes');
  await page.clock.fastForward('01:01');
  await transportIs(page, 'ws');
  assert.equal(await page.locator('#status .status-kind').textContent(), 'Auto · WebSocket');
  await apiSend(srv.url, room, 'x', 'via the socket');
  await waitTexts(page, ['via the stream', 'via the socket'], SLOW);
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  await ctx.close();
});

test('a WebSocket cut mid-chat resumes without loss or duplicates', async () => {
  const room = 'ws-cut';
  const front = await proxy();
  const ctx = await newContext(browser);
  const page = await openChat(ctx, front, { room, nick: 'reader', transport: 'ws' });
  await waitConnected(page, 'ws');
  const sent = [];
  let stop = false;
  const talker = (async () => {
    for (let i = 0; !stop && i < 400; i++) {
      const r = await apiSend(srv.url, room, 'talker', `m${i}`);
      assert.equal(r.status, 201, r.text);
      sent.push(r.json.id);
      await new Promise((res) => setTimeout(res, 30));
    }
  })();
  for (let cut = 0; cut < 3; cut++) {
    await page.waitForFunction((n) => window.fcgichat.ids().length >= n, sent.length + 3, { timeout: SLOW });
    await waitConnected(page, 'ws', SLOW);
    front.cut();
    await page.waitForFunction(() => window.fcgichat.state() !== 'connected', null, { timeout: WAIT });
  }
  await waitConnected(page, 'ws', SLOW);
  stop = true;
  await talker;
  await page.waitForFunction((id) => window.fcgichat.ids().includes(id), sent.at(-1), { timeout: SLOW });
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids, 'shown');
  assert.deepEqual(ids, sent, 'every message exactly once, in order');
  assert.ok(front.upgrades >= 4, `upgrades ${front.upgrades}`);
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

test('a send in flight when the WebSocket drops is stored and shown once', async () => {
  const room = 'ws-inflight';
  const front = await proxy();
  const ctx = await newContext(browser);
  const page = await openChat(ctx, front, { room, nick: 'ines', transport: 'ws', setup: wiretap });
  await waitConnected(page, 'ws');

  // The server stores it, but its ack never reaches the page.
  front.mute();
  await typeAndSend(page, 'stored, answer lost');
  await waitFor(() => stored(room, 'stored, answer lost') === 1, { timeout: WAIT, what: 'the send stored' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await page.locator('#outbox .msg.pending').count(), 1, 'still pending: no ack came');
  assert.deepEqual(page.posts, []);
  front.cut();
  await waitTexts(page, ['stored, answer lost'], SLOW);
  await outboxEmpty(page);
  const first = page.frames.find((f) => f.text === 'stored, answer lost');
  assert.deepEqual(page.posts.map((p) => p.client_id), [first.client_id], 'the same send, by POST');

  // The server never sees the frame.
  await waitConnected(page, 'ws', SLOW);
  front.hold();
  await typeAndSend(page, 'never arrived');
  await page.waitForFunction(() => window.fcgichat.outbox().length === 1, null, { timeout: WAIT });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(stored(room, 'never arrived'), 0);
  front.cut();
  await waitTexts(page, ['never arrived'], SLOW);
  await outboxEmpty(page);
  const second = page.frames.find((f) => f.text === 'never arrived');
  assert.equal(page.posts.length, 2);
  assert.equal(page.posts[1].client_id, second.client_id);

  await waitConnected(page, 'ws', SLOW);
  await apiSend(srv.url, room, 'x', 'and on it goes');
  await waitTexts(page, ['and on it goes'], SLOW);
  assert.deepEqual(await shownTexts(page), ['stored, answer lost', 'never arrived', 'and on it goes']);
  assert.equal(stored(room, 'stored, answer lost'), 1);
  assert.equal(stored(room, 'never arrived'), 1);
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  assert.equal(await page.locator('#outbox .msg').count(), 0);
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

test('a WebSocket gone silent (half-open) is dropped after 40 s; the page catches up', async () => {
  const room = 'ws-silent';
  const front = await proxy();
  const ctx = await newContext(browser);
  const page = await openChat(ctx, front, {
    room, nick: 'sam', transport: 'ws', setup: (p) => p.clock.install(),
  });
  await waitConnected(page, 'ws');
  await apiSend(srv.url, room, 'x', 'before');
  await waitTexts(page, ['before']);
  front.mute();
  await apiSend(srv.url, room, 'x', 'unheard 1');
  await apiSend(srv.url, room, 'x', 'unheard 2');
  await new Promise((r) => setTimeout(r, 500));
  // Second by second, as a page that stays awake sees it: not a sleep.
  await page.clock.runFor(39000);
  assert.deepEqual(await shownTexts(page), ['before']);
  assert.equal(await page.evaluate(() => window.fcgichat.state()), 'connected', 'looks fine for 39 s');
  await page.clock.runFor(2000);
  await waitTexts(page, ['unheard 1', 'unheard 2'], SLOW);
  await waitConnected(page, 'ws');
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  await waitFor(() => front.tunnels() === 1, { timeout: WAIT, what: 'the silent socket closed' });
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});
