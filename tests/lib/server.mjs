// server.mjs - starts a real web server with the project's own config on a
// free loopback port, with a fresh SQLite file in a temporary directory, for
// the integration and browser tests. Three front ends, one interface:
//   lighttpd      conf/lighttpd.conf, lighttpd spawns `procs` workers
//   apache-proxy  conf/apache.conf via conf/run-apache.sh proxy: one worker
//                 on its own socket, Apache mod_proxy_fcgi in front
//   apache-fcgid  conf/apache.conf via conf/run-apache.sh fcgid: Apache
//                 mod_fcgid spawns up to `fcgidProcs` workers on demand
// startServer() picks FCGICHAT_FRONTEND (default lighttpd), and with
// FCGICHAT_STORE=postgresql a fresh PostgreSQL database (tests/lib/pg.mjs)
// instead of the SQLite file; several servers given the same `db` URI are
// several hosts sharing one database. With auth: true the page and the
// API (but /api/health and /api/stats) ask for a Basic login
// (conf/lighttpd-auth.conf, conf/apache-auth.conf) over a password file
// of USERS, each with the password equal to the name; http.mjs and
// ws.mjs take an auth: 'alice' option to log in.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { get } from './http.mjs';
import { STORE, pgDatabase, pgDir, psql } from './pg.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FCGICHAT_BIN || path.join(ROOT, 'cgi-bin/fcgichat.fcgi');
// The schema version the program expects: one per migration of sql/.
export const SCHEMA = fs.readdirSync(path.join(ROOT, 'sql')).filter((f) => /^\d+_.*\.sql$/.test(f)).length;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// waitFor(fn, {timeout, interval, what}): polls fn until it returns a
// truthy value, or throws after timeout ms naming what was awaited; what may
// be a function, called then, to tell the state at that moment.
export async function waitFor(fn, { timeout = 10000, interval = 20, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const said = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeout} ms waiting for ${said}` + (last ? `: ${last.message}` : ''));
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The processes whose parent is ppid, with their names.
function children(ppid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push({ pid: Number(d), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {}
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function allChildPids(ppid) {
  return children(ppid).map((c) => c.pid);
}

// The worker processes lighttpd spawned: children of its pid running BIN,
// not the lighttpd processes of its server.max-worker (conf/lighttpd.conf).
export function childPids(ppid) {
  return children(ppid).filter((c) => c.name !== 'lighttpd').map((c) => c.pid);
}

// lighttpd runs as several processes (server.max-worker in
// conf/lighttpd.conf), and on shutdown its first process signals its whole
// process group: each lighttpd gets a group of its own (spawn's detached),
// or stopping it would end this test process too. What such groups are
// still running when this process ends, or is interrupted, is killed.
const groups = new Set();
function killGroups() {
  for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch {} }
  groups.clear();
}
process.once('exit', killGroups);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killGroups(); process.exit(130); });
}

// The users of startServer({ auth: true }); each one's password is the name.
export const USERS = ['alice', 'bob', 'carol'];

// Writes an htpasswd file ({SHA} lines, read by lighttpd and Apache
// alike) of users, password = name, into dir; returns its path.
export function writePasswordFile(dir, users = USERS) {
  const f = path.join(dir, 'users.htpasswd');
  const sha = (p) => crypto.createHash('sha1').update(p).digest('base64');
  fs.writeFileSync(f, users.map((u) => `${u}:{SHA}${sha(u)}\n`).join(''), { mode: 0o600 });
  return f;
}

export const FRONTENDS = ['lighttpd', 'apache-proxy', 'apache-fcgid'];
export const FRONTEND = process.env.FCGICHAT_FRONTEND || 'lighttpd';
if (!FRONTENDS.includes(FRONTEND)) throw new Error(`FCGICHAT_FRONTEND=${FRONTEND}: not one of ${FRONTENDS.join(', ')}`);

// Worker processes mod_fcgid may run in the tests (FcgidMaxProcesses).
export const FCGID_PROCS = 40;

// Waiting clients (long-polls + event streams) a front end holds at once,
// leaving room for a few other requests. mod_fcgid gives each a whole
// process, and requests past its cap wait for one (conf/DEPLOYING.md).
export function capacityOf(frontend, fcgidProcs = FCGID_PROCS) {
  return frontend === 'apache-fcgid' ? fcgidProcs - 4 : Infinity;
}

// pid -> parent pid of every process.
function parents() {
  const m = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      m.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  return m;
}

// The processes below pid running bin (argv[0]), at any depth.
export function descendantsRunning(pid, bin) {
  const pp = parents();
  const below = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, parent] of pp) {
      if (!below.has(p) && below.has(parent)) { below.add(p); grew = true; }
    }
  }
  below.delete(pid);
  const out = [];
  for (const p of below) {
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] === bin) out.push(p);
    } catch {}
  }
  return out.sort((a, b) => a - b);
}

// The unix sockets of /proc/net/unix: inode, path (bound ones), whether
// it listens (flag __SO_ACCEPTCON) and whether it is connected (state 03,
// SS_CONNECTED; a socket not yet listening or connected is 01).
function unixSockets() {
  return fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/)).filter((f) => f.length >= 7)
    .map((f) => ({ inode: f[6], path: f[7], listening: (parseInt(f[3], 16) & 0x10000) !== 0, connected: f[5] === '03' }));
}

// Inodes of the connected unix sockets.
function connectedInodes() {
  return new Set(unixSockets().filter((u) => u.connected).map((u) => u.inode));
}

// What a process's descriptors point at ("socket:[N]", a path).
function fdTargetsOf(pid) {
  const out = [];
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try { out.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch {}
    }
  } catch {}
  return out;
}

// Socket inodes among a process's descriptors.
function socketInodes(pid) {
  return fdTargetsOf(pid).map((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1]).filter(Boolean);
}

// Connections in the accept queues of the given processes' listening
// sockets: the server side of a connection takes its listener's path, and
// stays out of every descriptor table until accepted.
function queuedAt(pids) {
  const held = new Set(pids.flatMap(socketInodes));
  const all = unixSockets();
  const paths = new Set(all.filter((u) => u.listening && u.path && held.has(u.inode)).map((u) => u.path));
  return all.filter((u) => !u.listening && paths.has(u.path) && !held.has(u.inode)).length;
}

// Sets the soft limit on open files of process pid to n (a number, or
// 'unlimited'), with prlimit (util-linux); its hard limit stays. A worker
// behind Apache runs as Apache's user, and only its own user (or
// CAP_SYS_RESOURCE, which root here may lack) may change its limits: then
// prlimit runs as that user. Returns prlimit's error text, '' when done.
export function setSoftFileLimit(pid, n) {
  const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  const gid = Number(/^Gid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  const cmd = ['prlimit', '--pid', String(pid), `--nofile=${n}:`];
  const argv = uid === process.getuid() ? cmd
    : ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...cmd];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? '' : (r.stderr || `${argv[0]} exited with ${r.status}`);
}

// The soft limit on open files of process pid, or of this one (Infinity:
// unlimited).
export function softFileLimit(pid = 'self') {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

// Connected sockets the processes hold: their requests in progress and
// parked (but not those in skip: their PostgreSQL connections), one count
// per pid. Connected, not merely "not listening": a worker starting up
// holds sockets that listen (mod_fcgid's, its WebSocket one) or are about
// to, and a list of listening sockets read before its descriptors missed
// those made in between, so a count once took 5 workers for 6 held
// requests. Descriptors first, then the states: a socket counts if it
// was connected after its descriptor was seen.
export function connectionCounts(pids, skip = new Set()) {
  const held = pids.map(socketInodes);
  const connected = connectedInodes();
  return held.map((inodes) => inodes.filter((i) => connected.has(i) && !skip.has(i)).length);
}

export function connectionCount(pid, skip = new Set()) {
  return connectionCounts([pid], skip)[0];
}

// The client ends of the connections to the PostgreSQL server whose
// socket is in dir: `ss` pairs each unix socket with its peer, and the
// server's end takes its listener's path.
function pgClientInodes(dir) {
  const out = new Set();
  // Every unix socket of the machine: a benchmark running beside the tests
  // (10 000 waiting clients) makes that far more than the default 1 MB.
  const lines = execFileSync('ss', ['-xHn'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).split('\n');
  for (const f of lines.map((l) => l.trim().split(/\s+/))) {
    if (f.length >= 8 && f[4].startsWith(`${dir}/`)) out.add(f[7]);
  }
  return out;
}

function fdCountOf(pid) {
  try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return 0; }
}

// A script in dir that runs BIN (exec: same pid) on the PostgreSQL
// database uri, the host's own files at state (FCGICHAT_STATE).
function pgWorker(dir, uri, state) {
  const f = path.join(dir, 'worker.sh');
  const q = (v) => `'${v.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(f, `#!/bin/sh\nFCGICHAT_DB=${q(uri)} FCGICHAT_STATE=${q(state)} exec ${q(BIN)} "$@"\n`, { mode: 0o755 });
  return f;
}

// Starts fcgichat behind a front end. The answer has the same interface
// whatever the front end:
//   url, port, dir, dbPath, logPath, frontend, store
//   statePath  the prefix of the host's own files (-stats, -limits):
//              FCGICHAT_STATE, which is dbPath on SQLite
//   procs      worker processes it runs now (lighttpd: procs; apache-proxy:
//              1; apache-fcgid: as many as mod_fcgid has spawned)
//   capacity   waiting clients (long-polls + streams) it can hold at once
//              with room for a few other requests: mod_fcgid gives each
//              waiting client a whole process (conf/DEPLOYING.md)
//   workers()  worker pids; serving() each has said it serves;
//              workerFds() descriptors they hold, and
//              workerFdTargets() what they point at;
//   connections() connected sockets they hold (requests being answered
//              or parked); quiet() waits until they hold none; queued()
//              connections waiting for them to accept; stop(), start(),
//              restart(), log(), sql(q), cleanup()
//   auth       true: a Basic login is asked for (see above), or a list of
//              the users to have instead of USERS; authFile the
//              password file
//   It returns once every worker is serving and holds no connection
//   (where the set of workers is fixed): counts taken then are idle ones.
export async function startServer({ frontend = FRONTEND, procs = 2, fcgidProcs = FCGID_PROCS, env = {}, dir, store = STORE, db, auth = false } = {}) {
  if (!FRONTENDS.includes(frontend)) throw new Error(`unknown front end ${frontend}`);
  const pg = store === 'postgresql';
  if (pg && frontend !== 'lighttpd') throw new Error(`PostgreSQL suites run behind lighttpd, not ${frontend}`);
  dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-test-'));
  fs.chmodSync(dir, 0o700);
  const dbPath = pg ? db || pgDatabase() : path.join(dir, 'chat.db');
  // lighttpd gives the workers the database file of its config: a
  // PostgreSQL host runs them through a wrapper that names the database
  // (and keeps the host's own files, limits and stats, in its dir).
  const statePath = pg ? path.join(dir, 'chat') : dbPath;
  const bin = pg ? pgWorker(dir, dbPath, statePath) : BIN;
  const logPath = path.join(dir, 'server.log');
  const authFile = auth ? writePasswordFile(dir, Array.isArray(auth) ? auth : USERS) : null;
  const init = spawnSync(BIN, ['--init'], { env: { ...process.env, ...env, FCGICHAT_DB: dbPath }, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`fcgichat --init failed: ${init.stderr}`);
  const apache = frontend !== 'lighttpd';
  // apache-proxy with env.FCGICHAT_SOCKET: a worker the caller runs.
  const external = frontend === 'apache-proxy' && Boolean(env.FCGICHAT_SOCKET);
  const fixedProcs = frontend === 'lighttpd' ? procs : frontend === 'apache-proxy' && !external ? 1 : 0;

  const server = {
    frontend, dir, dbPath, statePath, logPath, port: 0, url: '', proc: null, store, auth, authFile,
    capacity: capacityOf(frontend, fcgidProcs),
    get procs() { return fixedProcs || this.workers().length; },
    async start() {
      this.port = this.port || (await freePort());
      this.url = `http://127.0.0.1:${this.port}`;
      const log = fs.openSync(logPath, 'a');
      const cmd = apache
        ? ['/bin/sh', [path.join(ROOT, 'conf/run-apache.sh'), frontend === 'apache-proxy' ? 'proxy' : 'fcgid']]
        : ['/usr/sbin/lighttpd', ['-D', '-f', path.join(ROOT, 'conf/lighttpd.conf')]];
      const runEnv = {
        // Tests send and wait far faster than one person: per-address
        // limits are off unless a test sets them.
        ...process.env, FCGICHAT_SEND_RATE: '0', FCGICHAT_MAX_WAITING: '0', ...env,
        FCGICHAT_ROOT: ROOT, FCGICHAT_VAR: dir, FCGICHAT_BIN: bin,
        FCGICHAT_PROCS: String(procs), FCGICHAT_FCGID_PROCS: String(fcgidProcs),
        PORT: String(this.port),
      };
      if (!external) delete runEnv.FCGICHAT_SOCKET;
      if (authFile) runEnv.FCGICHAT_AUTH_FILE = authFile;
      else delete runEnv.FCGICHAT_AUTH_FILE;
      this.proc = spawn(cmd[0], cmd[1], {
        env: runEnv,
        stdio: ['ignore', log, log],
        detached: !apache,
      });
      fs.closeSync(log);
      const p = this.proc;
      if (!apache) {
        groups.add(p.pid);
        p.once('exit', () => groups.delete(p.pid));
      }
      await waitFor(async () => {
        if (p.exitCode !== null) throw new Error(`${frontend} exited: ${this.log()}`);
        return (await get(this.url, '/api/health')).status === 200;
      }, { what: `${frontend} /api/health` });
      if (fixedProcs) {
        await waitFor(() => this.workers().length === fixedProcs, { what: `${fixedProcs} workers` });
        // Started, and done opening what they hold while they run (their
        // "serving" line): a test may count their descriptors from now.
        if (!['error', 'warn'].includes(runEnv.FCGICHAT_LOG_LEVEL)) {
          await waitFor(() => this.serving(),
            { what: () => `every worker to say it is serving: ${this.log().slice(-500)}` });
        }
      }
      return this;
    },
    // lighttpd killed with -9, all its processes (server.max-worker's
    // too, which would go on answering 503 without the first one), but
    // not its workers: they must notice by themselves.
    killFrontEnd() {
      const p = this.proc;
      for (const pid of [p.pid, ...allChildPids(p.pid).filter((c) => !this.workers().includes(c))]) {
        try { process.kill(pid, 'SIGKILL'); } catch {}
      }
    },
    workers() {
      if (!this.proc) return [];
      return apache ? descendantsRunning(this.proc.pid, BIN) : childPids(this.proc.pid);
    },
    // Every worker has logged its "serving" line (at log level info).
    serving() {
      const log = this.log();
      return this.workers().every((w) => log.includes(`fcgichat[${w}] info: main: fcgichat `));
    },
    workerFds() {
      return this.workers().reduce((n, p) => n + fdCountOf(p), 0);
    },
    // What the workers' descriptors point at ("socket:[N]", a path), to
    // tell which ones a test found left over.
    workerFdTargets() {
      return this.workers().flatMap(fdTargetsOf);
    },
    connections() {
      const skip = pg ? pgClientInodes(pgDir()) : new Set();
      return connectionCounts(this.workers(), skip).reduce((a, b) => a + b, 0);
    },
    queued() {
      return queuedAt(this.workers());
    },
    // Waits until the workers hold no connection. A worker closes a
    // request's connection just after writing its answer, so the client
    // may have the answer first, and a count taken then include the
    // connection: take idle counts after this.
    async quiet() {
      await waitFor(() => this.connections() === 0,
        { timeout: 5000, what: () => `no connection in the workers (${this.connections()} now)` });
    },
    async stop() {
      const p = this.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const workers = this.workers();
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      // mod_fcgid signals a worker that is answering (a stream, a
      // long-poll) only after about 3 s; the tests need not wait for it.
      if (frontend === 'apache-fcgid') {
        for (const w of workers) {
          try { process.kill(w, 'SIGTERM'); } catch {}
        }
      }
      await done;
      await waitFor(() => workers.every((w) => !pidAlive(w)), { what: 'workers to exit' });
      this.proc = null;
    },
    async restart() {
      await this.stop();
      return this.start();
    },
    log() {
      try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; }
    },
    sql(query) {
      if (pg) return psql(dbPath, query);
      return execFileSync('sqlite3', ['-cmd', '.timeout 5000', dbPath, query], { encoding: 'utf8' });
    },
    // The ids of a room in the database, oldest first.
    roomIds(room) {
      const out = this.sql(`SELECT id FROM messages WHERE room='${room}' ORDER BY id`).trim();
      return out ? out.split('\n').map(Number) : [];
    },
    async cleanup() {
      await this.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
    if (fixedProcs) await server.quiet();
  } catch (e) {
    // A server left running would keep the test process alive for good.
    await server.cleanup().catch(() => {});
    throw e;
  }
  return server;
}

// The browser and fault tests run against lighttpd.
export function startLighttpd(opts = {}) {
  return startServer({ ...opts, frontend: 'lighttpd' });
}
