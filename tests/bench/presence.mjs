// measure-presence.mjs - the cost of who is here: presence writes per
// second (GET /api/stats presence_writes over all workers) while N clients
// long-poll in rounds with nicks, and while they stay (no arrivals).
// Usage: node tests/bench/presence.mjs [N] [SECONDS]
import { startServer } from '../lib/server.mjs';
import { get } from '../lib/http.mjs';

const N = Number(process.argv[2] || 200);
const SECS = Number(process.argv[3] || 20);
const srv = await startServer({ procs: 2 });
const writes = async () => (await get(srv.url, '/api/stats')).json.presence_writes ?? 0;
let stop = false;
const client = async (i) => {
  let since = 0;
  while (!stop) {
    const r = await get(srv.url, `/api/rooms/m${i % 10}/messages?since=${since}&wait=2&nick=u${i}`).catch(() => null);
    if (r?.json) since = r.json.last_id;
  }
};
const clients = [...Array(N)].map((_, i) => client(i));
await new Promise((r) => setTimeout(r, 5000));   // everybody arrived
const w0 = await writes();
const t0 = Date.now();
let polls = 0;
await new Promise((r) => setTimeout(r, SECS * 1000));
const w1 = await writes();
const s = (Date.now() - t0) / 1000;
console.log(`N=${N} clients long-polling (wait=2) in 10 rooms, 2 workers: ${((w1 - w0) / s).toFixed(2)} presence writes/s over ${s.toFixed(0)} s (${w1 - w0} writes; ${N / 2} polls/s)`);
stop = true;
await Promise.allSettled(clients);
await srv.cleanup();
