// transports.js - the three live transports of API.md behind one interface:
//
//   const t = createTransport('sse' | 'longpoll' | 'poll' | 'auto', opts)
//   t.onMessages = (messages, cursor) => ...   // oldest first
//   t.onState = (state) => ...                 // see below
//   t.onLimited = () => ...    // history older than the cursor was pruned:
//                              // reload the room
//
// A message a moderator deleted arrives among the messages as
// {room, deletes: ID} (from a read's "deleted" list or an SSE delete event).
//   t.start(since); t.kick(force); t.stop();
//
// state: {mode, kind, state, retryAt, failures, error, interval}
//   mode  - what was chosen: "auto" or the kind itself
//   kind  - the transport now live: "sse", "longpoll", "poll"
//   state - "connecting", "connected", "reconnecting" (retryAt: epoch ms),
//           "offline" (the browser says it has no network)
//
// Each transport keeps a cursor (`since`): the id of the last message it
// delivered, or the `last_id` the server handed back. It only ever resumes
// from that cursor, so a drop, a server restart or a sleeping laptop never
// loses or repeats a message.

import { backoffDelay, sleep, isAbort } from './util.js';
import { ApiError } from './api.js';

export const KINDS = ['sse', 'longpoll', 'poll'];

export const KIND_NAMES = {
  auto: 'Auto',
  sse: 'Server-Sent Events',
  longpoll: 'Long-polling',
  poll: 'Polling',
};

/** Seconds a long-poll asks the server to hold the request. */
export const LONGPOLL_WAIT = 25;

/** Messages asked for per request while catching up. */
const PAGE = 100;

class BaseTransport {
  constructor(kind, { api, room, interval = 3 }) {
    this.kind = kind;
    this.api = api;
    this.room = room;
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

  _connect() { throw new Error('abstract'); }
  _disconnect() {}
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
    const es = new EventSource(this.api.eventsUrl(this.room, this.since));
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
      if (wait > 0) params.wait = wait;
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

/**
 * Auto: SSE first; when a transport fails repeatedly while the server
 * itself answers (GET /health), fall back to long-polling, then polling.
 * While the server is down, it keeps retrying the same transport.
 */
class AutoTransport {
  constructor(opts) {
    this.opts = opts;
    this.api = opts.api;
    this.kind = 'auto';
    this.onMessages = () => {};
    this.onState = () => {};
    this.onLimited = () => {};
    this.inner = null;
    this.order = KINDS.filter((k) => k !== 'sse' || typeof EventSource === 'function');
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

  _startInner(since) {
    const t = createTransport(this.order[this.index], this.opts);
    this.inner = t;
    t.onMessages = (msgs, cursor) => this.onMessages(msgs, cursor);
    t.onLimited = () => { if (this.inner === t) this.onLimited(); };
    t.onState = (s) => { if (this.inner === t) this.onState({ ...s, mode: 'auto' }); };
    t.onFailure = (err, failures) => {
      if (failures >= this.fallbackAfter && this.index < this.order.length - 1) {
        this._maybeFallBack(t);
      }
    };
    t.start(since);
    this.onState({ ...t.state, mode: 'auto' });
  }

  async _maybeFallBack(t) {
    if (this._checking) return;
    this._checking = true;
    try {
      await this.api.health();
    } catch {
      return; // the server is down: this transport is not to blame
    } finally {
      this._checking = false;
    }
    if (!this.running || this.inner !== t || t.failures < this.fallbackAfter ||
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
    case 'sse': return new SseTransport(opts);
    case 'longpoll': return new LongPollTransport(opts);
    case 'poll': return new PollTransport(opts);
    default: return new AutoTransport(opts);
  }
}
