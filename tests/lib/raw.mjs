// raw.mjs - HTTP over bare sockets, for what a client library will not
// do: malformed and hostile requests, bodies written as they are
// produced, thousands of cheap connections, a reader that stops reading.
// Everything else goes through http.mjs.
import net from 'node:net';

// Writes chunks (an iterable, or async iterable, of strings and Buffers)
// as the socket drains; stops when the socket is gone (the server closed).
async function feed(s, chunks) {
  for await (const c of chunks) {
    if (s.destroyed) return;
    if (!s.write(c)) await new Promise((r) => { s.once('drain', r); s.once('close', r); });
  }
}

// Sends data (a whole request as a string or Buffer, or chunks to write as
// the socket drains) and resolves when the server closes, or timeout ms
// have passed: {status, text, body, error} - the answer read as latin1 so
// that bytes stay bytes, its status (0 without a status line), what
// follows its head, and the socket's error if it had one. end: half-close
// once data is sent (a client that says it has nothing more to send).
export function rawExchange(port, data, { timeout = 10000, end = false } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let error;
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      const whole = typeof data === 'string' || Buffer.isBuffer(data);
      (whole ? Promise.resolve(s.write(data)) : feed(s, data))
        .then(() => { if (end && !s.destroyed) s.end(); }, () => {});
    });
    const t = setTimeout(() => s.destroy(), timeout);
    s.on('data', (c) => chunks.push(c));
    s.on('error', (e) => { error ??= e; });
    s.on('close', () => {
      clearTimeout(t);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text, body: text.slice(text.indexOf('\r\n\r\n') + 4), error });
    });
  });
}

// Opens n raw connections that each send `request` (a whole HTTP/1.1
// request text) and resolves once all are connected and written. The
// sockets swallow what comes back.
export async function rawOpen(port, request, n, { concurrency = 500 } = {}) {
  const socks = [];
  let next = 0;
  const one = () => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.write(request); resolve(s); });
    s.on('data', () => {});
    s.on('error', () => resolve(s));
  });
  const workers = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) {
      next++;
      socks.push(await one());
    }
  });
  await Promise.all(workers);
  return socks;
}

// An event stream that reads its head, then stops reading (its receive
// buffer stays small: the kernel grows it only for a reader). Resolves
// once the head came, within timeout; .raw is what it read, .body that
// without the HTTP head (event-stream text for sse.mjs), .ended whether
// the server ended it; resume() reads on.
export function stalledStream(port, room, { timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const st = {
      raw: '', ended: false,
      get body() { return this.raw.slice(this.raw.indexOf('\r\n\r\n') + 4); },
    };
    const s = st.sock = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(`GET /api/rooms/${room}/events?since=0 HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    });
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no stream head within ${timeout} ms`)); }, timeout);
    st.resume = () => s.resume();
    s.setEncoding('latin1');
    s.on('data', (c) => {
      st.raw += c;
      if (!st.started && st.raw.includes('retry: 3000')) {
        st.started = true;
        s.pause();
        clearTimeout(t);
        resolve(st);
      }
    });
    for (const e of ['end', 'close', 'error']) s.on(e, () => { st.ended = true; });
  });
}
