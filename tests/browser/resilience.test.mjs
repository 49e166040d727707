// resilience.test.mjs - never lose, never repeat: the server stopped and
// restarted under an open page (each transport), a message sent during the
// outage, the network dropping and coming back, and Auto falling back when
// a transport keeps failing while the server itself is fine, and going
// back to event streams 10 minutes later (the page's clock moved on).
// (websocket.test.mjs has the WebSocket's own drops and refusals.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd } from '../lib/server.mjs';
import { send as apiSend } from '../lib/http.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, typeAndSend,
  shownIds, shownTexts, assertNoDuplicates, screenshot,
} from './helpers.mjs';

// Reconnecting waits out a backoff of a few seconds: allow for it.
const SLOW = 45000;

let srv;
let browser;

before(async () => {
  srv = await startLighttpd({ procs: 2 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.cleanup();
});

async function waitState(page, state, timeout = SLOW) {
  await page.waitForFunction((s) => window.fcgichat.state() === s, state, { timeout });
}

for (const kind of ['ws', 'sse', 'longpoll', 'poll']) {
  test(`server restart under an open page (${kind}): no gap, no duplicate`, async () => {
    const room = `restart-${kind}`;
    const ctx = await newContext(browser);
    const page = await openChat(ctx, srv, { room, nick: 'stayer', transport: kind, interval: 1 });
    await waitConnected(page, kind);
    await apiSend(srv.url, room, 'other', 'before the restart');
    await waitTexts(page, ['before the restart']);

    await srv.stop();
    await waitState(page, 'reconnecting');
    assert.match(await page.locator('#status').textContent(), /reconnecting/);
    if (kind === 'sse') await screenshot(page, 'reconnecting');
    await srv.start();
    // Messages stored before the page is back must still reach it.
    for (let i = 0; i < 5; i++) await apiSend(srv.url, room, 'other', `after the restart ${i}`);
    await waitTexts(page, [0, 1, 2, 3, 4].map((i) => `after the restart ${i}`), SLOW);
    await waitConnected(page, kind, SLOW);
    await apiSend(srv.url, room, 'other', 'live again');
    await waitTexts(page, ['live again'], SLOW);

    const ids = await shownIds(page);
    assertNoDuplicates(assert, ids, 'shown');
    assert.deepEqual(ids, srv.roomIds(room), 'the page shows exactly what the room holds');
    assert.deepEqual(ctx.problems, []);
    await ctx.close();
  });
}

test('a send during an outage is delivered exactly once after it ends', async () => {
  const room = 'outage';
  const ctx = await newContext(browser);
  const page = await openChat(ctx, srv, { room, nick: 'patient', transport: 'auto' });
  await waitConnected(page);

  await srv.stop();
  await waitState(page, 'reconnecting');
  await typeAndSend(page, 'sent while the server was down');
  const pending = page.locator('#outbox .msg.pending');
  await pending.waitFor({ timeout: SLOW });
  // it is retried, not given up on
  await page.waitForFunction(() => /retry/i.test(document.querySelector('#outbox .msg-meta')?.textContent || ''),
    null, { timeout: SLOW });
  assert.equal(await page.locator('#outbox .msg.failed').count(), 0);
  await screenshot(page, 'outage-pending');

  await srv.start();
  await waitTexts(page, ['sent while the server was down'], SLOW);
  await page.waitForFunction(() => window.fcgichat.outbox().length === 0, null, { timeout: SLOW });
  assert.equal(await page.locator('#outbox .msg').count(), 0);
  assert.deepEqual(await shownTexts(page), ['sent while the server was down']);
  assert.equal(srv.sql(`SELECT count(*) FROM messages WHERE room='${room}'`).trim(), '1');
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

test('a pending send survives a reload of the tab and is stored once', async () => {
  const room = 'reload';
  const ctx = await newContext(browser);
  const page = await openChat(ctx, srv, { room, nick: 'reloader', transport: 'longpoll' });
  await waitConnected(page, 'longpoll');
  await srv.stop();
  await waitState(page, 'reconnecting');
  await typeAndSend(page, 'queued before the reload');
  await page.locator('#outbox .msg.pending').waitFor({ timeout: SLOW });
  // The tab leaves the page (the page comes from the stopped server, so
  // it cannot be reloaded before the server is back), then returns.
  await page.goto('about:blank');
  await srv.start();
  await page.goto(`${srv.url}/#${room}`);
  await waitTexts(page, ['queued before the reload'], SLOW);
  await page.waitForFunction(() => window.fcgichat.outbox().length === 0, null, { timeout: SLOW });
  assert.equal(srv.sql(`SELECT count(*) FROM messages WHERE room='${room}'`).trim(), '1');
  assert.deepEqual(await shownTexts(page), ['queued before the reload']);
  await ctx.close();
});

test('the network drops and comes back: offline shown, then caught up', async () => {
  const room = 'offline';
  const ctx = await newContext(browser);
  const page = await openChat(ctx, srv, { room, nick: 'traveller', transport: 'longpoll' });
  await waitConnected(page, 'longpoll');
  await apiSend(srv.url, room, 'home', 'before the tunnel');
  await waitTexts(page, ['before the tunnel']);

  await ctx.setOffline(true);
  await waitState(page, 'offline');
  assert.match(await page.locator('#status').textContent(), /offline/);
  await typeAndSend(page, 'typed in the tunnel');
  for (let i = 0; i < 3; i++) await apiSend(srv.url, room, 'home', `while away ${i}`);

  await ctx.setOffline(false);
  await waitTexts(page, ['typed in the tunnel', 'while away 0', 'while away 1', 'while away 2'], SLOW);
  await waitConnected(page, 'longpoll', SLOW);
  await page.waitForFunction(() => window.fcgichat.outbox().length === 0, null, { timeout: SLOW });
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

test('a laptop waking from sleep: a dead long-poll is dropped, the page catches up', async () => {
  const room = 'sleep';
  const ctx = await newContext(browser);
  const page = await openChat(ctx, srv, {
    room, nick: 'sleeper', transport: 'longpoll',
    setup: (p) => p.clock.install(),
  });
  await waitConnected(page, 'longpoll');
  const before = (await apiSend(srv.url, room, 'x', 'before sleep')).json.id;
  await waitTexts(page, ['before sleep']);
  // While "asleep" the held request's connection died without a word:
  // it never answers. Messages arrive meanwhile. The request that asks
  // since 'before sleep' may be sent before or after the route is in
  // place; either way it goes through, and 'nudge' ends it.
  let asleep = true;
  const dead = [];
  await page.route(/\/api\/rooms\/sleep\/messages\?.*wait=/, (route) => {
    const since = Number(new URL(route.request().url()).searchParams.get('since'));
    if (asleep && since > before) { dead.push(route); return undefined; }
    return route.continue();
  });
  await apiSend(srv.url, room, 'x', 'nudge');
  await waitTexts(page, ['nudge']);
  const deadline = Date.now() + SLOW;
  while (!dead.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(dead.length, 1, 'the next long-poll hangs');
  await apiSend(srv.url, room, 'x', 'while asleep 1');
  await apiSend(srv.url, room, 'x', 'while asleep 2');
  asleep = false;
  // The lid opens 31 s later by the page's clock. The held request's own
  // timeout (25 + 15 s) is 9 s away yet: it is the page noticing the jump
  // in time that drops the dead request and reconnects at once.
  await page.clock.fastForward('00:31');
  await waitTexts(page, ['while asleep 1', 'while asleep 2'], 6000);
  await waitConnected(page, 'longpoll');
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  for (const r of dead) await r.abort().catch(() => {});
  await ctx.close();
});

/**
 * Something between browser and server lets WebSockets of `room` open but
 * closes them at once, before a frame: Auto leaves them after a few tries.
 */
function breakWebSockets(ctx, room) {
  return ctx.routeWebSocket(new RegExp(`/api/rooms/${room}/ws`), (ws) => ws.close({ code: 1011 }));
}

test('Auto falls back to long-polling, then polling, when transports keep failing', async () => {
  const room = 'fallback';
  const ctx = await newContext(browser);
  // Something between browser and server breaks WebSockets and event
  // streams...
  await breakWebSockets(ctx, room);
  await ctx.route('**/api/rooms/fallback/events**', (route) => route.fulfill({
    status: 502, contentType: 'text/plain', body: 'bad gateway',
  }));
  const page = await openChat(ctx, srv, { room, nick: 'auto', transport: 'auto', interval: 1 });
  await page.waitForFunction(() => window.fcgichat.transport() === 'longpoll' &&
    window.fcgichat.state() === 'connected', null, { timeout: SLOW });
  assert.equal(await page.locator('#status').getAttribute('data-mode'), 'auto');
  assert.match(await page.locator('#status .status-kind').textContent(), /Auto · Long-polling/);
  await apiSend(srv.url, room, 'x', 'via long-poll');
  await waitTexts(page, ['via long-poll'], SLOW);

  // ...and then held requests too.
  await ctx.route(/\/api\/rooms\/fallback\/messages\?.*wait=/, (route) => route.abort('connectionreset'));
  // (a message ends the long-poll already waiting at the server)
  await apiSend(srv.url, room, 'x', 'nudge');
  await page.waitForFunction(() => window.fcgichat.transport() === 'poll' &&
    window.fcgichat.state() === 'connected', null, { timeout: SLOW });
  await apiSend(srv.url, room, 'x', 'via polling');
  await waitTexts(page, ['via long-poll', 'nudge', 'via polling'], SLOW);
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  await ctx.close();
});

test('Auto goes back to event streams 10 minutes after falling back, once they work again', async () => {
  const room = 'upgrade';
  const ctx = await newContext(browser);
  // (WebSockets stay broken: Auto tries them first, then event streams.)
  await breakWebSockets(ctx, room);
  await ctx.route('**/api/rooms/upgrade/events**', (route) => route.fulfill({
    status: 502, contentType: 'text/plain', body: 'bad gateway',
  }));
  // The page's clock runs as usual, and can be moved on 10 minutes at once.
  const page = await openChat(ctx, srv, { room, nick: 'auto', transport: 'auto', interval: 1,
    setup: (p) => p.clock.install() });
  await page.waitForFunction(() => window.fcgichat.transport() === 'longpoll' &&
    window.fcgichat.state() === 'connected', null, { timeout: SLOW });
  await apiSend(srv.url, room, 'x', 'via long-poll');
  await waitTexts(page, ['via long-poll'], SLOW);

  await ctx.unroute('**/api/rooms/upgrade/events**');
  await page.clock.fastForward('09:00');
  assert.equal(await page.evaluate(() => window.fcgichat.transport()), 'longpoll', 'not before 10 minutes');
  await page.clock.fastForward('01:01');
  await page.waitForFunction(() => window.fcgichat.transport() === 'sse' &&
    window.fcgichat.state() === 'connected', null, { timeout: SLOW });
  assert.match(await page.locator('#status .status-kind').textContent(), /Auto · (Event stream|SSE)/);
  await apiSend(srv.url, room, 'x', 'via the stream');
  await waitTexts(page, ['via long-poll', 'via the stream'], SLOW);
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids, srv.roomIds(room));
  await ctx.close();
});
