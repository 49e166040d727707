// measure.mjs - how many waiting clients a front end holds, and what one
// send then costs: the figures of conf/DEPLOYING.md. Not a test (no
// assertions); run by hand, one front end at a time, as the user the tests
// run as:
//   FCGICHAT_BIN=$PWD/cgi-bin/fcgichat.fcgi \
//     node tests/frontends/measure.mjs FRONTEND N [--fcgid-procs P] [--wait S] [--ws]
// FRONTEND is lighttpd, apache-proxy or apache-fcgid (conf/apache.conf:
// MaxRequestWorkers 2048; mod_fcgid with P processes, default 40). It
// opens N long-polls (each holding up to S s, default 30) in an empty
// room, or with --ws N WebSockets, waits until they are parked (or stop
// growing for 3 s), sends one message and prints one JSON line: how many
// were parked and how fast, the send's status and time, how the clients
// ended (the message, empty at their deadline, an error) and how soon
// after the send, and the memory (proportional set size) and threads of
// the server and of the workers.
import fs from 'node:fs';
import { startServer, FRONTENDS } from '../lib/server.mjs';
import { get, send, waitingNow } from '../lib/http.mjs';
import { openWs, framesOf } from './ws-client.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : def;
};
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 && args.splice(i, 1).length === 1;
};
const fcgidProcs = opt('--fcgid-procs', 40);
const wait = opt('--wait', 30);
const ws = flag('--ws');
const [frontend, nArg] = args;
const N = Number(nArg);
if (!FRONTENDS.includes(frontend) || !(N > 0)) {
  console.error(`usage: measure.mjs ${FRONTENDS.join('|')} N [--fcgid-procs P] [--wait S] [--ws]`);
  process.exit(2);
}

const procStat = (pid) => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch { return null; }
};
const pssKB = (pid) => {
  try { return Number(/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]); } catch { return 0; }
};
const threads = (pid) => Number(procStat(pid)?.[17] || 0);
// The server's own processes: below the one startServer spawned, not workers.
function serverPids(srv) {
  const parent = new Map();
  for (const d of fs.readdirSync('/proc')) {
    const st = /^\d+$/.test(d) && procStat(d);
    if (st) parent.set(Number(d), Number(st[1]));
  }
  const below = new Set([srv.proc.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp] of parent) if (!below.has(p) && below.has(pp)) { below.add(p); grew = true; }
  }
  const workers = new Set(srv.workers());
  return [...below].filter((p) => !workers.has(p) && /^\/usr\/sbin\//.test(
    (() => { try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { return ''; } })()));
}
function memory(srv) {
  const s = serverPids(srv);
  const w = srv.workers();
  const mb = (kb) => Math.round(kb / 102.4) / 10;
  return {
    server: { processes: s.length, threads: s.reduce((a, p) => a + threads(p), 0), pssMB: mb(s.reduce((a, p) => a + pssKB(p), 0)) },
    workers: { processes: w.length, pssMB: mb(w.reduce((a, p) => a + pssKB(p), 0)) },
  };
}
const q = (sorted, f) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] : null;

// N long-polls, or N WebSockets, each settling to {status, n, at} (n:
// messages it got; at: when) or {error}; parkedNow() counts those held.
function openLongPolls(srv) {
  return {
    ends: Array.from({ length: N }, () =>
      get(srv.url, `/api/rooms/measure/messages?since=0&wait=${wait}`, { timeout: (wait + 120) * 1000 })
        .then((r) => ({ status: r.status, n: r.json?.messages?.length }), (e) => ({ error: e.message }))
        .then((r) => ({ ...r, at: Date.now() }))),
    parkedNow: async () => srv.connections(),
  };
}
function openWebSockets(srv) {
  const cs = Array.from({ length: N }, () => openWs(srv.url, 'measure', { origin: srv.url }));
  const ends = cs.map(async (c) => {
    await c.opened;
    if (c.status !== 101) return { status: c.status, error: c.error?.message };
    // Its message, or its end: a lifetime or a drop counts as empty.
    await c.until((x) => framesOf(x, 'message').length || x.closed, (wait + 120) * 1000).catch(() => {});
    const r = { status: 200, n: framesOf(c, 'message').length, at: Date.now() };
    c.terminate();
    return r;
  });
  return { ends, parkedNow: async () => (await waitingNow(srv.url)).ws };
}

const srv = await startServer({ frontend, fcgidProcs, env: { FCGICHAT_MAX_WAIT: String(Math.max(wait, 1)) } });
try {
  const idle = memory(srv);
  const t0 = Date.now();
  const { ends: polls, parkedNow } = ws ? openWebSockets(srv) : openLongPolls(srv);
  // Parked: each holds a connection in a worker. Stop when all are, or
  // when the count has not grown for 3 s (a cap reached).
  let parked = 0;
  let parkedMs = 0;
  let still = 0;
  while (parked < N && still < 3000 && (ws || Date.now() - t0 < wait * 1000 - 2000)) {
    await new Promise((r) => setTimeout(r, 500));
    const c = await parkedNow();
    if (c > parked) { parked = c; parkedMs = Date.now() - t0; still = 0; } else still += 500;
  }
  const busy = memory(srv);
  const ts = Date.now();
  const sent = await send(srv.url, 'measure', 'm', 'wake').catch((e) => ({ status: e.message }));
  const sendMs = Date.now() - ts;
  const answers = await Promise.all(polls);
  const woke = answers.filter((r) => r.status === 200 && r.n === 1).map((r) => r.at - ts).sort((a, b) => a - b);
  const out = {
    frontend, N, transport: ws ? 'ws' : 'longpoll', wait, fcgidProcs: frontend === 'apache-fcgid' ? fcgidProcs : undefined,
    parked, parkedMs,
    send: { status: sent.status, ms: sendMs },
    answers: {
      message: woke.length,
      emptyAtDeadline: answers.filter((r) => r.status === 200 && r.n === 0).length,
      otherStatus: answers.filter((r) => r.status && r.status !== 200).map((r) => r.status),
      errors: answers.filter((r) => r.error).length,
    },
    wakeMsAfterSend: { min: woke[0] ?? null, p50: q(woke, 0.5), p99: q(woke, 0.99), max: woke.at(-1) ?? null },
    idle, busy,
  };
  console.log(JSON.stringify(out));
} finally {
  await srv.cleanup();
}
