// server.mjs - starts a real lighttpd with the project's own config
// (conf/lighttpd.conf) on a free loopback port, with a fresh SQLite file in
// a temporary directory, for the integration and browser tests.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FCGICHAT_BIN || path.join(ROOT, 'cgi-bin/fcgichat.fcgi');

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

// Polls fn() until it returns a truthy value or the time is up.
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
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (last ? `: ${last.message}` : ''));
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

// The worker processes lighttpd spawned: children of its pid running BIN.
export function childPids(ppid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {}
  }
  return out.sort((a, b) => a - b);
}

export async function startLighttpd({ procs = 2, env = {}, dir } = {}) {
  dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-test-'));
  fs.chmodSync(dir, 0o700);
  const dbPath = path.join(dir, 'chat.db');
  const logPath = path.join(dir, 'server.log');
  const init = spawnSync(BIN, ['--init'], { env: { ...process.env, ...env, FCGICHAT_DB: dbPath }, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`fcgichat --init failed: ${init.stderr}`);

  const server = {
    dir, dbPath, logPath, procs, port: 0, url: '', proc: null,
    async start() {
      this.port = this.port || (await freePort());
      this.url = `http://127.0.0.1:${this.port}`;
      const log = fs.openSync(logPath, 'a');
      this.proc = spawn('/usr/sbin/lighttpd', ['-D', '-f', path.join(ROOT, 'conf/lighttpd.conf')], {
        env: {
          // Tests send and wait far faster than one person: per-address
          // limits are off unless a test sets them.
          ...process.env, FCGICHAT_SEND_RATE: '0', FCGICHAT_MAX_WAITING: '0', ...env,
          FCGICHAT_ROOT: ROOT, FCGICHAT_VAR: dir, FCGICHAT_BIN: BIN,
          FCGICHAT_PROCS: String(procs), PORT: String(this.port),
        },
        stdio: ['ignore', log, log],
      });
      fs.closeSync(log);
      const p = this.proc;
      await waitFor(async () => {
        if (p.exitCode !== null) throw new Error(`lighttpd exited: ${this.log()}`);
        const r = await fetch(`${this.url}/api/health`);
        return r.status === 200;
      }, { what: 'lighttpd /api/health' });
      await waitFor(() => this.workers().length === procs, { what: `${procs} workers` });
      return this;
    },
    workers() {
      return this.proc ? childPids(this.proc.pid) : [];
    },
    async stop() {
      const p = this.proc;
      if (!p || p.exitCode !== null) return;
      const workers = this.workers();
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
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
      return execFileSync('sqlite3', ['-cmd', '.timeout 5000', dbPath, query], { encoding: 'utf8' });
    },
    async cleanup() {
      await this.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server.start();
}
