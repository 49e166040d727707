// errors.test.mjs - what a front end answers itself on /api/ when it gets
// no answer from a worker carries the API's error body (API.md, code
// "unavailable"), not the web server's HTML page: for each front end, a
// request sent to a stopped worker that is then killed. The worker never
// read it, so nothing was stored. (Apache with no worker at all:
// ../ops/install.test.mjs; mod_fcgid past its cap: frontends.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, waitFor, FRONTENDS } from '../lib/server.mjs';
import { request } from '../lib/http.mjs';

// Every thread of pid has stopped (state T): SIGSTOP takes effect when
// each thread next runs, and a thread woken in accept() may take one more
// connection first.
const stopped = (pid) => fs.readdirSync(`/proc/${pid}/task`).every((t) => {
  const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
});

for (const fe of FRONTENDS) {
  test(`${fe}: a worker killed while a send waits for it: the front end's 5xx has the API's error body`, async () => {
    // One process each, so that the send can only go to the stopped one.
    const srv = await startServer({ frontend: fe, procs: 1, fcgidProcs: 1 });
    const pids = srv.workers();
    try {
      for (const p of pids) process.kill(p, 'SIGSTOP');
      await waitFor(() => pids.every(stopped), { what: `the workers stopped (${fe})` });
      const answer = request(srv.url, 'POST', '/api/rooms/gone/messages', { body: { nick: 'a', text: 'lost?' }, timeout: 30000 });
      await waitFor(() => srv.queued() >= 1, { what: `the send queued at the stopped worker (${fe})` });
      for (const p of pids) process.kill(p, 'SIGKILL');
      const r = await answer;
      assert.ok([500, 502, 503, 504].includes(r.status), `${fe} answered ${r.status}`);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8', r.text.slice(0, 200));
      assert.equal(r.json?.error?.code, 'unavailable');
      assert.match(r.json.error.message, /Try again/);
      if (fe !== 'lighttpd') assert.equal(r.headers['retry-after'], '5');
      assert.deepEqual(srv.roomIds('gone'), [], 'nothing stored');
    } finally {
      for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
      await srv.cleanup();
    }
  });
}
