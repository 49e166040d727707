// helpers.mjs - shared setup of the browser tests: headless Debian Chromium
// driven by playwright-core (no browser download), pages on the project's
// own lighttpd (tests/lib/server.mjs), and small waits on the page's state.
//
// Run (after `make` and `make deps`):
//   cd tests && node --test --test-concurrency=1 browser/
// or as `make test` does: sh tests/run-integration.sh browser/
// Screenshots of the main states land in tests/output/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../lib/server.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'tests/output/screenshots');

/** Bounded waits: a failing condition fails the test, never hangs it. */
export const WAIT = 20000;

export async function launch() {
  const args = [
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-gpu', '--no-first-run',
    '--disable-default-apps', '--disable-extensions',
    '--disable-features=Translate,MediaRouter,OptimizationHints',
    // Tabs the tests open stay "visible" and keep their timers running.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * A new browser context (its own storage: another person) with the
 * page's console errors and any request leaving 127.0.0.1 collected.
 */
export async function newContext(browser, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 }, ...opts });
  ctx.problems = [];
  await ctx.route((url) => !/^(http:\/\/127\.0\.0\.1[:/]|data:|blob:|about:)/.test(url.href), (route) => {
    ctx.problems.push(`request outside 127.0.0.1: ${route.request().url()}`);
    return route.abort();
  });
  ctx.on('page', (page) => watchPage(ctx, page));
  // The server's Content-Security-Policy forbids inline script and style:
  // any violation is a page problem.
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`);
    });
  });
  return ctx;
}

function watchPage(ctx, page) {
  page.on('pageerror', (err) => ctx.problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const t = msg.text();
    // Failed requests while the server is down are expected in some tests,
    // and so are refused WebSocket upgrades (the tests check what the page
    // then chose).
    if (/Failed to load resource|ERR_CONNECTION_REFUSED|net::ERR_|EventSource|WebSocket connection to/.test(t)) return;
    ctx.problems.push(`console error: ${t}`);
  });
}

/** Opens the chat in room `room` as `nick`, with the given transport. */
export async function openChat(ctx, srv, { room = 'lobby', nick, transport, interval, setup } = {}) {
  const page = await ctx.newPage();
  if (setup) await setup(page);
  if (nick || transport || interval) {
    await page.addInitScript(([n, t, i]) => {
      if (n && !localStorage.getItem('fcgichat.nick')) localStorage.setItem('fcgichat.nick', n);
      if (t) localStorage.setItem('fcgichat.transport', t);
      if (i) localStorage.setItem('fcgichat.interval', String(i));
    }, [nick, transport, interval]);
  }
  await page.goto(`${srv.url}/#${room}`);
  try {
    await page.waitForFunction(() => window.fcgichat && document.documentElement.dataset.ready === 'true',
      null, { timeout: WAIT });
  } catch (err) {
    err.message += `\npage problems: ${JSON.stringify(ctx.problems)}`;
    throw err;
  }
  return page;
}

/** Waits until the live connection is up (on `kind`, when given). */
export async function waitConnected(page, kind, timeout = WAIT) {
  await page.waitForFunction((k) => window.fcgichat.state() === 'connected' &&
    (!k || window.fcgichat.transport() === k), kind, { timeout });
}

/** Texts of the stored (not pending) messages shown, in order. */
export function shownTexts(page) {
  return page.$$eval('#messages .msg .msg-text', (els) => els.map((e) => e.textContent));
}

/** Waits until every text in `texts` is shown as a stored message. */
export async function waitTexts(page, texts, timeout = WAIT) {
  await page.waitForFunction((want) => {
    const have = new Set([...document.querySelectorAll('#messages .msg .msg-text')]
      .map((e) => e.textContent));
    return want.every((t) => have.has(t));
  }, texts, { timeout });
}

/** Types a message into the composer and presses Enter. */
export async function typeAndSend(page, text) {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** Ids of the stored messages shown, checking order and uniqueness. */
export async function shownIds(page) {
  return page.evaluate(() => window.fcgichat.ids());
}

export function assertNoDuplicates(assert, ids, what = 'ids') {
  assert.equal(new Set(ids).size, ids.length, `${what} has duplicates: ${ids}`);
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i - 1] < ids[i], `${what} out of order: ${ids}`);
  }
}

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Requests to the API counted from lighttpd's access log. */
export function accessLog(srv) {
  try {
    return fs.readFileSync(path.join(srv.dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Answers the page's sends to `room` as `answer(body)` says — an error
 * {status, code, message}, or null to let the send through — whichever way
 * they go: a POST gets that HTTP answer, a send over the room's WebSocket
 * an error frame (the socket's other frames pass both ways). Call it
 * before the page opens its WebSocket (openChat's setup). Returns the
 * bodies {nick, text, client_id} seen, in order.
 */
export async function interceptSends(page, room, answer) {
  const bodies = [];
  await page.route(`**/api/rooms/${room}/messages`, (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const body = route.request().postDataJSON();
    bodies.push(body);
    const a = answer(body);
    if (!a) return route.continue();
    return route.fulfill({
      status: a.status, contentType: 'application/json; charset=utf-8',
      body: JSON.stringify({ error: { code: a.code, message: a.message } }),
    });
  });
  await page.routeWebSocket(new RegExp(`/api/rooms/${room}/ws(\\?|$)`), (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      let f = null;
      try { f = JSON.parse(m); } catch { /* passed on as it is */ }
      if (f?.type !== 'send') return server.send(m);
      const body = { nick: f.nick, text: f.text, client_id: f.client_id };
      bodies.push(body);
      const a = answer(body);
      if (!a) return server.send(m);
      return ws.send(JSON.stringify({
        type: 'error', client_id: f.client_id, error: { code: a.code, message: a.message },
      }));
    });
  });
  return bodies;
}
