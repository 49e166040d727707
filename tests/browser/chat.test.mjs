// chat.test.mjs - people chatting through the page in headless Chromium:
// over each transport (on WebSocket the sends go over the socket), switching transport mid-conversation, history
// paging, safe rendering, the send queue's answers to 4xx (over POST and
// over the socket) and 429, keyboard
// and accessibility basics.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd } from '../lib/server.mjs';
import { send as apiSend } from '../lib/http.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, typeAndSend,
  shownIds, shownTexts, assertNoDuplicates, interceptSends, WAIT,
} from './helpers.mjs';

let srv;
let browser;
const contexts = [];

before(async () => {
  srv = await startLighttpd({ procs: 2 });
  browser = await launch();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.cleanup();
});

async function person() {
  const ctx = await newContext(browser);
  contexts.push(ctx);
  return ctx;
}

function noProblems(...ctxs) {
  for (const c of ctxs) assert.deepEqual(c.problems, [], 'page problems');
}

describe('two people chat', () => {
  for (const kind of ['ws', 'sse', 'longpoll', 'poll']) {
    test(`over ${kind}`, async () => {
      const room = `chat-${kind}`;
      const a = await person();
      const b = await person();
      let posts = 0;
      const countPosts = (p) => p.on('request', (r) => { if (r.method() === 'POST') posts += 1; });
      const alice = await openChat(a, srv, { room, nick: 'alice', transport: kind, interval: 1, setup: countPosts });
      const bob = await openChat(b, srv, { room, nick: 'bob', transport: kind, interval: 1, setup: countPosts });
      await waitConnected(alice, kind);
      await waitConnected(bob, kind);
      for (const p of [alice, bob]) {
        const status = p.locator('#status');
        assert.equal(await status.getAttribute('data-transport'), kind);
        assert.equal(await status.getAttribute('data-state'), 'connected');
      }

      await typeAndSend(alice, `hi bob, over ${kind}`);
      await waitTexts(bob, [`hi bob, over ${kind}`]);
      await typeAndSend(bob, 'hi alice!\nsecond line');
      await typeAndSend(bob, 'third message');
      await waitTexts(alice, ['hi alice!\nsecond line', 'third message']);
      await waitTexts(bob, ['hi alice!\nsecond line', 'third message']);

      const want = [`hi bob, over ${kind}`, 'hi alice!\nsecond line', 'third message'];
      assert.deepEqual(await shownTexts(alice), want);
      assert.deepEqual(await shownTexts(bob), want);
      assertNoDuplicates(assert, await shownIds(alice), 'alice');
      assertNoDuplicates(assert, await shownIds(bob), 'bob');
      // nothing left pending
      assert.equal(await alice.locator('#outbox .msg').count(), 0);
      assert.equal(await bob.locator('#outbox .msg').count(), 0);
      // the sender's own message is marked as "mine", the other's not
      assert.equal(await alice.locator('#messages .msg.mine').count(), 1);
      // on a WebSocket the sends went over it, on the others by POST
      assert.equal(posts, kind === 'ws' ? 0 : 3);
      noProblems(a, b);
      await alice.close();
      await bob.close();
    });
  }
});

test('switching transport mid-conversation loses and repeats nothing', async () => {
  const room = 'switching';
  const ctx = await person();
  const page = await openChat(ctx, srv, { room, nick: 'watcher', transport: 'sse', interval: 1 });
  await waitConnected(page, 'sse');
  const select = page.getByLabel('Transport');

  // Another person keeps talking over the plain API while the reader
  // switches its transport several times.
  const sent = [];
  let stop = false;
  const talker = (async () => {
    for (let i = 0; !stop && i < 400; i++) {
      const r = await apiSend(srv.url, room, 'talker', `m${i}`);
      assert.equal(r.status, 201, r.text);
      sent.push(r.json.id);
      await new Promise((res) => setTimeout(res, 40));
    }
  })();

  const interval = page.getByLabel('Polling interval in seconds');
  assert.equal(await interval.isVisible(), false, 'the interval shows with polling only');
  for (const kind of ['longpoll', 'ws', 'poll', 'sse', 'auto', 'longpoll']) {
    // a few messages arrive over each transport before the next switch
    await page.waitForFunction((n) => window.fcgichat.ids().length >= n, sent.length + 3, { timeout: WAIT });
    await select.selectOption(kind);
    if (kind === 'poll') {
      await interval.fill('2');
      await interval.press('Enter');
      await page.waitForFunction(() => localStorage.getItem('fcgichat.interval') === '2', null, { timeout: WAIT });
    }
    await waitConnected(page, kind === 'auto' ? 'ws' : kind);
    assert.equal(await page.evaluate(() => window.fcgichat.mode()), kind);
  }
  stop = true;
  await talker;
  const last = sent[sent.length - 1];
  await page.waitForFunction((id) => window.fcgichat.ids().includes(id), last, { timeout: WAIT });
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids, 'shown');
  assert.deepEqual(ids, sent, 'every message exactly once, in order');
  assert.ok(sent.length > 10);
  noProblems(ctx);
  await page.close();
});

test('older history loads on scroll without moving the view', async () => {
  const room = 'history';
  const all = [];
  for (let i = 0; i < 130; i++) {
    const r = await apiSend(srv.url, room, i % 3 ? 'old' : 'older', `history ${i}`);
    all.push(r.json.id);
  }
  const ctx = await person();
  const page = await openChat(ctx, srv, { room, nick: 'reader' });
  await waitConnected(page);
  // the newest 50, newest at the bottom and scrolled there
  assert.deepEqual(await shownIds(page), all.slice(-50));
  const scroller = page.locator('#scroller');
  assert.ok(await scroller.evaluate((s) => s.scrollHeight - s.scrollTop - s.clientHeight < 5),
    'starts at the bottom');

  // Scroll up: the next page comes in above and what was on screen stays put.
  const anchorId = all[80];
  const top = () => page.locator(`#messages [data-id="${anchorId}"]`)
    .evaluate((e) => e.getBoundingClientRect().top);
  await scroller.evaluate((s) => { s.scrollTop = 0; });
  await page.waitForFunction(() => window.fcgichat.ids().length >= 100, null, { timeout: WAIT });
  await page.waitForFunction(() => window.fcgichat.historyState() !== 'loading', null, { timeout: WAIT });
  const before1 = await top();
  // new messages arriving at the bottom do not move the view either
  await apiSend(srv.url, room, 'live', 'arrives while reading old ones');
  await page.waitForFunction(() => !document.getElementById('new-marker').hidden, null, { timeout: WAIT });
  assert.equal(await page.locator('#new-marker').textContent(), '1 new message ↓');
  assert.equal(await top(), before1, 'a new message at the bottom moved the view');

  await scroller.evaluate((s) => { s.scrollTop = 0; });
  await page.waitForFunction((n) => window.fcgichat.ids().length >= n && window.fcgichat.historyState() === 'done',
    all.length + 1, { timeout: WAIT });
  assert.equal(await page.locator('#history').textContent(), 'This is the beginning of #history.');
  const ids = await shownIds(page);
  assertNoDuplicates(assert, ids);
  assert.deepEqual(ids.slice(0, all.length), all);

  // The "new messages" button brings the reader down and goes away.
  await page.locator('#new-marker').click();
  await page.waitForFunction(() => document.getElementById('new-marker').hidden, null, { timeout: WAIT });
  await page.waitForFunction(() => {
    const s = document.getElementById('scroller');
    return s.scrollHeight - s.scrollTop - s.clientHeight < 5;
  }, null, { timeout: WAIT });
  noProblems(ctx);
  await page.close();
});

test('a message with HTML or script renders as typed, links are safe', async () => {
  const room = 'xss';
  const ctx = await person();
  const page = await openChat(ctx, srv, { room, nick: 'victim' });
  await waitConnected(page);
  let dialogs = 0;
  page.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
  const nasty = [
    '<img src=x onerror="window.__pwned=1">',
    '<script>window.__pwned=2</script><b>bold?</b>',
    'javascript:window.__pwned=3 and [x](javascript:alert(1))',
    'see https://example.com/a?b=1&c=<2>. (and http://example.org/x_(y)) ok',
  ];
  for (const t of nasty.slice(0, 2)) await apiSend(srv.url, room, '<i>evil</i>', t);
  await typeAndSend(page, nasty[2]);
  await typeAndSend(page, nasty[3]);
  await waitTexts(page, nasty);
  assert.deepEqual(await shownTexts(page), nasty);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(dialogs, 0);
  assert.equal(await page.locator('#messages img, #messages script, #messages b, #messages i').count(), 0);
  assert.equal(await page.locator('#messages .nick', { hasText: '<i>evil</i>' }).first().textContent(), '<i>evil</i>');
  const links = await page.$$eval('#messages a', (as) => as.map((a) => ({
    href: a.getAttribute('href'), text: a.textContent, rel: a.rel, target: a.target,
  })));
  assert.deepEqual(links, [
    { href: 'https://example.com/a?b=1&c=', text: 'https://example.com/a?b=1&c=', rel: 'noopener noreferrer', target: '_blank' },
    { href: 'http://example.org/x_(y)', text: 'http://example.org/x_(y)', rel: 'noopener noreferrer', target: '_blank' },
  ]);
  noProblems(ctx);
  await page.close();
});

for (const kind of ['ws', 'longpoll']) {
  test(`a refused send shows the server's message; Retry keeps the client_id (${kind})`, async () => {
    const room = `refused-${kind}`;
    const ctx = await person();
    let refuse = true;
    let bodies;
    const page = await openChat(ctx, srv, {
      room, nick: 'ann', transport: kind,
      setup: async (p) => {
        bodies = await interceptSends(p, room, () => (refuse ? {
          status: 400, code: 'bad_text', message: 'The moderators do not like this message.',
        } : null));
      },
    });
    await waitConnected(page, kind);
    await typeAndSend(page, 'please refuse me');
    const failed = page.locator('#outbox .msg.failed');
    await failed.waitFor({ timeout: WAIT });
    assert.match(await failed.locator('.msg-error').textContent(), /The moderators do not like this message\./);
    assert.equal(await failed.getByRole('alert').count(), 1, 'announced');
    assert.equal(bodies.length, 1, 'a 4xx is not retried by itself');

    refuse = false;
    await failed.getByRole('button', { name: 'Retry' }).click();
    await waitTexts(page, ['please refuse me']);
    await page.waitForFunction(() => !document.querySelector('#outbox .msg'), null, { timeout: WAIT });
    assert.equal(bodies.length, 2);
    assert.equal(bodies[1].client_id, bodies[0].client_id);
    assert.equal((await shownTexts(page)).filter((t) => t === 'please refuse me').length, 1);
    noProblems(ctx);
    await page.close();
  });
}

// Retry-After and an answer lost on the way are HTTP's: the page sends by
// POST (websocket.test.mjs loses the answer of a send over the socket).
test('429 with Retry-After and a lost answer: retried, stored once', async () => {
  const room = 'busy';
  const ctx = await person();
  const page = await openChat(ctx, srv, { room, nick: 'bea', transport: 'sse' });
  await waitConnected(page, 'sse');
  const seen = [];
  await page.route('**/api/rooms/busy/messages', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    seen.push({ at: Date.now(), body: route.request().postDataJSON() });
    if (seen.length === 1) {
      return route.fulfill({
        status: 429, headers: { 'Retry-After': '2' },
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify({ error: { code: 'rate_limited', message: 'Slow down a little.' } }),
      });
    }
    if (seen.length === 2) {
      // The server stores it, but the answer never reaches the page.
      const res = await route.fetch();
      assert.equal(res.status(), 201);
      return route.abort('connectionreset');
    }
    return route.continue();
  });
  await typeAndSend(page, 'persistent');
  // settled: the queue is empty (a live copy may show before the POST ends)
  await page.waitForFunction(() => window.fcgichat.outbox().length === 0, null, { timeout: WAIT });
  await waitTexts(page, ['persistent']);
  assert.ok(seen.length >= 3, `tries: ${seen.length}`);
  assert.ok(seen[1].at - seen[0].at >= 1900, 'Retry-After honoured');
  assert.equal(new Set(seen.map((s) => s.body.client_id)).size, 1, 'one client_id for every try');
  assert.equal(srv.sql("SELECT count(*) FROM messages WHERE room='busy'").trim(), '1');
  assert.equal((await shownTexts(page)).length, 1);
  await page.unroute('**/api/rooms/busy/messages');
  noProblems(ctx);
  await page.close();
});

test('rooms: hash, list, switching without reload; name remembered', async () => {
  await apiSend(srv.url, 'alpha', 'x', 'in alpha');
  await apiSend(srv.url, 'beta', 'y', 'in beta');
  const ctx = await person();
  const page = await openChat(ctx, srv, { room: 'alpha' });
  await waitTexts(page, ['in alpha']);
  // a name is needed before sending
  await typeAndSend(page, 'no name yet');
  assert.match(await page.locator('#composer-error').textContent(), /name/i);
  assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Name').fill('  dora ');
  await typeAndSend(page, 'named now');
  await waitTexts(page, ['named now']);

  await page.evaluate(() => { window.__same = 'same page'; });
  await page.getByRole('link', { name: /beta/ }).click();
  await page.waitForFunction(() => window.fcgichat.room() === 'beta', null, { timeout: WAIT });
  await waitTexts(page, ['in beta']);
  assert.equal(new URL(page.url()).hash, '#beta');
  assert.deepEqual(await shownTexts(page), ['in beta']);
  assert.equal(await page.evaluate(() => window.__same), 'same page', 'no reload');
  await waitConnected(page);

  // join a new room by name; it is empty and says so
  await page.getByLabel('Join or create a room').fill('gamma_1');
  await page.getByLabel('Join or create a room').press('Enter');
  await page.waitForFunction(() => window.fcgichat.room() === 'gamma_1', null, { timeout: WAIT });
  await page.locator('#empty').waitFor({ state: 'visible', timeout: WAIT });

  // the name survives a reload
  await page.reload();
  await page.waitForFunction(() => window.fcgichat?.room() === 'gamma_1', null, { timeout: WAIT });
  assert.equal(await page.getByLabel('Name').inputValue(), 'dora');
  noProblems(ctx);
  await page.close();
});

test('keyboard and accessibility basics', async () => {
  const ctx = await person();
  const page = await openChat(ctx, srv, { room: 'a11y', nick: 'kim' });
  await waitConnected(page);
  assert.equal(await page.getByRole('log').count(), 1);
  assert.equal(await page.getByRole('textbox', { name: 'Message', exact: true }).count(), 1);
  assert.equal(await page.getByRole('textbox', { name: 'Name', exact: true }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Send', exact: true }).count(), 1);
  assert.equal(await page.getByRole('combobox', { name: 'Transport' }).count(), 1);
  assert.equal(await page.getByRole('status').first().getAttribute('id'), 'status');

  // Focus starts in the message box; Shift+Enter makes a new line, Enter sends.
  await page.waitForFunction(() => document.activeElement?.id === 'message', null, { timeout: WAIT });
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  await page.keyboard.press('Enter');
  await waitTexts(page, ['line one\nline two']);
  assert.equal(await page.getByRole('textbox', { name: 'Message', exact: true }).inputValue(), '');

  // Tab reaches the Send button from the message box; Space on it sends.
  await page.keyboard.type('by button');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Send');
  await page.keyboard.press('Space');
  await waitTexts(page, ['by button']);

  // Shift+Tab from the name field reaches the conversation, which scrolls
  // by keyboard (and so pages older history in).
  await page.getByLabel('Name').focus();
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'scroller');

  // timestamps are <time> with a machine-readable date and a full date on hover
  const t = page.locator('#messages time').first();
  assert.ok(Date.parse(await t.getAttribute('datetime')) > 0);
  assert.ok((await t.getAttribute('title')).length > 10);
  noProblems(ctx);
  await page.close();
});

test('unread count in the title while the tab is hidden', async () => {
  const ctx = await person();
  const page = await openChat(ctx, srv, { room: 'unread', nick: 'ida' });
  await waitConnected(page);
  assert.equal(await page.title(), '#unread · fcgichat');
  const hide = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await hide(true);
  await apiSend(srv.url, 'unread', 'other', 'one');
  await apiSend(srv.url, 'unread', 'other', 'two');
  await page.waitForFunction(() => document.title === '(2) #unread · fcgichat', null, { timeout: WAIT });
  await hide(false);
  await page.waitForFunction(() => document.title === '#unread · fcgichat', null, { timeout: WAIT });
  noProblems(ctx);
  await page.close();
});

test('works from another path, with the API base from <meta name="fcgichat-api">', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { ROOT } = await import('../lib/server.mjs');
  const types = { html: 'text/html', css: 'text/css', js: 'text/javascript', svg: 'image/svg+xml' };
  const ctx = await person();
  // The same files, as a static server would serve them under /apps/chat/,
  // with the API given relative to the page.
  await ctx.route(`${srv.url}/apps/chat/**`, (route) => {
    const rel = new URL(route.request().url()).pathname.slice('/apps/chat/'.length) || 'index.html';
    let body = readFileSync(join(ROOT, 'htdocs', rel));
    if (rel === 'index.html') {
      body = body.toString().replace('<meta name="fcgichat-api" content="/api">',
        '<meta name="fcgichat-api" content="../../api">');
      assert.ok(body.includes('content="../../api"'));
    }
    return route.fulfill({
      body,
      contentType: types[rel.split('.').pop()] || 'application/octet-stream',
      headers: { 'Content-Security-Policy': "default-src 'self'" },
    });
  });
  const page = await ctx.newPage();
  await page.goto(`${srv.url}/apps/chat/#elsewhere`);
  await page.waitForFunction(() => window.fcgichat?.room() === 'elsewhere', null, { timeout: WAIT });
  await page.getByLabel('Name').fill('wanderer');
  await waitConnected(page);
  await typeAndSend(page, 'hello from a sub-path');
  await waitTexts(page, ['hello from a sub-path']);
  assert.equal(srv.sql("SELECT count(*) FROM messages WHERE room='elsewhere'").trim(), '1');
  noProblems(ctx);
  await page.close();
});
