// helpers.mjs - what the fault tests share: clients that keep their cursor
// and resume after any failure (long-poll loops, event streams that
// reconnect with Last-Event-ID, WebSockets that reconnect with since,
// senders that retry with their client_id), built on tests/lib/http.mjs
// and ws.mjs; the database read directly; and a worker's descriptors and
// memory from /proc.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tryRequest, openEvents } from '../lib/http.mjs';
import { WsFollower as Follower } from '../lib/ws.mjs';
import { psql } from '../lib/pg.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Rows of a query on the database, as objects: sqlite3 -json on a file,
// psql's json_agg on a postgresql:// URI (FCGICHAT_STORE=postgresql).
export function sqlRows(dbPath, query) {
  if (/^postgres(ql)?:\/\//.test(dbPath)) {
    return JSON.parse(psql(dbPath, `SELECT coalesce(json_agg(q), '[]') FROM (${query}) q`));
  }
  const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', dbPath, query], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
}

// The ids of a room in the database, in order.
export function roomIds(dbPath, room, after = 0) {
  return sqlRows(dbPath, `SELECT id FROM messages WHERE room = '${room}' AND id > ${after} ORDER BY id`).map((r) => r.id);
}

// count(*) and max(id) of the whole database: "unchanged" means both are.
export function dbState(dbPath) {
  const [r] = sqlRows(dbPath, 'SELECT count(*) AS n, coalesce(max(id), 0) AS max FROM messages');
  return r;
}

// Open descriptors and resident memory (kB) of a process, from /proc.
export function procStatus(pid) {
  let fds = -1;
  let rss = -1;
  let hwm = -1;
  try { fds = fs.readdirSync(`/proc/${pid}/fd`).length; } catch {}
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    rss = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? -1);
    hwm = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? -1);
  } catch {}
  return { fds, rss, hwm };
}

// Sends one message, retrying with the same client_id until the server
// answers 201 or 200 (or `tries` run out). Resolves {id, status, tries,
// failures} where failures lists what the earlier tries got.
export async function sendSure(base, room, nick, text, clientId, { tries = 200, pause = 50 } = {}) {
  const failures = [];
  for (let i = 1; i <= tries; i++) {
    const r = await tryRequest(base, 'POST', `/api/rooms/${room}/messages`, {
      body: { nick, text, client_id: clientId }, timeout: 15000,
    });
    if ((r.status === 201 || r.status === 200) && r.json?.id) {
      return { id: r.json.id, status: r.status, tries: i, failures, message: r.json };
    }
    failures.push(r.status || String(r.error?.code || r.error?.message));
    await sleep(pause);
  }
  throw new Error(`send ${clientId}: no answer after ${tries} tries: ${failures.slice(-5).join(', ')}`);
}

// Every Poller and Stream not yet stopped, so that an after() hook can
// stop what a failed test left running (stopAll).
const live = new Set();
export async function stopAll() {
  const all = [...live];
  for (const c of all) c.stop();
  await Promise.all(all.map((c) => c.done));
}

// A long-poll loop: GET ?since=cursor&wait=S, append what comes, send
// last_id back; on any failure (refused, cut, 5xx) wait a little and ask
// again from the same cursor.
export class Poller {
  constructor(base, room, since, { wait = 20, pause = 100 } = {}) {
    Object.assign(this, { base, room, cursor: since, wait, pause });
    this.ids = [];
    this.failures = 0;
    this.stopped = false;
    this.abort = new AbortController();
    live.add(this);
    this.done = this.run();
  }

  async run() {
    while (!this.stopped) {
      const r = await tryRequest(this.base, 'GET',
        `/api/rooms/${this.room}/messages?since=${this.cursor}&wait=${this.wait}`,
        { timeout: (this.wait + 10) * 1000, signal: this.abort.signal });
      if (this.stopped) break;
      if (r.status === 200 && r.json && Array.isArray(r.json.messages)) {
        for (const m of r.json.messages) this.ids.push(m.id);
        this.cursor = r.json.last_id;
      } else {
        this.failures++;
        await sleep(this.pause);
      }
    }
  }

  stop() { this.stopped = true; this.abort.abort(); live.delete(this); }
}

// An event stream that reconnects like EventSource: with Last-Event-ID
// set to the last complete event it got (or since= before any; or
// lastEventId from the start, like a browser resuming a stream).
export class Stream {
  constructor(base, room, since, { pause = 100, onEvent, lastEventId = null } = {}) {
    Object.assign(this, { base, room, since, pause, onEvent });
    this.ids = [];
    this.lastId = lastEventId;
    this.connects = 0;
    this.ends = 0;
    this.stopped = false;
    this.current = null;
    this.open = false;
    live.add(this);
    this.done = this.run();
  }

  // One connection, until it ends; ids are those of events with a
  // numeric id on a 200 stream.
  connect() {
    this.connects++;
    const lastEventId = this.lastId ?? undefined;
    const since = this.lastId === null ? this.since : undefined;
    const s = this.current = openEvents(this.base, this.room, {
      since, lastEventId,
      onEvent: (ev) => {
        if (s.status !== 200 || !/^\d+$/.test(ev.id ?? '')) return;
        const n = Number(ev.id);
        this.ids.push(n);
        this.lastId = n;
        this.onEvent?.(n, ev);
      },
    });
    s.opened.then(() => { this.open = s.status === 200 && !s.ended; }, () => {});
    return s.done.then(() => { this.open = false; });
  }

  async run() {
    while (!this.stopped) {
      await this.connect();
      if (this.stopped) break;
      this.ends++;
      await sleep(this.pause);
    }
  }

  stop() { this.stopped = true; this.current?.close(); live.delete(this); }
}

// A WebSocket that reconnects with since= the last id it got (lib/ws.mjs's
// WsFollower), stopped by stopAll() too.
export class WsFollower extends Follower {
  constructor(...args) {
    super(...args);
    live.add(this);
  }

  stop() { super.stop(); live.delete(this); }
}

// Waits until every client has got exactly `ids` (or the time is up);
// returns the clients that have not.
export async function waitAllGot(clients, ids, timeout) {
  const end = Date.now() + timeout;
  const want = ids.join(',');
  for (;;) {
    const behind = clients.filter((c) => c.ids.length < ids.length);
    if (behind.length === 0 || Date.now() > end) return clients.filter((c) => c.ids.join(',') !== want);
    await sleep(100);
  }
}
