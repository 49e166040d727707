// screens.test.mjs - screenshots of the main states for a person to look
// at (tests/output/screenshots/): an empty room, a conversation, light and
// dark, desktop and phone, the room drawer, a failed send. Each also
// checks what the picture is meant to show.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd } from '../lib/server.mjs';
import { send as apiSend } from '../lib/http.mjs';
import {
  launch, newContext, openChat, waitConnected, waitTexts, typeAndSend, screenshot,
  interceptSends, WAIT,
} from './helpers.mjs';

let srv;
let browser;

const CONVERSATION = [
  ['alice', 'Morning all! Is the release still on for today?'],
  ['bob', 'Yes, tagging after lunch.'],
  ['bob', 'Changelog draft is here: https://example.com/fcgichat/CHANGELOG.md'],
  ['carol', 'I ran the soak test overnight:\n- 10k clients on long-poll\n- no drops, p99 41 ms'],
  ['alice', 'Lovely. And SSE behind the proxy?'],
  ['dave', 'Works once response buffering is off. <script> tags in messages still show as text.'],
  ['bob', 'ship it ✓'],
];

before(async () => {
  srv = await startLighttpd({ procs: 2 });
  browser = await launch();
  await apiSend(srv.url, 'lobby', 'alice', 'hello');
  for (const r of ['design', 'ops', 'random']) await apiSend(srv.url, r, 'x', 'seed');
  for (const [nick, text] of CONVERSATION) await apiSend(srv.url, 'release', nick, text);
});

after(async () => {
  await browser?.close();
  await srv?.cleanup();
});

async function conversation(ctx, nick = 'alice', setup = undefined) {
  const page = await openChat(ctx, srv, { room: 'release', nick, setup });
  await waitConnected(page);
  await waitTexts(page, CONVERSATION.map(([, t]) => t));
  await page.waitForFunction(() => document.querySelectorAll('#rooms li').length >= 4, null, { timeout: WAIT });
  return page;
}

test('empty room', async () => {
  const ctx = await newContext(browser);
  const page = await openChat(ctx, srv, { room: 'brand-new' });
  await waitConnected(page);
  await page.locator('#empty').waitFor({ state: 'visible', timeout: WAIT });
  assert.match(await page.locator('#empty').textContent(), /No messages in #brand-new yet/);
  await screenshot(page, 'empty-room');
  await ctx.close();
});

test('conversation, light', async () => {
  const ctx = await newContext(browser, { colorScheme: 'light' });
  const page = await conversation(ctx);
  await typeAndSend(page, 'Great, see you at the retro.');
  await waitTexts(page, ['Great, see you at the retro.']);
  // bob's two messages in a row form one group: one avatar
  assert.equal(await page.locator('#messages .msg.cont').count(), 1);
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill('Drafting a reply…');
  await screenshot(page, 'conversation-light');
  await ctx.close();
});

test('conversation, dark', async () => {
  const ctx = await newContext(browser, { colorScheme: 'dark' });
  const page = await conversation(ctx, 'carol');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(22, 24, 29)', 'dark background');
  await screenshot(page, 'conversation-dark');
  await ctx.close();
});

test('phone width, and the room drawer', async () => {
  for (const scheme of ['light', 'dark']) {
    const ctx = await newContext(browser, {
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
      colorScheme: scheme,
    });
    const page = await conversation(ctx, 'dave');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px)`);
    assert.equal(await page.locator('#sidebar').isVisible(), false, 'rooms hidden in the drawer');
    await screenshot(page, `phone-${scheme}`);
    if (scheme === 'light') {
      await page.getByRole('button', { name: 'Rooms' }).click();
      await page.locator('#sidebar').waitFor({ state: 'visible', timeout: WAIT });
      await page.waitForTimeout(300); // the drawer's slide-in, for the picture only
      await screenshot(page, 'phone-drawer');
      await page.keyboard.press('Escape');
      await page.locator('#sidebar').waitFor({ state: 'hidden', timeout: WAIT });
    }
    await ctx.close();
  }
});

test('a send the server refuses', async () => {
  const ctx = await newContext(browser);
  const page = await conversation(ctx, 'erin', (p) => interceptSends(p, 'release', () => ({
    status: 400, code: 'bad_text', message: 'Messages may hold at most 4000 bytes of UTF-8.',
  })));
  await typeAndSend(page, 'this one will not go through');
  const failed = page.locator('#outbox .msg.failed');
  await failed.waitFor({ timeout: WAIT });
  assert.match(await failed.getByRole('alert').textContent(), /at most 4000 bytes/);
  await screenshot(page, 'send-failed');
  // Edit brings the text back to the composer to be fixed
  await failed.getByRole('button', { name: 'Edit' }).click();
  assert.equal(await page.getByRole('textbox', { name: 'Message', exact: true }).inputValue(),
    'this one will not go through');
  assert.equal(await page.locator('#outbox .msg').count(), 0);
  await ctx.close();
});

test('reading older messages while new ones arrive', async () => {
  const room = 'busy-room';
  const names = ['alice', 'bob', 'carol', 'dave'];
  for (let i = 0; i < 70; i++) {
    await apiSend(srv.url, room, names[i % 4], i % 7 ? `message number ${i}` : `a longer message number ${i}, which wraps over more than one line when the window is narrow enough to need it`);
  }
  const ctx = await newContext(browser, { viewport: { width: 900, height: 640 } });
  const page = await openChat(ctx, srv, { room, nick: 'reader' });
  await waitConnected(page);
  await page.locator('#scroller').evaluate((s) => { s.scrollTop = s.scrollHeight / 2; });
  for (let i = 0; i < 3; i++) await apiSend(srv.url, room, 'erin', `new while reading ${i}`);
  await page.waitForFunction(() => document.getElementById('new-marker').dataset.count === '3', null, { timeout: WAIT });
  assert.equal(await page.getByRole('button', { name: '3 new messages' }).isVisible(), true);
  await screenshot(page, 'new-messages-marker');
  await ctx.close();
});
