// browser-held.mjs - what one browser really holds open on the server, for
// choosing FCGICHAT_MAX_WAITING (README, Configuration): a real headless
// Chromium opens TABS tabs of one room (and then a second room in one more
// tab) with each transport, and /api/stats counts the waiting requests
// (long-polls, event streams, WebSockets) the workers hold for it, once the
// count has stayed put for 3 s. Also the most seen at once while they
// settle (a long-poll's answer and the next one may overlap).
//   node tests/bench/browser-held.mjs [TABS]   (default 5)
// Prints one line per transport.
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { get } from '../lib/http.mjs';
import { launch, newContext, openChat, waitConnected } from '../browser/helpers.mjs';

const TABS = Number(process.argv[2] || 5);
const srv = await startLighttpd({ procs: 2 });
const browser = await launch();
const waiting = async () => (await get(srv.url, '/api/stats')).json.waiting;

// Samples the waiting total every 100 ms until it has not changed for 3 s
// (at most 30 s); returns { settled, most }.
async function settle() {
  let last = -1;
  let since = Date.now();
  let most = 0;
  const end = Date.now() + 30000;
  while (Date.now() < end) {
    const w = (await waiting()).total;
    most = Math.max(most, w);
    if (w !== last) { last = w; since = Date.now(); }
    if (Date.now() - since >= 3000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { settled: last, most };
}

try {
  for (const transport of ['ws', 'sse', 'longpoll', 'poll', 'auto']) {
    await waitFor(async () => (await waiting()).total === 0, { timeout: 60000, what: 'no waiting request left' });
    const ctx = await newContext(browser);
    const tabs = [];
    for (let i = 0; i < TABS; i++) {
      const page = await openChat(ctx, srv, { room: 'held', nick: 'm', transport });
      tabs.push(page);
    }
    await Promise.all(tabs.map((p) => waitConnected(p, transport === 'auto' ? undefined : transport, 30000)));
    const one = await settle();
    // Another room in one more tab: one more connection.
    const other = await openChat(ctx, srv, { room: 'held2', nick: 'm', transport });
    await waitConnected(other, transport === 'auto' ? undefined : transport, 30000);
    const two = await settle();
    console.log(`${transport}: ${TABS} tabs of one room hold ${one.settled} waiting ` +
      `(most at once ${one.most}); plus a tab of another room: ${two.settled} (most ${two.most})`);
    await ctx.close();
  }
} finally {
  await browser.close();
  await srv.cleanup();
}
