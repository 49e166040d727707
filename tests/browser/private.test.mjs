// private.test.mjs - a direct message and a private room through the page
// in headless Chromium, each person logged in with Basic credentials
// (httpCredentials) behind startServer({ auth: true }): alice opens a DM
// with bob from the sidebar, they talk, carol cannot see it; alice makes
// a private room for bob, listed for him apart from public rooms.
// Event streams carry the login as every request does (the WebSocket
// door learns its user from the identity work).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { get } from '../lib/http.mjs';
import { launch, newContext, openChat, waitConnected, waitTexts, typeAndSend, screenshot, WAIT } from './helpers.mjs';

let srv;
let browser;
const contexts = [];

before(async () => {
  srv = await startServer({ auth: true });
  browser = await launch();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.cleanup();
});

async function login(user) {
  const ctx = await newContext(browser, { httpCredentials: { username: user, password: user } });
  contexts.push(ctx);
  return openChat(ctx, srv, { nick: user, transport: 'sse' });
}

const dmLink = (page, other) => page.locator(`#rooms a[data-kind="direct"][data-direct="${other}"]`);

test('alice opens a DM with bob from the sidebar; they talk; carol sees nothing of it', async () => {
  const alice = await login('alice');
  await waitConnected(alice);
  await alice.fill('#direct-user', 'bob');
  await alice.click('#direct-form button[type="submit"]');
  await alice.waitForFunction(() => /^dm-[0-9a-f]{40}$/.test(window.fcgichat.room()), null, { timeout: WAIT });
  const dm = await alice.evaluate(() => window.fcgichat.room());
  await alice.waitForFunction(() => document.title.includes('@bob'), null, { timeout: WAIT });
  assert.equal(await alice.textContent('#room-name'), 'bob');
  await waitConnected(alice);
  await typeAndSend(alice, 'hello bob, privately');
  await waitTexts(alice, ['hello bob, privately']);

  const bob = await login('bob');
  await dmLink(bob, 'alice').waitFor({ timeout: WAIT });
  assert.equal(await dmLink(bob, 'alice').getAttribute('href'), `#${dm}`);
  await dmLink(bob, 'alice').click();
  await waitTexts(bob, ['hello bob, privately']);
  await waitConnected(bob);
  await typeAndSend(bob, 'hi alice');
  await waitTexts(alice, ['hi alice']);
  await screenshot(alice, 'private-dm');

  // The same DM from bob's side through the hook other parts of the page use.
  assert.equal(await bob.evaluate(() => window.fcgichat.openDirect('alice')), dm);

  const carol = await login('carol');
  await waitConnected(carol);
  assert.equal(await carol.locator(`#rooms a[data-room="${dm}"]`).count(), 0);
  const seen = await carol.evaluate(async (room) => (await fetch(`/api/rooms/${room}/messages?since=0`)).status, dm);
  assert.equal(seen, 404);
  for (const c of contexts) assert.deepEqual(c.problems, [], 'page problems');
});

test('alice makes a private room for bob; it is listed for him as private, not for carol', async () => {
  const alice = await login('alice');
  await alice.fill('#private-room', 'crew');
  await alice.fill('#private-members', 'bob, bob');
  await alice.click('#private-form button[type="submit"]');
  await alice.waitForFunction(() => window.fcgichat.room() === 'crew', null, { timeout: WAIT });
  await waitConnected(alice);
  await typeAndSend(alice, 'crew only');
  await waitTexts(alice, ['crew only']);
  // Making it again is refused with a sentence.
  await alice.fill('#private-room', 'crew');
  await alice.click('#private-form button[type="submit"]');
  await alice.waitForFunction(() => document.getElementById('private-form').hasAttribute('data-invalid'), null, { timeout: WAIT });
  assert.match(await alice.textContent('#private-hint'), /exists already/);

  const bob = await login('bob');
  const link = bob.locator('#rooms a[data-kind="private"][data-room="crew"]');
  await link.waitFor({ timeout: WAIT });
  await link.click();
  await waitTexts(bob, ['crew only']);
  const r = await get(srv.url, '/api/rooms', { auth: 'carol' });
  assert.ok(!r.json.rooms.some((x) => x.name === 'crew'));
  for (const c of contexts) assert.deepEqual(c.problems, [], 'page problems');
});
