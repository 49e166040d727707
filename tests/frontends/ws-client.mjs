// ws-client.mjs - a WebSocket client for the front-end tests, on the npm
// package ws: one connection to GET /api/rooms/ROOM/ws, its JSON frames
// kept in order, its pings counted, and the HTTP answer kept when the
// server refuses the upgrade (status, headers, body, as http.mjs gives).
import WebSocket from 'ws';

// openWs(base, room, {since, origin, headers}): the connection at once;
// opened settles (never rejects) when the handshake ends: with 101, or
// with the refusal in status/headers/text/json, or with error set.
// until(pred, timeout, what) waits for pred(client); send(obj) sends one
// JSON frame; close() sends a close frame; terminate() drops the socket
// with no close frame, as a browser that loses its network does.
export function openWs(base, room, { since, origin, headers = {} } = {}) {
  const u = new URL(`/api/rooms/${room}/ws${since !== undefined ? `?since=${since}` : ''}`, base);
  u.protocol = 'ws:';
  const ws = new WebSocket(u, { origin, headers, perMessageDeflate: false });
  const c = {
    ws, status: 0, headers: null, text: '', json: undefined, error: null,
    frames: [], pings: 0, closed: null,
    _waiters: [],
    _check() { this._waiters = this._waiters.filter((w) => !w()); },
    until(pred, timeout = 10000, what = 'WebSocket condition') {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 500)}, closed: ${JSON.stringify(this.closed)}`)), timeout);
        const w = () => {
          if (!pred(this)) return false;
          clearTimeout(t);
          resolve(this);
          return true;
        };
        if (!w()) this._waiters.push(w);
      });
    },
    send(obj) { ws.send(JSON.stringify(obj)); },
    close() { ws.close(); },
    terminate() { ws.terminate(); },
  };
  let settle;
  c.opened = new Promise((r) => { settle = r; });
  ws.on('upgrade', (res) => { c.status = res.statusCode; c.headers = res.headers; });
  ws.on('open', () => settle(c));
  ws.on('unexpected-response', (req, res) => {
    c.status = res.statusCode;
    c.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (d) => { c.text += d; });
    res.on('end', () => {
      try { c.json = JSON.parse(c.text); } catch {}
      req.destroy();
      settle(c);
      c._check();
    });
  });
  ws.on('message', (data, binary) => {
    c.frames.push(binary ? { binary: data } : JSON.parse(String(data)));
    c._check();
  });
  ws.on('ping', () => { c.pings++; c._check(); });
  ws.on('error', (e) => { c.error = e; settle(c); c._check(); });
  ws.on('close', (code, reason) => { c.closed = { code, reason: String(reason) }; settle(c); c._check(); });
  return c;
}

// The frames of one type.
export const framesOf = (c, type) => c.frames.filter((f) => f.type === type);
