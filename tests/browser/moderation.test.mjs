// moderation.test.mjs - the page and the operators' history tools: a
// message deleted with `fcgichat.fcgi admin delete` disappears from every
// open page at once, over each transport (and stays away after a reload);
// a page that was away while retention pruned past its cursor is told
// "limited" and reloads the room instead of showing a gap.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startLighttpd, BIN, waitFor } from '../lib/server.mjs';
import { get, send as apiSend } from '../lib/http.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, shownTexts, WAIT,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function adminDelete(srv, id) {
  const r = spawnSync(BIN, ['admin', 'delete', String(id)], {
    env: { ...process.env, FCGICHAT_DB: srv.dbPath }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
}

// Waits until the page shows exactly these texts, in this order.
async function waitShown(page, texts, timeout = WAIT) {
  try {
    await page.waitForFunction((want) => {
      const have = [...document.querySelectorAll('#messages .msg .msg-text')].map((e) => e.textContent);
      return have.length === want.length && have.every((t, i) => t === want[i]);
    }, texts, { timeout });
  } catch (e) {
    // A new error: the reporter prints the stack, made with the old message.
    throw new Error(`${e.message}; the page shows ${JSON.stringify(await shownTexts(page))}, ` +
      `state ${await page.evaluate(() => `${window.fcgichat.transport()} ${window.fcgichat.state()}`)}`);
  }
}

describe('deleting a message', () => {
  let srv;
  before(async () => { srv = await startLighttpd({ procs: 2 }); });
  after(async () => { await srv?.cleanup(); });

  for (const kind of ['ws', 'sse', 'longpoll', 'poll']) {
    test(`disappears from open pages at once, over ${kind}`, async () => {
      const room = `mod-${kind}`;
      const ctx = await newContext(browser);
      const page = await openChat(ctx, srv, { room, nick: 'reader', transport: kind, interval: 1 });
      await waitConnected(page, kind);
      const sent = [];
      for (const t of ['first', 'spam', 'last']) sent.push((await apiSend(srv.url, room, 'writer', t)).json);
      await waitShown(page, ['first', 'spam', 'last']);

      adminDelete(srv, sent[1].id);
      await waitShown(page, ['first', 'last'], 5000);
      // The page goes on: new messages still arrive after the deletion.
      await apiSend(srv.url, room, 'writer', 'after');
      await waitShown(page, ['first', 'last', 'after']);
      // A reload does not bring it back.
      await page.reload();
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
      await waitShown(page, ['first', 'last', 'after']);
      assert.deepEqual(ctx.problems, []);
      await ctx.close();
    });
  }

  test('tabs sharing one connection all drop it', async () => {
    const room = 'mod-tabs';
    const ctx = await newContext(browser);
    const a = await openChat(ctx, srv, { room, nick: 'tabs', transport: 'sse' });
    const b = await ctx.newPage();
    await b.goto(`${srv.url}/#${room}`);
    await waitConnected(a);
    await waitConnected(b);
    const m = (await apiSend(srv.url, room, 'w', 'gone soon')).json;
    await apiSend(srv.url, room, 'w', 'stays');
    await waitTexts(a, ['gone soon', 'stays']);
    await waitTexts(b, ['gone soon', 'stays']);
    adminDelete(srv, m.id);
    await waitShown(a, ['stays'], 5000);
    await waitShown(b, ['stays'], 5000);
    assert.deepEqual(ctx.problems, []);
    await ctx.close();
  });
});

describe('retention', () => {
  let srv;
  before(async () => {
    srv = await startLighttpd({
      procs: 2,
      // Streams end after 2 s, so an open one does not outlive going
      // offline (Chromium's offline mode keeps open connections).
      env: { FCGICHAT_RETENTION_MESSAGES: '3', FCGICHAT_RETENTION_INTERVAL: '1', FCGICHAT_SSE_LIFETIME: '2' },
    });
  });
  after(async () => { await srv?.cleanup(); });

  for (const kind of ['ws', 'sse', 'longpoll']) {
    test(`a page back after retention pruned past it reloads the room (${kind})`, async () => {
      const room = `limited-${kind}`;
      const ctx = await newContext(browser);
      const page = await openChat(ctx, srv, { room, nick: 'sleeper', transport: kind });
      await waitConnected(page, kind);
      await apiSend(srv.url, room, 'w', 'old 1');
      await apiSend(srv.url, room, 'w', 'old 2');
      await waitShown(page, ['old 1', 'old 2']);
      // The page's next request is parked at a worker, not on its way
      // there (srv.quiet() below counts only the workers' connections).
      await waitFor(async () => (await get(srv.url, '/api/stats')).json.waiting.total === 1,
        { timeout: WAIT, what: 'the page parked at the server' });

      await ctx.setOffline(true);
      await page.waitForFunction(() => window.fcgichat.state() === 'offline', null, { timeout: WAIT });
      // What the page had at the server still answers offline (Chromium
      // keeps open connections): its parked long-poll takes the first
      // message, its stream ends at its 2-s lifetime. Only then the rest,
      // which the page cannot see before it is back: had the long-poll
      // taken a batch past "new 4", nothing would have been pruned past it.
      const texts = Array.from({ length: 8 }, (_, i) => `new ${i}`);
      await apiSend(srv.url, room, 'w', texts[0]);
      await srv.quiet();
      for (const t of texts.slice(1)) await apiSend(srv.url, room, 'w', t);
      // Retention keeps the newest 3, so "new 4" and the old ones are gone.
      const start = Date.now();
      while (srv.sql(`SELECT count(*) FROM messages WHERE room = '${room}'`).trim() !== '3') {
        assert.ok(Date.now() - start < WAIT, 'retention did not run');
        await new Promise((r) => setTimeout(r, 100));
      }
      await ctx.setOffline(false);
      // Not "old 1, old 2, new 5, new 6, new 7" with a silent gap: the room
      // as it is now.
      await waitShown(page, ['new 5', 'new 6', 'new 7'], WAIT);
      await waitConnected(page, kind);
      await apiSend(srv.url, room, 'w', 'after');
      await waitShown(page, ['new 5', 'new 6', 'new 7', 'after']);
      assert.deepEqual(await shownTexts(page), ['new 5', 'new 6', 'new 7', 'after']);
      assert.deepEqual(ctx.problems, []);
      await ctx.close();
    });
  }
});
