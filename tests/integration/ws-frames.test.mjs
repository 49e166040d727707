// ws-frames.test.mjs - the WebSocket protocol (RFC 6455, API.md
// "Closing") with frames made by hand on a bare socket, through a real web
// server to a real worker: each close code the contract names (a client
// close echoed, 1003, 1007, 1009, 1002 for every way of breaking the
// framing), pings answered with the same payload, fragmented messages
// reassembled around control frames, frames split or packed anyhow by
// TCP; and every connection closed for a fault leaves nothing behind.
import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, waitFor, FRONTEND } from '../lib/server.mjs';
import { waitingNow } from '../lib/http.mjs';
import { rawWs, wsPath, encodeFrame, closePayload, OP } from '../lib/ws.mjs';

const CAP = 1024;   // FCGICHAT_MAX_BODY here: the largest message read

let srv;
let fds0;
before(async () => {
  srv = await startServer({ procs: 2, env: { FCGICHAT_MAX_BODY: String(CAP) } });
  fds0 = srv.workerFds();
});
after(async () => { await srv?.cleanup(); });

const clients = new Set();
afterEach(() => {
  for (const c of clients) c.destroy();
  clients.clear();
});

const count = () => Number(srv.sql('SELECT count(*) FROM messages').trim());
// A send's JSON text.
const sendText = (text, clientId) => JSON.stringify({ type: 'send', nick: 'f', text, client_id: clientId });

// A raw WebSocket to room, upgraded.
async function open(room = 'frames') {
  const c = await rawWs(srv.port, wsPath(room));
  clients.add(c);
  assert.equal(c.status, 101, c.head + c.body);
  return c;
}

// Waits until the server has sent its close frame and ended the
// connection; checks the code, that the close was its last frame, and that
// every frame it sent was unmasked and final (a server never masks, and
// never fragments here).
async function closedWith(c, code, what = `close ${code}`) {
  await c.until((x) => x.closeCode !== null && x.ended, 5000, what);
  assert.equal(c.closeCode, code, `${what}: ${c.describe()}`);
  assert.equal(c.frames.at(-1).op, OP.CLOSE, what);
  assert.equal(c.frames.filter((f) => f.op === OP.CLOSE).length, 1, what);
  for (const f of c.frames) {
    assert.equal(f.masked, false, what);
    assert.equal(f.fin, true, what);
    assert.equal(f.rsv, 0, what);
  }
}

// Writes bytes on a new connection and checks that the server closes it
// with code, storing nothing.
async function closesWith(code, what, ...frames) {
  const n = count();
  const c = await open();
  c.write(Buffer.concat(frames));
  await closedWith(c, code, what);
  assert.equal(count(), n, `${what}: stored something`);
  return c;
}

// The acks (and errors) the server sent.
const answers = (c) => c.texts().filter((j) => j.type === 'ack' || j.type === 'error');

describe('closing', () => {
  test('a client close is echoed with its code, and the server ends the connection', async () => {
    for (const [code, reason] of [[1000, ''], [1001, 'tab closed'], [3000, ''], [4999, 'é ok']]) {
      const c = await open();
      c.send(OP.CLOSE, closePayload(code, reason));
      await closedWith(c, code, `echo of ${code}`);
    }
    // A close without a code is echoed without one.
    const c = await open();
    c.send(OP.CLOSE);
    await closedWith(c, 1005, 'echo of an empty close');
    assert.equal(c.frames.at(-1).payload.length, 0);
  });

  test('after its close the client is not read: a send behind it stores nothing', async () => {
    await closesWith(1000, 'close, then a send',
      encodeFrame(OP.CLOSE, closePayload(1000)), encodeFrame(OP.TEXT, sendText('too late', 'late')));
  });

  test('a close that breaks the rules: a bad code or one byte 1002, a reason not UTF-8 1007', async () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      await closesWith(1002, `close with code ${code}`, encodeFrame(OP.CLOSE, closePayload(code)));
    }
    await closesWith(1002, 'close of one byte', encodeFrame(OP.CLOSE, Buffer.from([0x03])));
    await closesWith(1007, 'close reason not UTF-8',
      encodeFrame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xc3, 0x28])])));
  });

  test('a binary message: 1003', async () => {
    await closesWith(1003, 'binary', encodeFrame(OP.BINARY, Buffer.from('{"type":"send"}')));
    await closesWith(1003, 'binary, first fragment', encodeFrame(OP.BINARY, Buffer.from([1, 2]), { fin: false }));
  });

  test('invalid UTF-8: 1007, in one frame, across fragments and cut at the end', async () => {
    const start = Buffer.from('{"type":"send","nick":"f","text":"');
    const end = Buffer.from('"}');
    const bad = {
      'a byte 0xff': [0xff],
      'a lone continuation byte': [0x80],
      'an overlong slash': [0xc0, 0xaf],
      'a surrogate': [0xed, 0xa0, 0x80],
      'past U+10FFFF': [0xf4, 0x90, 0x80, 0x80],
    };
    for (const [what, bytes] of Object.entries(bad)) {
      await closesWith(1007, what, encodeFrame(OP.TEXT, Buffer.concat([start, Buffer.from(bytes), end])));
    }
    // é is C3 A9: a fragment ending in C3 may be completed; one going on
    // with "(" may not, and is refused at once, before its message ends.
    await closesWith(1007, 'split across fragments',
      encodeFrame(OP.TEXT, Buffer.concat([start, Buffer.from([0xc3])]), { fin: false }),
      encodeFrame(OP.CONT, Buffer.from('(x'), { fin: false }));
    await closesWith(1007, 'cut by the end of the message',
      encodeFrame(OP.TEXT, Buffer.concat([start, Buffer.from('x"}'), Buffer.from([0xc3])])));
    // The same split, completed, is a message like any other.
    const c = await open();
    c.write(Buffer.concat([
      encodeFrame(OP.TEXT, Buffer.concat([start, Buffer.from([0xc3])]), { fin: false }),
      encodeFrame(OP.CONT, Buffer.concat([Buffer.from([0xa9]), Buffer.from('t\u00e9","client_id":"utf8-split"}')])),
    ]));
    await c.until((x) => answers(x).length === 1, 5000, 'the ack');
    assert.equal(answers(c)[0].type, 'ack', JSON.stringify(answers(c)[0]));
    assert.equal(answers(c)[0].message.text, 'été');
  });

  test(`over FCGICHAT_MAX_BODY (${CAP} bytes): 1009, at the header that passes it; exactly the cap is read`, async () => {
    const exact = (size, cid) => {
      const f = sendText('edge', cid).slice(0, -1);
      const s = `${f},"pad":"${'x'.repeat(size - f.length - 10)}"}`;
      assert.equal(Buffer.byteLength(s), size);
      return s;
    };
    const c = await open();
    c.send(OP.TEXT, exact(CAP, 'at-cap'));
    await c.until((x) => answers(x).length === 1, 5000, 'the ack');
    assert.equal(answers(c)[0].type, 'ack');
    await closesWith(1009, 'one byte more', encodeFrame(OP.TEXT, exact(CAP + 1, 'over')));
    // A header saying 4 GiB: refused before any payload (none is sent).
    await closesWith(1009, 'a header claiming 4 GiB', encodeFrame(OP.TEXT, Buffer.alloc(0), { len: 2 ** 32 }).subarray(0, 14));
    // Fragments that pass the cap together.
    const half = Buffer.alloc(CAP / 2 + 1, 'x');
    await closesWith(1009, 'fragments adding up',
      encodeFrame(OP.TEXT, half, { fin: false }), encodeFrame(OP.CONT, half));
  });

  test('1002 for each way of breaking the framing', async () => {
    const ping = (opts, payload = 'p') => encodeFrame(OP.PING, payload, opts);
    const text = sendText('never stored', 'broken');
    const cases = [
      ['an unmasked frame', encodeFrame(OP.TEXT, text, { mask: false })],
      ['an unmasked ping', ping({ mask: false })],
      ['reserved bit 1', encodeFrame(OP.TEXT, text, { rsv: 4 })],
      ['reserved bit 2', encodeFrame(OP.TEXT, text, { rsv: 2 })],
      ['reserved bit 3', encodeFrame(OP.TEXT, text, { rsv: 1 })],
      ['reserved bits on a ping', ping({ rsv: 7 })],
      ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op) => [`opcode ${op}`, encodeFrame(op, 'x')]),
      ['a fragmented ping', ping({ fin: false })],
      ['a fragmented close', encodeFrame(OP.CLOSE, closePayload(1000), { fin: false })],
      ['a ping of 126 bytes', ping({}, Buffer.alloc(126, 1))],
      ['a pong of 126 bytes', encodeFrame(OP.PONG, Buffer.alloc(126, 1))],
      ['a close of 126 bytes', encodeFrame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.alloc(124, 0x61)]))],
      ['a continuation with no message', encodeFrame(OP.CONT, text)],
      ['a text frame while a message is open', Buffer.concat([
        encodeFrame(OP.TEXT, text.slice(0, 10), { fin: false }), encodeFrame(OP.TEXT, text)])],
      ['a 16-bit length for 5 bytes', encodeFrame(OP.TEXT, '{"a":', { longForm: 16 })],
      ['a 64-bit length for 200 bytes', encodeFrame(OP.TEXT, Buffer.alloc(200, 0x20), { longForm: 64 })],
    ];
    for (const [what, bytes] of cases) await closesWith(1002, what, bytes);
  });
});

describe('control frames and fragments', () => {
  test('a ping gets a pong with the same payload; a pong is ignored', async () => {
    const c = await open();
    const payloads = [Buffer.alloc(0), Buffer.from('hello'), crypto.randomBytes(125)];
    for (const p of payloads) c.send(OP.PING, p);
    c.send(OP.PONG, 'unasked');
    c.send(OP.PING, 'after the pong');
    await c.until((x) => x.frames.filter((f) => f.op === OP.PONG).length === 4, 5000, 'four pongs');
    const pongs = c.frames.filter((f) => f.op === OP.PONG);
    assert.deepEqual(pongs.map((f) => f.payload.toString('hex')),
      [...payloads, Buffer.from('after the pong')].map((p) => p.toString('hex')));
    assert.ok(pongs.every((f) => !f.masked && f.fin));
    assert.equal(c.ended, false);
  });

  test('a fragmented text message with a ping between fragments: the pong first, then the message sent', async () => {
    const n = count();
    const c = await open('frag');
    const whole = sendText('in three parts', 'frag-1');
    c.write(Buffer.concat([
      encodeFrame(OP.TEXT, whole.slice(0, 7), { fin: false }),
      encodeFrame(OP.PING, 'between'),
      encodeFrame(OP.CONT, whole.slice(7, 20), { fin: false }),
      encodeFrame(OP.PONG, 'also between'),
      encodeFrame(OP.CONT, Buffer.alloc(0), { fin: false }),
      encodeFrame(OP.CONT, whole.slice(20)),
    ]));
    await c.until((x) => answers(x).length === 1 && x.texts().some((j) => j.type === 'message'), 5000, 'ack and message');
    const pong = c.frames.findIndex((f) => f.op === OP.PONG);
    assert.ok(pong >= 0 && pong < c.frames.findIndex((f) => f.op === OP.TEXT), 'the pong before any answer');
    assert.equal(c.frames[pong].payload.toString(), 'between');
    const [ack] = answers(c);
    assert.equal(ack.type, 'ack');
    assert.equal(ack.client_id, 'frag-1');
    assert.equal(ack.message.text, 'in three parts');
    assert.equal(count(), n + 1);
  });

  test('frames split byte by byte, and several frames in one write, are each read', async () => {
    const c = await open();
    const bytes = Buffer.concat([encodeFrame(OP.TEXT, sendText('byte by byte', 'split-1')), encodeFrame(OP.PING, 'p1')]);
    for (const b of bytes) {
      c.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await c.until((x) => answers(x).length === 1 && x.frames.some((f) => f.op === OP.PONG), 5000, 'ack and pong');
    c.write(Buffer.concat([
      encodeFrame(OP.TEXT, sendText('one', 'packed-1')), encodeFrame(OP.TEXT, sendText('two', 'packed-2')),
      encodeFrame(OP.PING, 'p2'), encodeFrame(OP.TEXT, sendText('three', 'packed-3')),
    ]));
    await c.until((x) => answers(x).length === 4, 5000, 'three more acks');
    assert.deepEqual(answers(c).map((a) => [a.type, a.client_id]).sort(),
      [['ack', 'packed-1'], ['ack', 'packed-2'], ['ack', 'packed-3'], ['ack', 'split-1']]);
    assert.deepEqual(c.frames.filter((f) => f.op === OP.PONG).map((f) => f.payload.toString()), ['p1', 'p2']);
  });
});

test('every connection closed for a fault is freed: no waiter, no descriptor left', async () => {
  await waitFor(async () => (await waitingNow(srv.url)).ws === 0, { what: 'waiting.ws back to 0' });
  // mod_fcgid starts and ends workers as it likes: no fixed count there.
  const fixed = FRONTEND !== 'apache-fcgid';
  await waitFor(() => srv.connections() === 0 && (!fixed || srv.workerFds() <= fds0),
    { timeout: 10000, what: () => `descriptors back to ${fds0} (${srv.workerFds()} now)` });
});
