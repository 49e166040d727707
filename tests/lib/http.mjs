// http.mjs - the tests' one HTTP client: whole requests, long-polls,
// requests left to be abandoned and Server-Sent Event streams, each on its
// own connection. Requests a client library would refuse to send go
// through raw.mjs instead.
import http from 'node:http';
import { SseParser } from './sse.mjs';

// The headers that log in as user behind startServer({ auth: true }) (the
// password is the name); {} for a user of undefined or null. pass
// overrides the password (a wrong one).
export function basicAuth(user, pass = user) {
  if (user === undefined || user === null) return {};
  return { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

// One request; resolves to {status, headers, text, json, complete}
// (complete: the whole body came). Rejects when the connection fails,
// ends before the answer does, or is idle for timeout ms. auth: a user
// name to log in as (basicAuth). localAddress: the loopback address to
// connect from (127.0.0.2 ...: another client).
export function request(base, method, path, { body, headers = {}, timeout = 70000, signal, auth, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const h = { ...basicAuth(auth), ...headers };
    let data = body;
    if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      data = JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    if (data !== undefined) h['Content-Length'] = Buffer.byteLength(data);
    const req = http.request(u, { method, headers: h, agent: false, timeout, signal, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json, complete: res.complete });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

// request() for clients that expect failures (workers killed, servers
// restarted): where request() rejects, resolves {status: 0, error}. A
// shorter default timeout: a retry soon beats a long wait.
export function tryRequest(base, method, path, opts = {}) {
  return request(base, method, path, { timeout: 30000, ...opts }).catch((error) => ({ status: 0, error }));
}

export const get = (base, path, opts) => request(base, 'GET', path, opts);
export const post = (base, path, body, opts) => request(base, 'POST', path, { ...opts, body });

// A GET whose answer no one reads: the caller destroy()s the request it
// returns, and the server sees its client leave, as when a browser closes.
// auth: a user to log in as.
export function openRequest(base, path, { auth } = {}) {
  const req = http.get(new URL(path, base), { agent: false, headers: basicAuth(auth) });
  req.on('error', () => {});
  return req;
}

// The requests the workers hold parked, as /api/stats counts them (open
// to 127.0.0.1): { longpoll, sse, total }. Other processes' counts are
// published every 500 ms, so wait for a count to rise, not to fall.
export async function waitingNow(base) {
  return (await get(base, '/api/stats')).json.waiting;
}

// A send; opts as request()'s (auth: the user to log in as).
export function send(base, room, nick, text, extra = {}, opts = {}) {
  return post(base, `/api/rooms/${room}/messages`, { nick, text, ...extra }, opts);
}

// An open event stream (GET .../events, since= and Last-Event-ID when
// given). It keeps its events ({id, event, data, json}), the count of
// comments, the last retry and the raw text; with onEvent, each event
// goes to onEvent as it comes instead, and neither events nor text are
// kept (streams long enough to fill memory). opened settles with the
// answer's head (rejects if the connection fails first); query adds
// parameters (nick=, presence=), done when the
// stream has ended; until(pred) waits for pred(stream); close() leaves.
// auth: a user to log in as; localAddress: as for request().
export function openEvents(base, room, { since, query, lastEventId, headers = {}, onEvent, auth, localAddress } = {}) {
  const params = [since !== undefined ? `since=${since}` : '', query ?? ''].filter(Boolean);
  const q = params.length ? `?${params.join('&')}` : '';
  const u = new URL(`/api/rooms/${room}/events${q}`, base);
  const h = { Accept: 'text/event-stream', ...basicAuth(auth), ...headers };
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
  const deliver = onEvent ?? ((ev) => stream.events.push(ev));
  const parser = new SseParser();
  let ended;
  stream.done = new Promise((resolve) => { ended = resolve; });
  const end = () => {
    if (stream.ended) return;
    stream.ended = true;
    stream._check();
    ended(stream);
  };
  stream.opened = new Promise((resolve, reject) => {
    stream.req = http.get(u, { headers: h, agent: false, localAddress }, (res) => {
      stream.status = res.statusCode;
      stream.headers = res.headers;
      stream.res = res;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (!onEvent) stream.raw += chunk;
        for (const b of parser.push(chunk)) {
          stream.comments += b.comments;
          if (b.retry !== null) stream.retry = b.retry;
          if (b.event) deliver({ ...b.event, json: JSON.parse(b.event.data) });
        }
        stream._check();
      });
      for (const e of ['end', 'error', 'aborted', 'close']) res.on(e, end);
      resolve(stream);
    });
    stream.req.on('error', (e) => { end(); reject(e); });
  });
  return stream;
}
