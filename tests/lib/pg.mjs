// pg.mjs - PostgreSQL for the tests: one throwaway cluster per test
// process (tests/pg/cluster.sh: a unix socket in a temporary directory,
// fsync off, stopped when the process exits), or the one FCGICHAT_PG_DIR
// names; pgDatabase() makes a fresh database in it for each server.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLUSTER = path.join(ROOT, 'tests/pg/cluster.sh');

// 'postgresql' runs the suites against PostgreSQL, anything else SQLite.
export const STORE = process.env.FCGICHAT_STORE || 'sqlite';

let dir = process.env.FCGICHAT_PG_DIR || '';
let ours = false;
let made = 0;

// Settings for a throwaway cluster: nothing here must survive a power cut.
const PG_OPTS = '-c fsync=off -c full_page_writes=off';

function cluster(...args) {
  return execFileSync('sh', [CLUSTER, ...args], { encoding: 'utf8' }).trim();
}

// The cluster's directory, started on first use.
export function pgDir() {
  if (dir) return dir;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcgichat-pg-'));
  fs.chmodSync(dir, 0o755);
  cluster('start', dir, PG_OPTS);
  ours = true;
  process.on('exit', () => {
    try { cluster('stop', dir); } catch {}
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function pgUri(db = 'postgres') {
  return `postgresql://postgres@/${db}?host=${pgDir()}`;
}

// psql with the output sqlite3 gives: unaligned, '|' between columns, no
// headers.
export function psql(uri, query) {
  return execFileSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', uri, '-c', query], { encoding: 'utf8' });
}

// A new, empty database; returns its URI.
export function pgDatabase() {
  const name = `t${process.pid}_${++made}_${Date.now() % 100000}`;
  psql(pgUri(), `CREATE DATABASE ${name}`);
  return pgUri(name);
}

// Stops and starts the server (a restart under load), keeping its data.
export function pgRestart() {
  cluster('restart', pgDir());
}

export const pgOwned = () => ours;

// Stops the server (fast shutdown: clients are disconnected) and starts
// it again with the same settings, for the fault tests.
export function pgStop() {
  cluster('stop', pgDir());
}
export function pgStart() {
  cluster('start', pgDir(), PG_OPTS);
}
