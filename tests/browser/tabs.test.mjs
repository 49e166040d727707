// tabs.test.mjs - one live connection per browser and room: tabs of the
// same room elect a leader (Web Locks) that shares its connection over a
// BroadcastChannel; when the leader closes, another tab takes over without
// losing a message; a WebSocket lives in the leader alone (the other tabs
// send by POST); without those APIs each tab connects by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { get, send as apiSend } from '../lib/http.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, typeAndSend,
  shownIds, assertNoDuplicates, accessLog, WAIT,
} from './helpers.mjs';

const SLOW = 45000;
let srv;
let browser;
let lastParked = -1;

/** Requests parked in all workers, as /api/stats counts them (each worker
 * publishes its figures twice a second). */
async function parked() {
  lastParked = (await get(srv.url, '/api/stats')).json.waiting.total;
  return lastParked;
}

before(async () => {
  srv = await startLighttpd({ procs: 2 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.cleanup();
});

/** Opens n tabs of one room in ctx, counting each tab's live requests. */
async function openTabs(ctx, n, room, opts = {}) {
  const tabs = [];
  for (let i = 0; i < n; i++) {
    const page = await openChat(ctx, srv, {
      room, nick: 'multi', ...opts,
      setup: (p) => {
        p.live = 0;
        p.sockets = 0;
        p.posts = 0;
        p.on('request', (r) => {
          if (/\/events\?|[?&]wait=/.test(r.url())) p.live += 1;
          if (r.method() === 'POST') p.posts += 1;
        });
        p.on('websocket', () => { p.sockets += 1; });
      },
    });
    tabs.push(page);
  }
  return tabs;
}

const role = (p) => p.evaluate(() => window.fcgichat.role());

test('tabs of one room share one connection; the next tab takes over', async () => {
  const room = 'tabs';
  const ctx = await newContext(browser);
  const tabs = await openTabs(ctx, 3, room, { transport: 'sse' });
  for (const t of tabs) await waitConnected(t, 'sse');
  const roles = await Promise.all(tabs.map(role));
  assert.deepEqual([...roles].sort(), ['follower', 'follower', 'leader']);
  assert.equal(await tabs[0].locator('#status').getAttribute('data-role'), 'leader');
  assert.equal(await tabs[1].locator('#status').getAttribute('data-role'), 'follower');

  // Someone else talks; a tab talks: every tab shows it all.
  for (let i = 0; i < 3; i++) await apiSend(srv.url, room, 'bob', `from bob ${i}`);
  await typeAndSend(tabs[2], 'from a follower tab');
  const texts = ['from bob 0', 'from bob 1', 'from bob 2', 'from a follower tab'];
  for (const t of tabs) await waitTexts(t, texts);
  // only the leader connected
  const leader = tabs[roles.indexOf('leader')];
  const followers = tabs.filter((t) => t !== leader);
  assert.ok(leader.live >= 1);
  assert.deepEqual(followers.map((t) => t.live), [0, 0], 'followers opened no live request');

  // A follower picks another transport: the shared connection switches.
  await followers[0].getByLabel('Transport').selectOption('longpoll');
  for (const t of tabs) await waitConnected(t, 'longpoll');
  assert.equal(followers[1].live, 0);

  // The leader goes away while messages keep coming.
  const burst = (async () => {
    for (let i = 0; i < 10; i++) {
      await apiSend(srv.url, room, 'bob', `during takeover ${i}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  await leader.close();
  await burst;
  await apiSend(srv.url, room, 'bob', 'after takeover');
  await Promise.all(followers.map((t) => t.waitForFunction(() => window.fcgichat.role() === 'leader' ||
    window.fcgichat.role() === 'follower', null, { timeout: WAIT })));
  const newRoles = await Promise.all(followers.map(role));
  assert.deepEqual([...newRoles].sort(), ['follower', 'leader']);
  const all = srv.roomIds(room);
  for (const t of followers) {
    await t.waitForFunction((want) => want.every((id) => window.fcgichat.ids().includes(id)),
      all, { timeout: SLOW });
    const ids = await shownIds(t);
    assertNoDuplicates(assert, ids);
    assert.deepEqual(ids, all, 'nothing lost, nothing repeated across the takeover');
  }
  const newLeader = followers[newRoles.indexOf('leader')];
  const newFollower = followers[newRoles.indexOf('follower')];
  assert.ok(newLeader.live >= 1);
  assert.equal(newFollower.live, 0);
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

test('seven tabs stay live and can all send (one connection, counted at the server)', async () => {
  const room = 'seven';
  const ctx = await newContext(browser);
  const tabs = await openTabs(ctx, 7, room, { transport: 'sse' });
  for (const t of tabs) await waitConnected(t, 'sse');
  for (let i = 0; i < tabs.length; i++) await typeAndSend(tabs[i], `tab ${i} says hi`);
  const texts = tabs.map((_, i) => `tab ${i} says hi`);
  for (const t of tabs) await waitTexts(t, texts, SLOW);
  assert.equal(tabs.reduce((n, t) => n + t.live, 0), 1, 'one live request for seven tabs');

  // At the server: seven tabs park exactly one request.
  await waitFor(async () => (await parked()) === 1, { timeout: WAIT, what: '1 parked request' })
    .catch((e) => { throw new Error(`${e.message} (have ${lastParked})`); });
  // ...and lighttpd logged each tab's send once.
  const posts = () => accessLog(srv).filter((l) => l.includes(`"POST /api/rooms/${room}/messages`));
  await waitFor(() => posts().length === 7, { timeout: WAIT, what: '7 sends in the access log' });
  await ctx.close();
  await waitFor(async () => (await parked()) === 0, { timeout: WAIT, what: 'the stream to close' });
  const streams = accessLog(srv).filter((l) => l.includes(`/api/rooms/${room}/events`));
  assert.ok(streams.length <= 1, `event streams at the server:\n${streams.join('\n')}`);
});

test('tabs share one WebSocket: the leader alone opens it and sends over it', async () => {
  const room = 'tabs-ws';
  const ctx = await newContext(browser);
  const tabs = await openTabs(ctx, 3, room, { transport: 'ws' });
  for (const t of tabs) await waitConnected(t, 'ws');
  const roles = await Promise.all(tabs.map(role));
  assert.deepEqual([...roles].sort(), ['follower', 'follower', 'leader']);
  const leader = tabs[roles.indexOf('leader')];
  const followers = tabs.filter((t) => t !== leader);
  assert.equal(leader.sockets, 1);
  assert.deepEqual(followers.map((t) => t.sockets), [0, 0], 'followers opened no WebSocket');
  await waitFor(async () => (await get(srv.url, '/api/stats')).json.waiting.ws === 1,
    { timeout: WAIT, what: 'one WebSocket at the server' });

  await typeAndSend(leader, 'from the leader');
  await typeAndSend(followers[0], 'from a follower');
  for (const t of tabs) await waitTexts(t, ['from the leader', 'from a follower']);
  assert.equal(leader.posts, 0, 'the leader sent over its socket');
  assert.equal(followers[0].posts, 1, 'a follower sends by POST');

  // The leader goes away while messages keep coming: the next leader
  // opens the one WebSocket and misses nothing.
  const burst = (async () => {
    for (let i = 0; i < 10; i++) {
      await apiSend(srv.url, room, 'bob', `during takeover ${i}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  await leader.close();
  await burst;
  await apiSend(srv.url, room, 'bob', 'after takeover');
  const all = srv.roomIds(room);
  for (const t of followers) {
    await t.waitForFunction((want) => want.every((id) => window.fcgichat.ids().includes(id)),
      all, { timeout: SLOW });
    const ids = await shownIds(t);
    assertNoDuplicates(assert, ids);
    assert.deepEqual(ids, all, 'nothing lost, nothing repeated across the takeover');
  }
  for (const t of followers) await waitConnected(t, 'ws', SLOW);
  const newRoles = await Promise.all(followers.map(role));
  assert.deepEqual([...newRoles].sort(), ['follower', 'leader']);
  assert.deepEqual(followers.map((t) => t.sockets).sort(), [0, 1]);
  assert.equal(followers[newRoles.indexOf('leader')].sockets, 1);
  await waitFor(async () => (await get(srv.url, '/api/stats')).json.waiting.ws === 1,
    { timeout: WAIT, what: 'one WebSocket at the server after the takeover' });
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});

test('without Web Locks or BroadcastChannel each tab connects by itself', async () => {
  const room = 'solo';
  const ctx = await newContext(browser);
  await ctx.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined });
  });
  const tabs = await openTabs(ctx, 2, room, { transport: 'longpoll' });
  for (const t of tabs) await waitConnected(t, 'longpoll');
  assert.deepEqual(await Promise.all(tabs.map(role)), ['solo', 'solo']);
  await apiSend(srv.url, room, 'x', 'to both');
  for (const t of tabs) await waitTexts(t, ['to both']);
  for (const t of tabs) assert.ok(t.live >= 1, 'each tab has its own connection');
  assert.deepEqual(ctx.problems, []);
  await ctx.close();
});
