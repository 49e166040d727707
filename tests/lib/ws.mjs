// ws.mjs - the tests' WebSocket clients for GET /api/rooms/{room}/ws:
// openWs() is a real client (the npm package ws) that keeps what the
// server sends as parsed JSON; rawWs() does the handshake itself over a
// bare socket and writes hand-made frames (masked or not, fragmented,
// control frames, bad UTF-8, oversized), for what a client library will
// not send; upgradeRequest() asks for an upgrade that may be refused, and
// reads the refusal (plain HTTP). The other transports: http.mjs.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { basicAuth } from './http.mjs';

// RFC 6455 1.3: the GUID the accept value is derived with.
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

// The Sec-WebSocket-Accept a server must answer key with.
export function acceptFor(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

// A fresh Sec-WebSocket-Key: 16 random bytes in base64.
export const newKey = () => crypto.randomBytes(16).toString('base64');

// The endpoint's path, with since= when given.
export function wsPath(room, since) {
  return `/api/rooms/${room}/ws` + (since !== undefined ? `?since=${since}` : '');
}

// The headers of a valid upgrade request, with extra merged over them (a
// value of undefined drops that header): for http.mjs's request(), whose
// answer is then the error a refused upgrade gets.
export function upgradeHeaders(extra = {}) {
  const h = {
    Upgrade: 'websocket', Connection: 'Upgrade',
    'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': newKey(), ...extra,
  };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return h;
}

// An upgrade request to base's server (method, headers as given: see
// upgradeHeaders) that resolves to the answer, {status, headers, text,
// json}: a refusal's whole answer, or a 101's head (the socket is then
// closed at once). Rejects when the connection fails or is idle for
// timeout ms. For http.mjs's request() a 101 is no answer. auth: a user
// to log in as (http.mjs basicAuth).
export function upgradeRequest(base, path, { method = 'GET', headers = {}, timeout = 10000, auth } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method, headers: { ...basicAuth(auth), ...headers }, agent: false, timeout });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, headers: res.headers, text: '', json: undefined });
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

// What both clients share: waiting for a condition on the client.
class Waitable {
  constructor() { this._waiters = []; }

  _check() { this._waiters = this._waiters.filter((w) => !w()); }

  // Resolves with this once pred(this) holds (checked on every frame and
  // at the end), rejects after timeout ms naming what and what came.
  until(pred, timeout = 10000, what = 'WebSocket condition') {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this._waiters = this._waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}; ${this.describe()}`));
      }, timeout);
      const w = () => {
        if (!pred(this)) return false;
        clearTimeout(t);
        resolve(this);
        return true;
      };
      if (!w()) this._waiters.push(w);
    });
  }
}

// A WebSocket to base's server (srv.url) for room, through the npm ws
// client, which checks the handshake (the accept value, no extension) and
// answers pings itself. Options: since; origin; headers; path (instead of
// the room's); onFrame(json, client): each frame goes there instead of
// into frames (clients that live long); auth: a user to log in as
// (http.mjs basicAuth). The client keeps:
//   frames     what the server sent, each text frame parsed as JSON
//   problems   frames that were not one JSON object with a type (binary,
//              not JSON): the contract says there are none
//   pings      pings received
//   status     101 once open, or the status of a refusal, whose
//   refused    {status, headers, text, json} is kept
//   closeCode, closeReason   the server's close (1006: none, cut)
//   closed     the connection has ended
// opened resolves once it is open, refused, or failed (never rejects;
// error says why it failed); done once it has ended. until(pred) waits.
export function openWs(base, room, opts = {}) {
  return new WsClient(base, room, opts);
}

class WsClient extends Waitable {
  constructor(base, room, { since, origin, headers = {}, path, onFrame, auth } = {}) {
    super();
    headers = { ...basicAuth(auth), ...headers };
    const url = new URL(path ?? wsPath(room, since), base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    Object.assign(this, {
      frames: [], problems: [], pings: 0, status: 0, headers: null, refused: null,
      closeCode: null, closeReason: '', closed: false, error: null,
    });
    const ws = this.ws = new WebSocket(url, {
      headers, origin, perMessageDeflate: false, handshakeTimeout: 30000,
    });
    let opened;
    let ended;
    this.opened = new Promise((r) => { opened = r; });
    this.done = new Promise((r) => { ended = r; });
    ws.on('upgrade', (res) => { this.status = res.statusCode; this.headers = res.headers; });
    ws.on('open', () => { opened(this); this._check(); });
    ws.on('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch {}
        this.status = res.statusCode;
        this.refused = { status: res.statusCode, headers: res.headers, text, json };
        opened(this);
        // Ends the client (close, 1006): once a response has come, req's
        // own destroy() no longer reaches ws, which would wait forever.
        this.ws.terminate();
      });
    });
    ws.on('message', (data, isBinary) => {
      let j;
      try { j = isBinary ? undefined : JSON.parse(data.toString('utf8')); } catch {}
      if (!j || typeof j !== 'object' || Array.isArray(j) || typeof j.type !== 'string') {
        this.problems.push(isBinary ? `binary frame of ${data.length} bytes` : data.toString('utf8'));
      } else if (onFrame) {
        onFrame(j, this);
      } else {
        this.frames.push(j);
      }
      this._check();
    });
    ws.on('ping', () => { this.pings++; this._check(); });
    ws.on('error', (e) => { this.error ??= e; });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString('utf8');
      this.closed = true;
      opened(this);
      this._check();
      ended(this);
    });
  }

  // The frames of one type.
  of(type) { return this.frames.filter((f) => f.type === type); }

  // The messages delivered, in order, and their ids.
  messages() { return this.of('message').map((f) => f.message); }

  ids() { return this.messages().map((m) => m.id); }

  // Sends a text frame: obj as JSON, or a string as it is.
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  close(code, reason) { this.ws.close(code, reason); }

  // Leaves without a close frame: the socket destroyed, as when a
  // browser's machine drops off the network.
  destroy() { this.ws.terminate(); }

  describe() {
    return `status ${this.status}, ${this.frames.length} frames (${this.frames.slice(-3).map((f) => JSON.stringify(f)).join(' ')}), ` +
      `${this.pings} pings, close ${this.closeCode}${this.error ? `, error ${this.error.message}` : ''}`;
  }
}

// One client frame: final unless fin is false, masked (with a random key)
// unless mask is false, rsv the three reserved bits (0-7), payload a
// Buffer or string. len forces the length the header claims (frames that
// lie, or a header sent ahead of its payload); longForm writes a length
// in a longer form than it needs (16 or 64 bits).
export function encodeFrame(op, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0, len, longForm } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const n = len ?? data.length;
  const form = longForm ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (op & 0xf)), 0];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (form === 7) {
    head[1] = m | n;
  } else if (form === 16) {
    head[1] = m | 126;
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(n);
  } else {
    head[1] = m | 127;
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(n));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(data);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

// A close frame's payload: code (16 bits) and reason.
export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason, 'utf8')]);
}

// Reads server frames as they come: push(chunk) returns the frames it
// completed, {fin, rsv, op, masked, payload}; a frame cut between chunks
// waits for its end.
export class FrameReader {
  constructor() { this.rest = Buffer.alloc(0); }

  push(chunk) {
    this.rest = Buffer.concat([this.rest, chunk]);
    const out = [];
    for (;;) {
      const b = this.rest;
      if (b.length < 2) break;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      const key = masked ? b.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (b.length < at + len) break;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      out.push({ fin: (b[0] & 0x80) !== 0, rsv: (b[0] >> 4) & 7, op: b[0] & 0xf, masked, payload });
      this.rest = b.subarray(at + len);
    }
    return out;
  }
}

// A handshake written by hand to target (the server's TCP port, or the
// path of a worker's own WebSocket socket) for path, with headers over
// the valid ones of upgradeHeaders() (key: the Sec-WebSocket-Key); host
// defaults to 127.0.0.1:port; auth: a user to log in as. Resolves once
// the answer's head has come (or the socket ended first, status 0), within
// timeout ms. The client:
//   status, head (the answer's head text), headers (lower-case names),
//   key     the key it sent
//   body    what followed a head other than 101 (an error's JSON text)
//   frames  the server's frames ({fin, rsv, op, masked, payload})
//   closeCode, closeReason   of the server's close frame (1005: it had
//           no code), null before one
//   ended   the server ended the connection
// send(op, payload, opts) writes one frame (encodeFrame), write(bytes)
// raw bytes; texts() the text frames parsed as JSON; until(pred) waits;
// destroy() leaves.
export function rawWs(target, path, opts = {}) {
  return new RawWs(target, path, opts).answered;
}

class RawWs extends Waitable {
  constructor(target, path, { headers = {}, host, timeout = 10000, auth } = {}) {
    super();
    const h = upgradeHeaders({ ...basicAuth(auth), ...headers });
    Object.assign(this, {
      status: 0, head: '', headers: {}, key: h['Sec-WebSocket-Key'], body: '', frames: [],
      closeCode: null, closeReason: '', ended: false,
    });
    const where = typeof target === 'number' ? { host: '127.0.0.1', port: target } : { path: target };
    const hostHeader = host ?? (typeof target === 'number' ? `127.0.0.1:${target}` : 'localhost');
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostHeader}`, ...Object.entries(h).map(([k, v]) => `${k}: ${v}`)];
    const s = this.sock = net.connect(where, () => s.write(lines.join('\r\n') + '\r\n\r\n'));
    this.answered = new Promise((resolve, reject) => {
      const t = setTimeout(() => { s.destroy(); reject(new Error(`no answer head within ${timeout} ms`)); }, timeout);
      this._headDone = () => { clearTimeout(t); resolve(this); };
    });
    this._reader = new FrameReader();
    this._raw = Buffer.alloc(0);
    s.on('data', (chunk) => this._read(chunk));
    s.on('error', () => {});
    s.on('close', () => { this.ended = true; this._headDone(); this._check(); });
  }

  _read(chunk) {
    if (this.status === 0) {
      this._raw = Buffer.concat([this._raw, chunk]);
      const i = this._raw.indexOf('\r\n\r\n');
      if (i < 0) return;
      this.head = this._raw.subarray(0, i).toString('latin1');
      this.status = Number(/^HTTP\/1\.\d (\d{3})/.exec(this.head)?.[1] ?? 0);
      for (const line of this.head.split('\r\n').slice(1)) {
        const k = line.indexOf(':');
        if (k > 0) this.headers[line.slice(0, k).trim().toLowerCase()] = line.slice(k + 1).trim();
      }
      chunk = this._raw.subarray(i + 4);
      this._headDone();
    }
    if (this.status !== 101) {
      this.body += chunk.toString('utf8');
    } else {
      for (const f of this._reader.push(chunk)) {
        this.frames.push(f);
        if (f.op === OP.CLOSE && this.closeCode === null) {
          this.closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
          this.closeReason = f.payload.subarray(2).toString('utf8');
        }
      }
    }
    this._check();
  }

  // Writes one frame (encodeFrame's arguments).
  send(op, payload, opts) { return this.write(encodeFrame(op, payload, opts)); }

  // Writes bytes as they are.
  write(bytes) {
    if (!this.sock.destroyed) this.sock.write(bytes);
    return this;
  }

  // The text frames, parsed (the server sends one JSON object in each).
  texts() { return this.frames.filter((f) => f.op === OP.TEXT).map((f) => JSON.parse(f.payload.toString('utf8'))); }

  destroy() { this.sock.destroy(); }

  describe() {
    return `status ${this.status}, frames ${this.frames.map((f) => `${f.op}:${f.payload.length}`).join(' ') || 'none'}, ` +
      `close ${this.closeCode}, ${this.ended ? 'ended' : 'open'}`;
  }
}

// A client that follows a room as a page does: a WebSocket from since,
// opened again with since = the last id it got (a message's, or a delete's
// seq) each time one ends - refused, cut or closed - after pause ms, until
// stop(). ids: the ids of the messages it got, in order, across
// connections; connects, ends, and closes (code -> how many); open while
// a connection is; onMessage(message) as each comes; done once stopped.
export class WsFollower {
  constructor(base, room, since, { pause = 100, onMessage, auth } = {}) {
    Object.assign(this, { base, room, cursor: since, pause, onMessage, auth });
    this.ids = [];
    this.connects = 0;
    this.ends = 0;
    this.closes = new Map();
    this.open = false;
    this.stopped = false;
    this.current = null;
    this.done = this.run();
  }

  _frame(f) {
    if (f.type === 'message') {
      this.ids.push(f.message.id);
      this.cursor = f.message.id;
      this.onMessage?.(f.message);
    } else if (f.type === 'delete') {
      this.cursor = f.seq;
    }
  }

  async run() {
    while (!this.stopped) {
      this.connects++;
      const c = this.current = openWs(this.base, this.room, { since: this.cursor, auth: this.auth, onFrame: (f) => this._frame(f) });
      await c.opened;
      this.open = c.status === 101 && !c.closed;
      await c.done;
      this.open = false;
      if (this.stopped) break;
      this.ends++;
      this.closes.set(c.closeCode, (this.closes.get(c.closeCode) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, this.pause));
    }
  }

  stop() {
    this.stopped = true;
    this.current?.destroy();
  }
}
