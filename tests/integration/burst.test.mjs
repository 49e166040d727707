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
//
// A worker out of descriptors (thousands of clients parked, a limit set
// too low) cannot accept: the requests wait in the queue, and its accept
// threads try again every 100 ms. They used to end at the first such
// failure, and with the last of them the worker answered nothing more
// while it lived.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, waitFor, FRONTEND, setSoftFileLimit, softFileLimit } from '../lib/server.mjs';
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

describe('a worker out of descriptors', () => {
  test('keeps its accept threads: requests wait, then are answered once descriptors free', async (t) => {
    if (spawnSync('prlimit', ['--version']).status !== 0) return t.skip('no prlimit (util-linux)');
    const srv = await startServer({ procs: 1 });
    try {
      const [worker] = srv.workers();
      // The soft limit only (raising a hard limit back needs
      // CAP_SYS_RESOURCE), down to 3: no new descriptor at all.
      const soft = softFileLimit(worker);
      const setLimit = (n) => assert.equal(setSoftFileLimit(worker, n === Infinity ? 'unlimited' : n), '');
      // More requests than accept threads (FCGICHAT_THREADS, 4): each
      // thread blocked in accept() holds a descriptor number it took
      // before it blocked, so the first few are still taken; every thread
      // then fails its next accept.
      const N = 12;
      let answers;
      setLimit(3);
      try {
        const reqs = Array.from({ length: N }, (_, i) => get(srv.url, `/api/rooms/nofd/messages?limit=1&n=${i}`));
        await waitFor(() => srv.log().includes('fcgi_accept: Too many open files'), { what: 'the worker to say it cannot accept' });
        await waitFor(() => srv.queued() >= 1, { what: 'a request waiting in the queue' });
        answers = Promise.all(reqs);
      } finally {
        setLimit(soft);
      }
      const statuses = {};
      for (const r of await answers) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      assert.deepEqual(statuses, { 200: N });
      // And it goes on serving, with every thread.
      const more = await Promise.all(Array.from({ length: 8 }, () => get(srv.url, '/api/rooms/nofd/messages?limit=1')));
      assert.ok(more.every((r) => r.status === 200));
      assert.ok(!srv.log().includes('FCGX_Accept_r returned'), 'an accept thread ended');
    } finally {
      await srv.cleanup();
    }
  });
});
