// kill.test.mjs - a worker killed with SIGKILL while senders send (each
// with a client_id, retrying until answered) and hundreds of long-polls,
// event streams and WebSockets wait: lighttpd starts a new worker, every
// acknowledged send is in the database exactly once, and every waiting
// client, resuming from its last id, ends up with exactly the room's
// messages, none twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startLighttpd, waitFor } from '../lib/server.mjs';
import { Poller, Stream, WsFollower, sendSure, sqlRows, roomIds, waitAllGot, procStatus, sleep, stopAll } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startLighttpd({ procs: 2, env: { FCGICHAT_MAX_WAIT: '20' } });
});
after(async () => { await stopAll(); await srv?.cleanup(); });

const SENDERS = 4;
const PER_SENDER = 100;
const POLLERS = 200;
const STREAMS = 100;
const SOCKETS = 100;   // WebSockets

test(`three kill -9 of workers under ${SENDERS * PER_SENDER} sends and ${POLLERS + STREAMS + SOCKETS} waiting clients: nothing lost, nothing twice`, { timeout: 180000 }, async (t) => {
  const room = 'killed';
  const fds0 = srv.workers().reduce((n, p) => n + procStatus(p).fds, 0);
  const pollers = Array.from({ length: POLLERS }, () => new Poller(srv.url, room, 0));
  const streams = Array.from({ length: STREAMS }, () => new Stream(srv.url, room, 0));
  const sockets = Array.from({ length: SOCKETS }, () => new WsFollower(srv.url, room, 0));
  await waitFor(() => streams.every((s) => s.open) && sockets.every((w) => w.open) &&
    srv.workers().reduce((n, p) => n + procStatus(p).fds, 0) - fds0 >= POLLERS + STREAMS + SOCKETS,
  { timeout: 20000, what: 'all clients waiting' });

  let acked = 0;
  let gate = null;   // while set, senders wait for it before sending
  const results = [];
  const senders = Array.from({ length: SENDERS }, async (_, s) => {
    for (let i = 0; i < PER_SENDER; i++) {
      while (gate) await gate;
      const cid = `s${s}-m${i}`;
      const r = await sendSure(srv.url, room, `sender${s}`, `message ${i} of sender ${s}`, cid);
      results.push({ cid, ...r });
      acked++;
    }
  });

  // The first kill comes while every client is parked (senders held, all
  // caught up), so it surely cuts waiting long-polls and streams; two more
  // in full flow, where one may cut a send between commit and answer.
  // Each waits for lighttpd to replace the last one.
  const killed = [];
  const kill = async () => {
    const victim = srv.workers()[killed.length % 2];
    process.kill(victim, 'SIGKILL');
    killed.push(victim);
    await waitFor(() => {
      const now = srv.workers();
      return now.length === 2 && !now.includes(victim);
    }, { timeout: 20000, what: `lighttpd to replace worker ${victim}` });
  };
  const killer = (async () => {
    await waitFor(() => acked >= SENDERS * PER_SENDER / 4, { timeout: 60000, what: 'a quarter sent' });
    let open;
    gate = new Promise((r) => { open = r; });
    await waitFor(() => results.length === acked && [...pollers, ...streams, ...sockets].every((c) => c.ids.length === acked),
      { timeout: 20000, what: 'clients to catch up' });
    await sleep(300);   // long-polls park again
    await kill();
    gate = null;
    open();
    for (const part of [0.5, 0.75]) {
      await waitFor(() => acked >= SENDERS * PER_SENDER * part, { timeout: 60000, what: `${part * 100}% sent` });
      await kill();
    }
  })();
  const t0 = Date.now();
  await Promise.all([...senders, killer]);
  const tSend = Date.now() - t0;

  // The database holds each logical message once, as acknowledged.
  const rows = sqlRows(srv.dbPath, `SELECT id, nick, client_id FROM messages WHERE room = '${room}' ORDER BY id`);
  assert.equal(rows.length, SENDERS * PER_SENDER, 'one row per message sent');
  const byCid = new Map(rows.map((r) => [`${r.client_id}`, r.id]));
  assert.equal(byCid.size, rows.length, 'no client_id stored twice');
  for (const r of results) assert.equal(byCid.get(r.cid), r.id, `acknowledged ${r.cid} is the stored row`);

  // Every waiting client got every message exactly once, in order.
  const ids = roomIds(srv.dbPath, room);
  const clients = [...pollers, ...streams, ...sockets];
  const wrong = await waitAllGot(clients, ids, 30000);
  const tDeliver = Date.now() - t0 - tSend;
  for (const c of clients) c.stop();
  await Promise.all(clients.map((c) => c.done));
  const retried = results.filter((r) => r.tries > 1);
  t.diagnostic(`sending ${tSend} ms, last delivery ${tDeliver} ms later; killed ${killed.join(', ')}; ${retried.length} sends retried ` +
    `(${retried.filter((r) => r.status === 200).length} answered 200: committed before the kill); ` +
    `${pollers.reduce((n, p) => n + p.failures, 0)} long-polls cut, ` +
    `${streams.reduce((n, s) => n + s.ends, 0)} streams ended, ${sockets.reduce((n, w) => n + w.ends, 0)} WebSockets ended; ` +
    `${ids.length * clients.length} deliveries checked`);
  assert.deepEqual(wrong.map((c) => c.ids.length), [], 'clients missing or repeating messages');
  // The kills did hit waiting clients (else this test proves little).
  assert.ok(pollers.some((p) => p.failures > 0) && streams.some((s) => s.ends > 0) && sockets.some((w) => w.ends > 0),
    'some waiting clients of each kind were cut');
  assert.equal(srv.workers().length, 2);
});

test('lighttpd itself killed with -9: its workers end too, none left holding the database', async () => {
  const own = await startLighttpd({ procs: 2 });
  const workers = own.workers();
  try {
    assert.equal(workers.length, 2);
    own.killFrontEnd();
    await waitFor(() => workers.every((w) => !fs.existsSync(`/proc/${w}/fd`)),
      { timeout: 5000, what: `workers ${workers.join(', ')} to end` });
  } finally {
    for (const w of workers) { try { process.kill(w, 'SIGKILL'); } catch {} }
    await own.cleanup();
  }
});

// lighttpd stops a worker with SIGTERM, and its exit sends the worker the
// parent-death SIGTERM right after. A thread that left SIGTERM unblocked
// took one that came while the main thread was not in sigwait, and the
// process ended there and then, by the signal's default action (without
// the fix, 14 of 20 workers sent such a burst ended that way).
test('a burst of SIGTERM reaches only the thread that waits for it: the worker ends its own way', async () => {
  const own = await startLighttpd({ procs: 1 });
  const bit = (sig) => 1n << BigInt(sig - 1);
  try {
    for (let i = 0; i < 5; i++) {
      const [w] = own.workers();
      for (const t of fs.readdirSync(`/proc/${w}/task`).filter((t) => Number(t) !== w)) {
        const blocked = BigInt('0x' + /SigBlk:\s*(\w+)/.exec(fs.readFileSync(`/proc/${w}/task/${t}/status`, 'utf8'))[1]);
        assert.ok(blocked & bit(15) && blocked & bit(2), `thread ${t} of worker ${w} can take SIGTERM or SIGINT`);
      }
      for (let k = 0; k < 200; k++) {
        try { process.kill(w, 'SIGTERM'); } catch { break; }
      }
      await waitFor(() => !fs.existsSync(`/proc/${w}/fd`), { timeout: 5000, what: `worker ${w} to end` });
      assert.match(own.log(), new RegExp(`fcgichat\\[${w}\\] info: main: Terminated, exiting`));
      await waitFor(() => {
        const now = own.workers();
        return now.length === 1 && now[0] !== w && own.serving();
      }, { what: 'lighttpd to start a new worker' });
    }
  } finally {
    await own.cleanup();
  }
});
