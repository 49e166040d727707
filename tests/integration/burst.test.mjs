// burst.test.mjs - a burst of requests larger than the listen queues of
// 1024 that lighttpd gives each worker's FastCGI socket by default (and
// the worker gave its own, behind Apache) waits for the workers instead of
// failing: the shipped configs queue up to 4096 a socket
// (conf/lighttpd-fcgichat.conf listen-backlog, the worker's FCGICHAT_SOCKET,
// conf/fcgichat.socket). Past the queue lighttpd
// calls the worker overloaded and answers 503; a restart that sends
// thousands of pages asking again at once must not do that. The workers
// are stopped (SIGSTOP) while the burst arrives, so that every request of
// it is in the queue at once, then let go.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, FRONTEND } from '../lib/server.mjs';
import { get } from '../lib/http.mjs';

// More than the old queues held: lighttpd's two workers have a socket
// each (2 x 1024); behind Apache one worker has one (1024), and Apache
// itself takes at most MaxRequestWorkers (2048) requests at once.
const BURST = FRONTEND === 'lighttpd' ? 3000 : 1500;

describe('a burst of requests', {
  // mod_fcgid gives each request a process of its own (conf/DEPLOYING.md):
  // there is no shared queue to fill.
  skip: FRONTEND === 'apache-fcgid' && 'mod_fcgid: a process per request, no shared queue',
}, () => {
  test(`${BURST} requests queued for stopped workers are all answered once they go on`, async () => {
    const srv = await startServer();
    const pids = srv.workers();
    let answers;
    try {
      assert.ok(pids.length >= 1);
      for (const p of pids) process.kill(p, 'SIGSTOP');
      const failed = [];
      const reqs = Array.from({ length: BURST }, (_, i) => get(srv.url, `/api/rooms/burst/messages?limit=1&n=${i}`)
        .catch((e) => { failed.push(e.code ?? e.message); return null; }));
      try {
        // Every request is either in the queue or answered already (a
        // 503 from a front end whose queue is full comes back at once).
        let done = 0;
        reqs.forEach((r) => r.then(() => { done++; }));
        await waitFor(() => srv.queued() + done >= BURST, { timeout: 30000, what: `${BURST} requests queued or answered` });
        assert.equal(done, 0, `answered while the workers were stopped: ${failed.join(' ')}`);
      } finally {
        for (const p of pids) process.kill(p, 'SIGCONT');
      }
      answers = await Promise.all(reqs);
      assert.deepEqual(failed, []);
      const statuses = {};
      for (const r of answers) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      assert.deepEqual(statuses, { 200: BURST });
    } finally {
      for (const p of pids) { try { process.kill(p, 'SIGCONT'); } catch { /* gone */ } }
      await srv.cleanup();
    }
  });
});
