// failover.test.mjs - a whole host killed with kill -9 (its workers, then
// its lighttpd, as when the machine dies) while senders send to both hosts
// of one PostgreSQL database and clients wait on both: what the dead host
// acknowledged is stored once; its senders retry on the other host with
// their client_id (a send cut between commit and answer gets the stored
// row back, 200); its waiting clients resume on the other host from their
// cursor or Last-Event-ID, and every client ends with exactly the room's
// messages, none twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../lib/server.mjs';
import { tryRequest } from '../lib/http.mjs';
import { pgDatabase, psql } from '../lib/pg.mjs';
import { Poller, Stream, sqlRows, waitAllGot, sleep, stopAll } from '../faults/helpers.mjs';

let a, b;
before(async () => {
  const db = pgDatabase();
  a = await startServer({ store: 'postgresql', db, env: { FCGICHAT_MAX_WAIT: '20' } });
  b = await startServer({ store: 'postgresql', db, env: { FCGICHAT_MAX_WAIT: '20' } });
});
after(async () => { await stopAll(); await a?.cleanup(); await b?.cleanup(); });

const SENDERS = 4;
const PER_SENDER = 100;
const CLIENTS = 50;   // of each kind (long-poll, stream) on each host

// Sends until answered 201 or 200, asking host() anew before each try (a
// load balancer that stops sending to a dead host); host: who answered.
async function sendOver(host, room, nick, text, clientId) {
  const failures = [];
  for (let i = 1; i <= 200; i++) {
    const base = host();
    const r = await tryRequest(base, 'POST', `/api/rooms/${room}/messages`, {
      body: { nick, text, client_id: clientId }, timeout: 15000,
    });
    if ((r.status === 201 || r.status === 200) && r.json?.id) return { id: r.json.id, status: r.status, tries: i, host: base };
    failures.push(r.status || String(r.error?.code || r.error?.message));
    await sleep(50);
  }
  throw new Error(`send ${clientId}: no answer after 200 tries: ${failures.slice(-5).join(', ')}`);
}

test(`host A killed with -9 under ${SENDERS * PER_SENDER} sends to both hosts and ${4 * CLIENTS} waiting clients: nothing acknowledged lost, nothing twice`, { timeout: 180000 }, async (t) => {
  const room = 'failover';
  let aDead = false;
  const on = (h) => () => (aDead || h === b ? b.url : a.url);
  const make = (h) => [
    ...Array.from({ length: CLIENTS }, () => new Poller(h.url, room, 0)),
    ...Array.from({ length: CLIENTS }, () => new Stream(h.url, room, 0)),
  ];
  const onA = make(a);
  const clients = [...onA, ...make(b)];
  await waitFor(() => clients.every((c) => c instanceof Poller || c.open), { timeout: 20000, what: 'every stream open' });

  let acked = 0;
  const results = [];
  const senders = Array.from({ length: SENDERS }, async (_, s) => {
    const host = on(s % 2 ? b : a);
    for (let i = 0; i < PER_SENDER; i++) {
      const cid = `s${s}-m${i}`;
      results.push({ cid, ...await sendOver(host, room, `sender${s}`, `message ${i} of sender ${s}`, cid) });
      acked++;
    }
  });

  const killer = (async () => {
    await waitFor(() => acked >= SENDERS * PER_SENDER / 3, { timeout: 60000, what: 'a third sent' });
    const workers = a.workers();
    assert.equal(workers.length, 2);
    for (const w of workers) process.kill(w, 'SIGKILL');
    a.killFrontEnd();
    aDead = true;
    // A's clients move to B, as a browser reloads through the balancer:
    // their cursors and Last-Event-IDs were handed out by A.
    for (const c of onA) c.base = b.url;
    await waitFor(() => a.proc.signalCode === 'SIGKILL', { what: 'lighttpd of A to end' });
  })();
  const t0 = Date.now();
  await Promise.all([...senders, killer]);
  const tSend = Date.now() - t0;

  const rows = sqlRows(b.dbPath, `SELECT id, client_id FROM messages WHERE room = '${room}' ORDER BY id`);
  assert.equal(rows.length, SENDERS * PER_SENDER, 'one row per message sent');
  const byCid = new Map(rows.map((r) => [r.client_id, r.id]));
  assert.equal(byCid.size, rows.length, 'no client_id stored twice');
  for (const r of results) assert.equal(byCid.get(r.cid), r.id, `acknowledged ${r.cid} is the stored row`);
  assert.ok(results.some((r) => r.host === a.url), 'A acknowledged sends before it died');

  const ids = rows.map((r) => r.id);
  const wrong = await waitAllGot(clients, ids, 30000);
  for (const c of clients) c.stop();
  await Promise.all(clients.map((c) => c.done));
  const retried = results.filter((r) => r.tries > 1);
  t.diagnostic(`sending ${tSend} ms; ${results.filter((r) => r.host === a.url).length} sends acknowledged by A, ` +
    `${retried.length} retried on B (${retried.filter((r) => r.status === 200).length} answered 200: committed on A before the kill); ` +
    `${onA.reduce((n, c) => n + (c.failures ?? c.ends), 0)} cuts of A's clients; ${ids.length * clients.length} deliveries checked`);
  assert.deepEqual(wrong.map((c) => c.ids.length), [], 'clients missing or repeating messages');
  assert.ok(onA.some((c) => (c.failures ?? c.ends) > 0), "the kill cut A's waiting clients");
  // The dead workers' sessions are gone from the server: PostgreSQL saw
  // their sockets close and rolled back what they had begun.
  await waitFor(() => psql(b.dbPath, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fcgichat' AND state LIKE 'idle in transaction%'").trim() === '0',
    { what: 'no session left in a transaction' });
});
