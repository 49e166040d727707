// restart.test.mjs - lighttpd stopped and started again (its workers with
// it) while long-polls, event streams and WebSockets wait and senders
// send: clients reconnect and resume from their last id, senders retry
// with their client_id, and every client ends up with exactly the room's
// messages, including rows written with the sqlite3 shell while the server
// was down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { Poller, Stream, WsFollower, sendSure, sqlRows, roomIds, waitAllGot, stopAll, sleep } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startLighttpd({ procs: 2, env: { FCGICHAT_MAX_WAIT: '20' } });
});
after(async () => { await stopAll(); await srv?.cleanup(); });

test('lighttpd restarted under waiting clients and senders: everyone resumes, nothing lost, nothing twice', { timeout: 120000 }, async (t) => {
  const room = 'restart';
  const clients = [
    ...Array.from({ length: 50 }, () => new Poller(srv.url, room, 0)),
    ...Array.from({ length: 50 }, () => new Stream(srv.url, room, 0)),
    ...Array.from({ length: 50 }, () => new WsFollower(srv.url, room, 0)),
  ];
  let sent = 0;
  const results = [];
  const senders = Array.from({ length: 2 }, async (_, s) => {
    for (let i = 0; i < 60; i++) {
      const cid = `restart-${s}-${i}`;
      results.push({ cid, ...await sendSure(srv.url, room, `s${s}`, `message ${i}`, cid) });
      sent++;
      await sleep(10);
    }
  });
  await waitFor(() => sent >= 30, { timeout: 20000, what: '30 sends' });
  const oldWorkers = srv.workers();
  await srv.stop();
  // Written while no server runs: readers must get these too.
  srv.sql(`INSERT INTO messages(room, nick, text) VALUES ('${room}', 'shell', 'while down 1'), ('${room}', 'shell', 'while down 2')`);
  await sleep(500);
  await srv.start();
  assert.notDeepEqual(srv.workers(), oldWorkers);
  await Promise.all(senders);

  const rows = sqlRows(srv.dbPath, `SELECT id, client_id FROM messages WHERE room = '${room}' ORDER BY id`);
  assert.equal(rows.length, 122, '120 sends and 2 shell rows, each once');
  const byCid = new Map(rows.filter((r) => r.client_id).map((r) => [r.client_id, r.id]));
  for (const r of results) assert.equal(byCid.get(r.cid), r.id, `acknowledged ${r.cid} is the stored row`);
  const ids = roomIds(srv.dbPath, room);
  const wrong = await waitAllGot(clients, ids, 20000);
  for (const c of clients) c.stop();
  assert.deepEqual(wrong.map((c) => c.ids.length), [], 'clients missing or repeating messages');
  const retried = results.filter((r) => r.tries > 1).length;
  assert.ok(clients.filter((c) => c instanceof WsFollower).every((w) => w.ends > 0), 'every WebSocket was cut and resumed');
  t.diagnostic(`${retried} sends retried across the restart; ${clients.reduce((n, c) => n + (c.failures ?? c.ends), 0)} client reconnects; ` +
    `${ids.length * clients.length} deliveries checked`);
});
