// http.mjs - a small HTTP client for the tests: whole requests, long-polls
// and Server-Sent Event streams, each on its own connection.
import http from 'node:http';

// One request; resolves to {status, headers, text, json}.
export function request(base, method, path, { body, headers = {}, timeout = 70000, signal } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const h = { ...headers };
    let data = body;
    if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      data = JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    if (data !== undefined) h['Content-Length'] = Buffer.byteLength(data);
    const req = http.request(u, { method, headers: h, agent: false, timeout, signal }, (res) => {
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
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export const get = (base, path, opts) => request(base, 'GET', path, opts);
export const post = (base, path, body, opts) => request(base, 'POST', path, { ...opts, body });

// The requests the workers hold parked, as /api/stats counts them (open
// to 127.0.0.1): { longpoll, sse, total }. Other processes' counts are
// published every 500 ms, so wait for a count to rise, not to fall.
export async function waitingNow(base) {
  return (await get(base, '/api/stats')).json.waiting;
}

export function send(base, room, nick, text, extra = {}) {
  return post(base, `/api/rooms/${room}/messages`, { nick, text, ...extra });
}

// An open event stream: collects events, exposes waiters.
export function openEvents(base, room, { since, lastEventId, headers = {} } = {}) {
  const q = since !== undefined ? `?since=${since}` : '';
  const u = new URL(`/api/rooms/${room}/events${q}`, base);
  const h = { Accept: 'text/event-stream', ...headers };
  if (lastEventId !== undefined) h['Last-Event-ID'] = String(lastEventId);
  const stream = {
    events: [], comments: 0, retry: null, status: 0, headers: null, ended: false, raw: '',
    req: null, res: null,
    _waiters: [],
    _check() {
      this._waiters = this._waiters.filter((w) => !w());
    },
    until(pred, timeout = 10000, what = 'stream condition') {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.events.length} events`)), timeout);
        const w = () => {
          if (pred(this)) { clearTimeout(t); resolve(this); return true; }
          return false;
        };
        if (!w()) this._waiters.push(w);
      });
    },
    close() { this.req.destroy(); },
  };
  let buf = '';
  stream.opened = new Promise((resolve, reject) => {
    stream.req = http.get(u, { headers: h, agent: false }, (res) => {
      stream.status = res.statusCode;
      stream.headers = res.headers;
      stream.res = res;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        stream.raw += chunk;
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { id: null, event: 'message', data: [] };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { stream.comments++; continue; }
            const [k, ...rest] = line.split(':');
            const v = rest.join(':').replace(/^ /, '');
            if (k === 'retry') stream.retry = Number(v);
            else if (k === 'id') { ev.id = v; isEvent = true; }
            else if (k === 'event') ev.event = v;
            else if (k === 'data') { ev.data.push(v); isEvent = true; }
          }
          if (isEvent) stream.events.push({ ...ev, data: ev.data.join('\n'), json: JSON.parse(ev.data.join('\n')) });
        }
        stream._check();
      });
      res.on('end', () => { stream.ended = true; stream._check(); });
      res.on('error', () => { stream.ended = true; stream._check(); });
      resolve(stream);
    });
    stream.req.on('error', (e) => { stream.ended = true; stream._check(); reject(e); });
  });
  return stream;
}
