// api.js - the HTTP calls of API.md, and the send queue (Outbox) that never
// loses and never repeats a message: every send carries a client_id, is
// retried on network failures, 5xx and 429 (honouring Retry-After) with the
// same client_id, and is marked failed only after giving up. A send goes
// over the live WebSocket when one carries its room, else by POST.

import {
  backoffDelay, parseRetryAfter, sleep, isAbort, uuid, normalizeText,
  trimNick,
} from './util.js';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure or timeout
   * @param {string} code   API error code ("bad_text", ...) or "network"
   * @param {string} message a sentence for a person
   * @param {number|null} retryAfter ms from Retry-After, if any
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** Worth trying again: no answer, a server error, or "slow down". */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 ||
      this.status >= 500;
  }
}

/**
 * The code of the ApiError a WebSocket send rejects with when the socket
 * went (or went silent) before its answer: the Outbox then POSTs the same
 * send at once, and the client_id keeps it from being stored twice.
 */
export const SOCKET_LOST = 'socket_lost';

/** HTTP status of each error code a POST would have answered with. */
const STATUS_OF_CODE = {
  forbidden: 403, too_large: 413, rate_limited: 429, internal: 500, unavailable: 503,
};

/** The ApiError of a WebSocket `error` frame's {code, message}. */
export function errorFromFrame(e) {
  const code = typeof e?.code === 'string' ? e.code : 'bad_answer';
  const message = typeof e?.message === 'string' ? e.message : 'The server refused the message.';
  return new ApiError(STATUS_OF_CODE[code] ?? 400, code, message);
}

export class Api {
  /** @param {string} base absolute or root-relative URL of the API prefix */
  constructor(base) {
    this.base = String(base).replace(/\/+$/, '');
  }

  url(path, params = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null) q.set(k, String(v));
    }
    const qs = q.toString();
    return this.base + path + (qs ? `?${qs}` : '');
  }

  roomPath(room, rest) {
    return `/rooms/${encodeURIComponent(room)}${rest}`;
  }

  /**
   * One request. Resolves with the parsed JSON body of a 2xx answer;
   * rejects with an ApiError (status 0 when there was no answer), or an
   * AbortError when `signal` fired.
   */
  async request(method, path, { params, body, signal, timeout = 30000 } = {}) {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; ctl.abort(); }, timeout);
    const init = {
      method,
      headers: { Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'same-origin',
      signal: ctl.signal,
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(this.url(path, params), init);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (timedOut) {
        throw new ApiError(0, 'timeout', 'The server did not answer in time.');
      }
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    let data = null;
    try {
      data = await res.json();
    } catch (err) {
      if (signal?.aborted) throw err;
      data = null;
    }
    if (!res.ok) {
      const e = data && data.error ? data.error : {};
      const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
      throw new ApiError(res.status, e.code || `http_${res.status}`,
        e.message || `The server answered ${res.status} ${res.statusText}.`,
        retryAfter);
    }
    if (data === null) {
      throw new ApiError(502, 'bad_answer', 'The server sent an answer that is not JSON.');
    }
    return data;
  }

  /** GET messages: {since|before, limit, wait} -> {messages, last_id}. */
  messages(room, params = {}, { signal, timeout } = {}) {
    return this.request('GET', this.roomPath(room, '/messages'), {
      params, signal, timeout,
    });
  }

  send(room, { nick, text, client_id }, { signal, timeout = 20000 } = {}) {
    return this.request('POST', this.roomPath(room, '/messages'), {
      body: { nick, text, client_id }, signal, timeout,
    });
  }

  /** GET /me: {user} - who the web server signed in, null if no one. */
  me({ signal } = {}) {
    return this.request('GET', '/me', { signal, timeout: 15000 });
  }

  rooms({ signal } = {}) {
    return this.request('GET', '/rooms', { signal, timeout: 15000 });
  }

  /** POST /rooms: a private room of the user and members -> {room, private, members}. */
  createRoom(room, members, { signal } = {}) {
    return this.request('POST', '/rooms', { body: { room, members }, signal, timeout: 15000 });
  }

  /** POST /dm: the user's DM with another -> {room, private, direct, members}. */
  openDirect(user, { signal } = {}) {
    return this.request('POST', '/dm', { body: { user }, signal, timeout: 15000 });
  }

  health({ signal, timeout = 5000 } = {}) {
    return this.request('GET', '/health', { signal, timeout });
  }

  /** extra: more parameters (who is here: presence, nick). */
  eventsUrl(room, since, extra = {}) {
    return this.url(this.roomPath(room, '/events'), { since, ...extra });
  }

  /** ws: or wss: URL of the room's WebSocket (the base is absolute). */
  wsUrl(room, since, extra = {}) {
    const u = new URL(this.url(this.roomPath(room, '/ws'), { since, ...extra }), location.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.href;
  }
}

/** How many times a send is tried before it is shown as failed. */
export const SEND_ATTEMPTS = 10;

/**
 * The send queue. Items are sent one at a time in order, so a person's
 * messages keep their order. Survives a reload of the tab (sessionStorage).
 *
 * item: {client_id, room, nick, text, status, attempts, error, retryAt,
 *        created, matchedId}
 * status: "pending" (waiting or in flight), "failed" (gave up, or the server
 * refused it: error holds the sentence to show).
 */
export class Outbox {
  constructor(api, { storage = safeSessionStorage(), key = 'fcgichat.outbox' } = {}) {
    this.api = api;
    this.storage = storage;
    this.key = key;
    this.items = [];
    this.onChange = () => {};
    this.onSent = () => {};
    // (room, {nick, text, client_id}) -> a promise of the stored message
    // when a live WebSocket carries that room, else null (then: POST).
    this.viaSocket = () => null;
    this._running = false;
    this._wake = null;
    this._load();
  }

  /** Queues a message; returns its item. */
  add(room, nick, text) {
    const item = {
      client_id: uuid(),
      room,
      nick: trimNick(nick),
      text: normalizeText(text),
      status: 'pending',
      attempts: 0,
      error: null,
      retryAt: null,
      created: Date.now(),
      matchedId: null,
    };
    this.items.push(item);
    this._changed(item);
    this._pump();
    return item;
  }

  /** Tries a failed item again, with the same client_id. */
  retry(clientId) {
    const item = this.find(clientId);
    if (!item || item.status !== 'failed') return;
    item.status = 'pending';
    item.attempts = 0;
    item.error = null;
    item.retryAt = null;
    this._changed(item);
    this._pump();
  }

  discard(clientId) {
    const item = this.find(clientId);
    if (!item || item.status !== 'failed') return;
    this.items = this.items.filter((i) => i !== item);
    this._changed(item);
  }

  find(clientId) {
    return this.items.find((i) => i.client_id === clientId);
  }

  forRoom(room) {
    return this.items.filter((i) => i.room === room);
  }

  /** Network is back (or the live connection came back): retry now. */
  kick() {
    if (this._wake) this._wake();
  }

  /**
   * A live message may be one of ours whose POST answer is still on the
   * way: hide the pending copy so it does not show twice. The POST answer
   * settles it for good (or brings the pending copy back if it failed).
   */
  matchLive(msg) {
    for (const item of this.items) {
      if (item.status === 'pending' && item.matchedId === null &&
          item.room === msg.room && item.nick === msg.nick &&
          item.text === msg.text) {
        item.matchedId = msg.id;
        this._changed(item);
        return item;
      }
    }
    return null;
  }

  _changed(item) {
    this._save();
    this.onChange(item);
  }

  async _pump() {
    if (this._running) return;
    this._running = true;
    try {
      for (;;) {
        const item = this.items.find((i) => i.status === 'pending');
        if (!item) break;
        await this._sendOne(item);
      }
    } finally {
      this._running = false;
    }
  }

  async _sendOne(item) {
    for (;;) {
      if (typeof navigator !== 'undefined' && navigator.onLine === false) {
        item.error = 'You are offline; the message will be sent when the connection is back.';
        this._changed(item);
        await this._waitWake(30000);
      }
      item.attempts += 1;
      item.retryAt = null;
      try {
        const msg = await this._transmit(item);
        this.items = this.items.filter((i) => i !== item);
        this._save();
        this.onSent(item, msg);
        this.onChange(item);
        return;
      } catch (err) {
        const apiErr = err instanceof ApiError ? err
          : new ApiError(0, 'network', String(err?.message || err));
        if (!apiErr.retryable) {
          item.status = 'failed';
          item.matchedId = null;
          item.error = apiErr.message;
          this._changed(item);
          return;
        }
        if (item.attempts >= SEND_ATTEMPTS) {
          item.status = 'failed';
          item.matchedId = null;
          item.error = `Not sent: ${apiErr.message}`;
          this._changed(item);
          return;
        }
        const delay = Math.max(apiErr.retryAfter ?? 0,
          backoffDelay(item.attempts, { base: 1000, cap: 20000 }));
        item.retryAt = Date.now() + delay;
        item.error = apiErr.message;
        this._changed(item);
        await this._waitWake(delay);
      }
    }
  }

  /**
   * One try, over the WebSocket when one is up; when it goes before the
   * answer, the same send goes by POST at once.
   */
  async _transmit(item) {
    const body = { nick: item.nick, text: item.text, client_id: item.client_id };
    const overSocket = this.viaSocket(item.room, body);
    if (overSocket) {
      try {
        return await overSocket;
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== SOCKET_LOST) throw err;
      }
    }
    return this.api.send(item.room, body);
  }

  /** Sleeps `ms`, or less when kick() is called. */
  async _waitWake(ms) {
    const ctl = new AbortController();
    this._wake = () => ctl.abort();
    try {
      await sleep(ms, ctl.signal);
    } catch (err) {
      if (!isAbort(err)) throw err;
    } finally {
      this._wake = null;
    }
  }

  _save() {
    if (!this.storage) return;
    try {
      const keep = this.items.map(({ client_id, room, nick, text, status, error, created }) =>
        ({ client_id, room, nick, text, status, error, created }));
      if (keep.length) this.storage.setItem(this.key, JSON.stringify(keep));
      else this.storage.removeItem(this.key);
    } catch { /* storage full or disabled: the queue still works */ }
  }

  _load() {
    if (!this.storage) return;
    try {
      const saved = JSON.parse(this.storage.getItem(this.key) || '[]');
      for (const s of saved) {
        if (!s || typeof s.client_id !== 'string') continue;
        this.items.push({
          ...s, attempts: 0, retryAt: null, matchedId: null,
          status: s.status === 'failed' ? 'failed' : 'pending',
        });
      }
    } catch { /* ignore a damaged entry */ }
    if (this.items.some((i) => i.status === 'pending')) {
      queueMicrotask(() => this._pump());
    }
  }
}

function safeSessionStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
