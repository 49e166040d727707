// identity.test.mjs - the page behind a Basic login (startLighttpd({ auth:
// true })), in headless Chromium logging in with httpCredentials: a
// signed-in person gets no Name box but their name, and everyone sees
// their messages as verified (a badge, the user name as title), on the
// WebSocket and on long-polling.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd } from '../lib/server.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, typeAndSend, screenshot, WAIT,
} from './helpers.mjs';

let srv;
let browser;
const contexts = [];

before(async () => {
  srv = await startLighttpd({ procs: 2, auth: true });
  browser = await launch();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.cleanup();
});

async function signedIn(user) {
  const ctx = await newContext(browser, { httpCredentials: { username: user, password: user } });
  contexts.push(ctx);
  return ctx;
}

/** The name, badge and title of each stored message shown. */
function shownSenders(page) {
  return page.$$eval('#messages .msg:not(.pending)', (els) => els.map((e) => ({
    nick: e.querySelector('.nick')?.textContent,
    title: e.querySelector('.nick')?.title || null,
    badge: e.querySelector('.verified-badge')?.title || null,
    text: e.querySelector('.msg-text')?.textContent,
  })));
}

describe('signed in with Basic credentials', () => {
  for (const kind of ['ws', 'longpoll']) {
    test(`alice sends over ${kind}, bob sees a verified alice; neither gets a Name box`, async () => {
      const room = `who-${kind}`;
      const a = await signedIn('alice');
      const b = await signedIn('bob');
      const alice = await openChat(a, srv, { room, transport: kind });
      const bob = await openChat(b, srv, { room, transport: kind });
      for (const [p, u] of [[alice, 'alice'], [bob, 'bob']]) {
        await p.waitForFunction((want) => window.fcgichat.user() === want, u, { timeout: WAIT });
        assert.equal(await p.locator('#nick-field').isHidden(), true);
        assert.equal(await p.locator('#signed-in').isVisible(), true);
        assert.equal(await p.locator('#me').textContent(), u);
        await waitConnected(p, kind);
      }
      await typeAndSend(alice, `hello from alice over ${kind}`);
      await waitTexts(bob, [`hello from alice over ${kind}`]);
      await waitTexts(alice, [`hello from alice over ${kind}`]);
      const want = [{ nick: 'alice', title: 'alice', badge: 'Signed in as alice', text: `hello from alice over ${kind}` }];
      assert.deepEqual(await shownSenders(bob), want);
      assert.deepEqual(await shownSenders(alice), want);
      // Her own message is marked as hers on her page only.
      assert.equal(await alice.locator('#messages .msg.mine').count(), 1);
      assert.equal(await bob.locator('#messages .msg.mine').count(), 0);
      if (kind === 'ws') await screenshot(bob, 'identity-verified');
      for (const c of [a, b]) assert.deepEqual(c.problems, [], 'page problems');
    });
  }

  test('an anonymous message (sent around the login, by the operator) shows no badge', async () => {
    const b = await signedIn('carol');
    const carol = await openChat(b, srv, { room: 'mixed' });
    await waitConnected(carol);
    // The admin import is the one way in without a login here.
    const { spawnSync } = await import('node:child_process');
    const { BIN } = await import('../lib/server.mjs');
    const line = JSON.stringify({ room: 'mixed', nick: 'guest', text: 'no login' }) + '\n';
    const r = spawnSync(BIN, ['admin', 'import'], { input: line, env: { ...process.env, FCGICHAT_DB: srv.dbPath }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    await waitTexts(carol, ['no login']);
    assert.deepEqual(await shownSenders(carol), [{ nick: 'guest', title: null, badge: null, text: 'no login' }]);
    assert.deepEqual(b.problems, [], 'page problems');
  });
});
