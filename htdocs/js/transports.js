// transports.js - the four live transports of API.md behind one interface:
//
//   const t = createTransport('ws' | 'sse' | 'longpoll' | 'poll' | 'auto', opts)
//   t.onMessages = (messages, cursor) => ...   // oldest first
//   t.onState = (state) => ...                 // see below
//   t.onLimited = () => ...    // history older than the cursor was pruned:
//                              // reload the room
//   t.onPresence = (list) => ... // who is here (API.md): the room's list
//                              // whenever it changes (not while polling)
// opts.nick: () => the name this page is present under ('' for none; a
// signed-in user is present under the user name whatever it says).
//
// A message a moderator deleted arrives among the messages as
// {room, deletes: ID} (from a read's "deleted" list, an SSE delete event or
// a WebSocket delete frame).
//   t.start(since); t.kick(force); t.stop();
//   t.send(room, {nick, text, client_id}) -> a promise of the stored
//     message while a WebSocket of that room is open (rejects with an
//     ApiError: the server's refusal, or code SOCKET_LOST), else null
//
// state: {mode, kind, state, retryAt, failures, error, interval}
//   mode  - what was chosen: "auto" or the kind itself
//   kind  - the transport now live: "ws", "sse", "longpoll", "poll"
//   state - "connecting", "connected", "reconnecting" (retryAt: epoch ms),
//           "offline" (the browser says it has no network)
//
// Each transport keeps a cursor (`since`): the id of the last message it
// delivered, or the `last_id` the server handed back. It only ever resumes
// from that cursor, so a drop, a server restart or a sleeping laptop never
// loses or repeats a message.

import { backoffDelay, sleep, isAbort } from './util.js';
import { ApiError, SOCKET_LOST, errorFromFrame } from './api.js';

/** Best first: the order Auto tries them in. */
export const KINDS = ['ws', 'sse', 'longpoll', 'poll'];

export const KIND_NAMES = {
  auto: 'Auto',
  ws: 'WebSocket',
  sse: 'Server-Sent Events',
  longpoll: 'Long-polling',
  poll: 'Polling',
};

/** Seconds a long-poll asks the server to hold the request. */
export const LONGPOLL_WAIT = 25;

/** Messages asked for per request while catching up. */
const PAGE = 100;

/**
 * Milliseconds without a frame after which a WebSocket counts as dead: the
 * server sends one at least every 15 s (API.md), and a half-open socket
 * (a sleeping NAT, a pulled cable) is invisible to a page otherwise.
 */
export const WS_WATCHDOG = 40000;

/** Milliseconds a send over the WebSocket waits for its ack. */
const WS_ACK_TIMEOUT = 20000;

/**
 * Code of the failure of a WebSocket that never opened: with the server
 * answering, a front end or proxy refused the upgrade (426, 400, 200...).
 */
export const WS_REFUSED = 'ws_refused';

class BaseTransport {
  constructor(kind, { api, room, interval = 3, nick = () => '' }) {
    this.kind = kind;
    this.api = api;
    this.room = room;
    this.nick = nick;
    this.presenceVersion = 0;
    this.onPresence = () => {};
    this.interval = interval;
    this.since = 0;
    this.failures = 0;
    this.running = false;
    this.onMessages = () => {};
    this.onState = () => {};
    this.onFailure = () => {};
    this.onLimited = () => {};
    this.state = this._stateObj('connecting');
    this._retryTimer = null;
    this._gen = 0;
  }

  start(since) {
    this.since = Math.max(0, Number(since) || 0);
    this.running = true;
    this.failures = 0;
    this._connect();
  }

  stop() {
    this.running = false;
    this._gen += 1;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._disconnect();
  }

  /**
   * Reconnect now instead of waiting for the backoff timer: the network
   * came back, the laptop woke up, the tab became visible. With `force`,
   * also drop a connection that looks fine (it may be dead after a sleep).
   */
  kick(force = false) {
    if (!this.running) return;
    if (!force && this.state.state === 'connected') return;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this.failures = 0;
    this._disconnect();
    this._connect();
  }

  _stateObj(state, extra = {}) {
    return {
      mode: this.kind, kind: this.kind, state, retryAt: null,
      failures: this.failures, error: null, interval: this.interval, ...extra,
    };
  }

  _setState(state, extra) {
    const next = this._stateObj(state, extra);
    const s = this.state;
    if (s.state === next.state && s.retryAt === next.retryAt &&
        s.failures === next.failures && s.error === next.error) return;
    this.state = next;
    this.onState(next);
  }

  _deliver(messages, lastId, deleted = []) {
    const fresh = messages.filter((m) => m && Number.isFinite(m.id) && m.id > this.since);
    const gone = Array.isArray(deleted) && Number.isFinite(lastId) && lastId > this.since
      ? deleted.filter(Number.isFinite).map((id) => ({ room: this.room, deletes: id })) : [];
    let cursor = this.since;
    for (const m of fresh) cursor = Math.max(cursor, m.id);
    if (Number.isFinite(lastId)) cursor = Math.max(cursor, lastId);
    this.since = cursor;
    if (fresh.length || gone.length) this.onMessages([...fresh, ...gone], cursor);
  }

  /** A connection attempt failed: back off (with jitter) and try again. */
  _fail(err) {
    if (!this.running) return;
    this.failures += 1;
    const message = err?.message || String(err || 'connection failed');
    this.onFailure(err, this.failures);
    if (!this.running) return; // onFailure may have replaced us
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this._setState('offline', { error: message });
      // the "online" event kicks us; this timer is the fallback
      this._schedule(30000);
      return;
    }
    let delay = backoffDelay(this.failures);
    if (err instanceof ApiError && err.retryAfter != null) {
      delay = Math.max(delay, err.retryAfter);
    }
    this._setState('reconnecting', { retryAt: Date.now() + delay, error: message });
    this._schedule(delay);
  }

  _schedule(delay) {
    clearTimeout(this._retryTimer);
    const gen = this._gen;
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      if (this.running && gen === this._gen) this._connect();
    }, delay);
  }

  /** Only a WebSocket carries sends: the others leave them to POST. */
  send() { return null; }

  /** The parameters that make this connection present and ask for lists
   * newer than version (0 on a new stream: it gets the list at once). */
  _presenceParams(version) {
    const nick = this.nick();
    return nick ? { presence: version, nick } : { presence: version };
  }

  _presence(list) {
    if (!list || !Array.isArray(list.people)) return;
    this.presenceVersion = Number(list.version) || 0;
    this.onPresence(list);
  }

  _connect() { throw new Error('abstract'); }
  _disconnect() {}
}

/** A server frame: a JSON object with a type, or null. */
function parseFrame(data) {
  if (typeof data !== 'string') return null;
  try {
    const f = JSON.parse(data);
    return f && typeof f === 'object' && typeof f.type === 'string' ? f : null;
  } catch {
    return null;
  }
}

/** What each server frame type does; types not here are ignored (API.md). */
const WS_FRAMES = {
  message(f) { this._deliver([f.message]); },
  delete(f) { this._deliver([], Number(f.seq), [Number(f.id)]); },
  limited() {
    // Like a read that says "limited": stop here, the room is reloaded.
    this._disconnect();
    this.onLimited();
  },
  ack(f) { this._settle(f.client_id, null, f.message); },
  error(f) { this._settle(f.client_id, errorFromFrame(f.error)); },
  keepalive() {},
  presence(f) { this._presence(f.presence); },
};

/**
 * WebSocket: one full-duplex connection; the server's frames carry
 * messages, deletions and keepalives, and sends go the other way, each
 * answered with ack or error (matched by client_id).
 */
class WsTransport extends BaseTransport {
  constructor(opts) {
    super('ws', opts);
    this.ws = null;
    this.openTimeout = opts.openTimeout ?? 15000;
    this.watchdog = opts.watchdog ?? WS_WATCHDOG;
    this._timer = null;        // the open timeout, then the watchdog
    this._acks = new Map();    // client_id -> {resolve, reject, timer}
  }

  _connect() {
    this._gen += 1;
    const gen = this._gen;
    if (this.state.state !== 'reconnecting' && this.state.state !== 'offline') {
      this._setState('connecting');
    }
    let ws;
    try {
      ws = new WebSocket(this.api.wsUrl(this.room, this.since, this._presenceParams(0)));
    } catch {
      // (older browsers throw here when a Content-Security-Policy forbids it)
      this._fail(new ApiError(0, WS_REFUSED, 'Cannot open the WebSocket.'));
      return;
    }
    this.ws = ws;
    const conn = { opened: false, sane: false };
    this._arm(gen, this.openTimeout, WS_REFUSED, 'The WebSocket did not open.');
    ws.onopen = () => {
      if (gen !== this._gen) return;
      conn.opened = true;
      this._arm(gen, this.watchdog, 'timeout', 'The WebSocket went silent.');
      this._setState('connected');
    };
    ws.onmessage = (ev) => { if (gen === this._gen) this._frame(gen, conn, ev.data); };
    // An error event is always followed by close: close alone decides.
    ws.onclose = (ev) => { if (gen === this._gen) this._closed(conn, ev.code); };
  }

  /** Drops the socket and fails when nothing comes for `ms`. */
  _arm(gen, ms, code, why) {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      if (gen !== this._gen) return;
      this._disconnect();
      this._fail(new ApiError(0, code, why));
    }, ms);
  }

  _frame(gen, conn, data) {
    const f = parseFrame(data);
    if (!f) {
      // Something that is not this API answered the upgrade: not a
      // transport to keep.
      this._disconnect();
      this._fail(new ApiError(502, 'bad_answer', 'The WebSocket sent something that is not chat.'));
      return;
    }
    conn.sane = true;
    this.failures = 0;
    this._arm(gen, this.watchdog, 'timeout', 'The WebSocket went silent.');
    if (Object.hasOwn(WS_FRAMES, f.type)) WS_FRAMES[f.type].call(this, f);
  }

  _closed(conn, code) {
    this._disconnect();
    // A socket that carried frames, or that the server ended on purpose
    // (1001: its lifetime is over, or the worker stops), was a success.
    if (conn.sane || code === 1001) this.failures = 0;
    this._fail(conn.opened
      ? new ApiError(0, 'network', 'The WebSocket was interrupted.')
      : new ApiError(0, WS_REFUSED, 'Cannot open the WebSocket.'));
  }

  _disconnect() {
    clearTimeout(this._timer);
    this._timer = null;
    const ws = this.ws;
    this.ws = null;
    this._gen += 1;
    if (ws) {
      ws.onopen = null;
      ws.onmessage = null;
      ws.onclose = null;
      try { ws.close(1000); } catch { /* already closing */ }
    }
    // Their answers will never come on this socket: the Outbox POSTs them.
    const acks = [...this._acks.values()];
    this._acks.clear();
    for (const a of acks) {
      clearTimeout(a.timer);
      a.reject(new ApiError(0, SOCKET_LOST, 'The WebSocket closed before the answer.'));
    }
  }

  send(room, { nick, text, client_id: clientId }) {
    const ws = this.ws;
    if (room !== this.room || !ws || ws.readyState !== WebSocket.OPEN || this._acks.has(clientId)) {
      return null;
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._settle(clientId, new ApiError(0, SOCKET_LOST, 'The WebSocket did not answer.'));
      }, WS_ACK_TIMEOUT);
      this._acks.set(clientId, { resolve, reject, timer });
      try {
        ws.send(JSON.stringify({ type: 'send', nick, text, client_id: clientId }));
      } catch {
        this._settle(clientId, new ApiError(0, SOCKET_LOST, 'The WebSocket is closing.'));
      }
    });
  }

  /** The answer to the send of `clientId`: its message, or err. */
  _settle(clientId, err, message) {
    const a = this._acks.get(clientId);
    if (!a) return; // answered already, or given up on (it went by POST)
    this._acks.delete(clientId);
    clearTimeout(a.timer);
    if (err) a.reject(err);
    else a.resolve(message);
  }
}

/** Server-Sent Events: one long response, one event per message. */
class SseTransport extends BaseTransport {
  constructor(opts) {
    super('sse', opts);
    this.es = null;
    this.openTimeout = opts.openTimeout ?? 15000;
  }

  _connect() {
    this._gen += 1;
    const gen = this._gen;
    if (this.state.state !== 'reconnecting' && this.state.state !== 'offline') {
      this._setState('connecting');
    }
    // We (re)create the EventSource ourselves, so we pass our cursor as
    // since=; the browser's own reconnect would send Last-Event-ID, but
    // we close on every error to keep backoff and state in our hands.
    const es = new EventSource(this.api.eventsUrl(this.room, this.since, this._presenceParams(0)));
    this.es = es;
    let openedAt = 0;
    let delivered = false;
    const openTimer = setTimeout(() => {
      if (gen !== this._gen || openedAt) return;
      this._disconnect();
      this._fail(new ApiError(0, 'timeout', 'The event stream did not start.'));
    }, this.openTimeout);
    es.onopen = () => {
      if (gen !== this._gen) return;
      openedAt = Date.now();
      clearTimeout(openTimer);
      this._setState('connected');
    };
    es.addEventListener('message', (ev) => {
      if (gen !== this._gen) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      delivered = true;
      if (openedAt) this.failures = 0;
      const id = Number(ev.lastEventId);
      this._deliver([msg], Number.isFinite(id) && ev.lastEventId !== '' ? id : undefined);
    });
    es.addEventListener('delete', (ev) => {
      if (gen !== this._gen) return;
      let d;
      try {
        d = JSON.parse(ev.data);
      } catch {
        return;
      }
      this._deliver([], Number(ev.lastEventId), [Number(d?.id)]);
    });
    es.addEventListener('limited', () => {
      if (gen === this._gen) this.onLimited();
    });
    es.addEventListener('presence', (ev) => {
      if (gen !== this._gen) return;
      try {
        this._presence(JSON.parse(ev.data));
      } catch { /* not JSON: ignored */ }
    });
    es.onerror = () => {
      if (gen !== this._gen) return;
      clearTimeout(openTimer);
      this._disconnect();
      // A stream that ran a while (the server ends streams after a
      // lifetime) or carried messages was a success: reconnect quickly.
      const healthy = delivered || (openedAt && Date.now() - openedAt > 5000);
      if (healthy) this.failures = 0;
      this._fail(new ApiError(0, 'network',
        openedAt ? 'The event stream was interrupted.' : 'Cannot open the event stream.'));
    };
  }

  _disconnect() {
    if (this.es) {
      this.es.onopen = null;
      this.es.onerror = null;
      this.es.close();
      this.es = null;
    }
    this._gen += 1;
  }
}

/** Shared loop of long-polling and polling: GET ...messages?since=. */
class FetchTransport extends BaseTransport {
  constructor(kind, opts) {
    super(kind, opts);
    this.ctl = null;
  }

  _connect() {
    this._gen += 1;
    const gen = this._gen;
    if (this.state.state !== 'reconnecting' && this.state.state !== 'offline') {
      this._setState('connecting');
    }
    this.ctl = new AbortController();
    this._loop(gen, this.ctl.signal).catch((err) => {
      if (!isAbort(err) && gen === this._gen) this._fail(err);
    });
  }

  _disconnect() {
    this._gen += 1;
    if (this.ctl) this.ctl.abort();
    this.ctl = null;
  }

  /** Seconds to ask the server to wait, on a request after a success. */
  _wait() { return 0; }

  async _loop(gen, signal) {
    let first = true;
    for (;;) {
      // The first request after (re)connecting does not wait, so we catch
      // up and know we are connected at once.
      const wait = first ? 0 : this._wait();
      const params = { since: this.since, limit: PAGE };
      if (wait > 0) Object.assign(params, { wait }, this._presenceParams(this.presenceVersion));
      const res = await this.api.messages(this.room, params, {
        signal, timeout: (wait + 15) * 1000,
      });
      if (gen !== this._gen) return;
      if (!res || !Array.isArray(res.messages)) {
        throw new ApiError(502, 'bad_answer', 'The server sent an unexpected answer.');
      }
      // Only a request that really waited (or a poll) proves the transport
      // works: a path that breaks held requests must count as failing.
      if (wait > 0 || this.kind === 'poll') this.failures = 0;
      this._setState('connected');
      this._deliver(res.messages, Number(res.last_id), res.deleted);
      if (res.presence) this._presence(res.presence);
      if (res.limited === true) {
        this.onLimited();
        return;
      }
      first = false;
      if (res.messages.length >= PAGE) continue; // more are waiting
      await this._pause(signal);
      if (gen !== this._gen) return;
    }
  }

  async _pause() {}
}

/** Long-polling: the server holds each request until a message arrives. */
class LongPollTransport extends FetchTransport {
  constructor(opts) { super('longpoll', opts); }
  _wait() { return LONGPOLL_WAIT; }
}

/** Plain polling every `interval` seconds. */
class PollTransport extends FetchTransport {
  constructor(opts) { super('poll', opts); }
  _pause(signal) {
    const s = Math.min(60, Math.max(1, Number(this.interval) || 3));
    return sleep(s * 1000, signal);
  }
}

/** Whether this browser has each transport; the others it always has. */
const SUPPORTED = {
  ws: () => typeof WebSocket === 'function',
  sse: () => typeof EventSource === 'function',
};

/**
 * Auto: WebSocket first; when a transport fails repeatedly while the
 * server itself answers (GET /health), fall back to SSE, then long-polling,
 * then polling. A WebSocket that never opened while the server answers was
 * refused by something in between: once is enough. While the server is
 * down, it keeps retrying the same transport. 10 minutes after falling
 * back it tries the best one again.
 */
class AutoTransport {
  constructor(opts) {
    this.opts = opts;
    this.api = opts.api;
    this.kind = 'auto';
    this.onMessages = () => {};
    this.onState = () => {};
    this.onLimited = () => {};
    this.onPresence = () => {};
    this.inner = null;
    this.order = KINDS.filter((k) => !SUPPORTED[k] || SUPPORTED[k]());
    this.index = 0;
    this.fallbackAfter = opts.fallbackAfter ?? 3;
    this.upgradeAfter = opts.upgradeAfter ?? 10 * 60 * 1000;
    this._upgradeTimer = null;
    this.running = false;
    this._checking = false;
  }

  get since() { return this.inner ? this.inner.since : this._since; }
  get state() {
    return this.inner ? { ...this.inner.state, mode: 'auto' }
      : { mode: 'auto', kind: this.order[0], state: 'connecting', retryAt: null, failures: 0 };
  }

  start(since) {
    this.running = true;
    this.index = 0;
    this._since = since;
    this._startInner(since);
  }

  stop() {
    this.running = false;
    clearTimeout(this._upgradeTimer);
    this.inner?.stop();
  }

  kick(force) { this.inner?.kick(force); }

  send(room, body) { return this.inner ? this.inner.send(room, body) : null; }

  _startInner(since) {
    const t = createTransport(this.order[this.index], this.opts);
    this.inner = t;
    t.onMessages = (msgs, cursor) => this.onMessages(msgs, cursor);
    t.onLimited = () => { if (this.inner === t) this.onLimited(); };
    t.onPresence = (p) => { if (this.inner === t) this.onPresence(p); };
    t.onState = (s) => { if (this.inner === t) this.onState({ ...s, mode: 'auto' }); };
    t.onFailure = (err, failures) => {
      const need = err?.code === WS_REFUSED ? 1 : this.fallbackAfter;
      if (failures >= need && this.index < this.order.length - 1) {
        this._maybeFallBack(t, need);
      }
    };
    t.start(since);
    this.onState({ ...t.state, mode: 'auto' });
  }

  async _maybeFallBack(t, need) {
    if (this._checking) return;
    this._checking = true;
    try {
      await this.api.health();
    } catch {
      return; // the server is down: this transport is not to blame
    } finally {
      this._checking = false;
    }
    if (!this.running || this.inner !== t || t.failures < need ||
        t.state.state === 'connected') return;
    const since = t.since;
    t.stop();
    this.index += 1;
    this._startInner(since);
    // Now and then, try the better transport again.
    clearTimeout(this._upgradeTimer);
    this._upgradeTimer = setTimeout(() => this._upgrade(), this.upgradeAfter);
  }

  _upgrade() {
    const t = this.inner;
    if (!this.running || this.index === 0 || !t) return;
    if (t.state.state !== 'connected') {
      // Reconnecting just now (after a sleep, say): try again shortly,
      // not another 10 minutes later.
      this._upgradeTimer = setTimeout(() => this._upgrade(), 5000);
      return;
    }
    const since = t.since;
    t.stop();
    this.index = 0;
    this._startInner(since);
  }
}

export function createTransport(kind, opts) {
  switch (kind) {
    case 'ws': return new WsTransport(opts);
    case 'sse': return new SseTransport(opts);
    case 'longpoll': return new LongPollTransport(opts);
    case 'poll': return new PollTransport(opts);
    default: return new AutoTransport(opts);
  }
}
