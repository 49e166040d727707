// share.js - one live connection per browser and room. The tabs showing the
// same room elect a leader with the Web Locks API; only the leader runs a
// transport, and it hands every message and state change to the others
// over a BroadcastChannel. Every tab keeps the cursor (the last id it
// saw), so when the leader goes away the next tab in line takes the lock
// and resumes from its own cursor: nothing is lost, duplicates are dropped
// by id. A follower's cursor only moves over ids it has really seen; when
// the leader is ahead of it (it connected from a newer history), the
// follower fetches the gap once with GET ...?since=. Without those APIs
// each tab runs its own transport ("solo").
//
// A WebSocket lives in the leader only, and carries the leader's sends;
// the other tabs send by POST (a send relayed through the leader would be
// lost with it, and would need the same POST to fall back on).
//
//   const live = new SharedLive({room, scope, config, createTransport})
//   live.onMessages = (messages, cursor) => ...
//   live.onState = (state) => ...     // transport state + role
//   live.onLimited = () => ...        // pruned history: reload the room
//   live.onPresence = (list) => ...   // who is here, from the leader's
//                                     // connection (the last one again
//                                     // for a tab that joins)
//   live.open()          // listen to the other tabs, queue for the lock
//   live.start(cursor)   // history loaded: the leader may connect now
//   live.setConfig({transport, interval}); live.kick(force); live.stop()
//   live.send(room, body)  // this tab's WebSocket send, or null: POST

import { deferred } from './util.js';

export function sharingSupported() {
  return typeof BroadcastChannel === 'function' &&
    typeof navigator !== 'undefined' && !!navigator.locks &&
    typeof navigator.locks.request === 'function';
}

export class SharedLive {
  constructor({
    room, scope, config, createTransport, fetchSince, shared = sharingSupported(),
  }) {
    this.room = room;
    this.scope = scope;
    this.config = { ...config };
    this.createTransport = createTransport;
    this.fetchSince = fetchSince;
    this._leaderCursor = 0;
    this._filling = false;
    this.shared = shared;
    this.role = shared ? 'follower' : 'solo';
    this.cursor = 0;
    this.transport = null;
    this.state = {
      mode: config.transport, kind: config.transport === 'auto' ? 'ws' : config.transport,
      state: 'connecting', retryAt: null, failures: 0, role: this.role,
    };
    this.onMessages = () => {};
    this.onState = () => {};
    this.onLimited = () => {};
    this.onPresence = () => {};
    this.presence = null;
    this._ready = deferred();
    this._released = deferred();
    this._stopped = false;
    this._started = false;
    this.bc = null;
    this._abort = null;
  }

  get name() { return `fcgichat:${this.scope}:${this.room}`; }

  open() {
    if (!this.shared) return;
    this.bc = new BroadcastChannel(this.name);
    this.bc.onmessage = (ev) => this._onChannel(ev.data);
    this._abort = new AbortController();
    navigator.locks.request(this.name, { signal: this._abort.signal }, () => this._lead())
      .catch(() => { /* aborted on stop() */ });
    this._post({ t: 'hello' });
  }

  /** The cursor from history: the leader (or a solo tab) connects now. */
  start(cursor) {
    this._advance(cursor);
    this._started = true;
    this._ready.resolve();
    if (!this.shared) this._startTransport();
    else if (this.role === 'follower') this._checkGap();
  }

  stop() {
    this._stopped = true;
    this.transport?.stop();
    this.transport = null;
    this._abort?.abort();
    this._released.resolve();
    if (this.bc) {
      this.bc.onmessage = null;
      this.bc.close();
      this.bc = null;
    }
  }

  setConfig(config, { broadcast = true } = {}) {
    const next = { ...this.config, ...config };
    const same = next.transport === this.config.transport &&
      Number(next.interval) === Number(this.config.interval) &&
      (next.nick ?? '') === (this.config.nick ?? '');
    this.config = next;
    if (this.transport) {
      if (!same) this._restartTransport();
    } else if (broadcast && this.role === 'follower') {
      this._post({ t: 'config', config: next });
    }
  }

  kick(force = false) {
    if (this.transport) this.transport.kick(force);
    else if (this.role === 'follower') this._post({ t: 'kick', force });
  }

  /** A send over this tab's WebSocket (see transports.js), or null. */
  send(room, body) {
    return this.transport ? this.transport.send(room, body) : null;
  }

  async _lead() {
    if (this._stopped) return;
    this.role = 'leader';
    this._emitState({ ...this.state, role: 'leader' });
    await this._ready.promise;
    if (this._stopped) return;
    this._startTransport();
    await this._released.promise; // hold the lock until stop()
  }

  _startTransport() {
    if (this._stopped) return;
    const t = this.createTransport(this.config);
    this.transport = t;
    t.onMessages = (msgs, cursor) => {
      if (this.transport !== t) return;
      const from = this.cursor;
      this._advance(cursor);
      this._post({ t: 'msgs', msgs, from, cursor: this.cursor });
      this.onMessages(msgs, this.cursor);
    };
    t.onLimited = () => {
      if (this.transport !== t) return;
      this._post({ t: 'limited' });
      this.onLimited();
    };
    t.onPresence = (list) => {
      if (this.transport !== t) return;
      this.presence = list;
      this._post({ t: 'presence', list });
      this.onPresence(list);
    };
    t.onState = (s) => {
      if (this.transport !== t) return;
      this._emitState({ ...s, role: this.role });
      this._post({ t: 'state', state: this.state, cursor: this.cursor });
    };
    t.start(this.cursor);
    this._emitState({ ...t.state, role: this.role });
    this._post({ t: 'state', state: this.state, cursor: this.cursor });
  }

  _restartTransport() {
    const old = this.transport;
    if (old) {
      this._advance(old.since);
      old.stop();
    }
    this.transport = null;
    this._startTransport();
  }

  _advance(cursor) {
    const c = Number(cursor);
    if (Number.isFinite(c) && c > this.cursor) this.cursor = c;
  }

  _seeLeader(cursor) {
    const c = Number(cursor);
    if (Number.isFinite(c) && c > this._leaderCursor) this._leaderCursor = c;
    this._checkGap();
  }

  /** The leader is past our cursor with ids we never saw: fetch them. */
  async _checkGap() {
    if (!this._started || this._filling || this.role !== 'follower' ||
        !this.fetchSince || this._leaderCursor <= this.cursor) return;
    this._filling = true;
    try {
      while (!this._stopped && this.role === 'follower' &&
             this.cursor < this._leaderCursor) {
        const res = await this.fetchSince(this.cursor);
        if (this._stopped) return;
        const msgs = Array.isArray(res?.messages) ? res.messages : [];
        const gone = Array.isArray(res?.deleted)
          ? res.deleted.map((id) => ({ room: this.room, deletes: id })) : [];
        if (msgs.length || gone.length) this.onMessages([...msgs, ...gone], this.cursor);
        if (res?.limited === true) {
          this.onLimited();
          return;
        }
        let c = Number(res?.last_id);
        for (const m of msgs) c = Math.max(c || 0, m.id);
        if (!(c > this.cursor)) break;
        this._advance(c);
      }
    } catch {
      // the leader's next message or state brings us back here
    } finally {
      this._filling = false;
    }
  }

  _emitState(s) {
    this.state = s;
    this.onState(s);
  }

  _post(data) {
    if (!this.bc) return;
    try {
      this.bc.postMessage(data);
    } catch { /* channel closed */ }
  }

  _onChannel(d) {
    if (!d || typeof d !== 'object' || this._stopped) return;
    switch (d.t) {
      case 'msgs':
        if (this.role === 'leader' || !Array.isArray(d.msgs)) return;
        this.onMessages(d.msgs, this.cursor);
        if (this._started && !this._filling && Number(d.from) <= this.cursor) {
          this._advance(d.cursor);
        }
        this._seeLeader(d.cursor);
        break;
      case 'state':
        if (this.role === 'leader' || !d.state) return;
        this._emitState({ ...d.state, role: 'follower' });
        this._seeLeader(d.cursor);
        break;
      case 'hello':
        if (this.role === 'leader' && this.transport) {
          this._post({ t: 'state', state: this.state, cursor: this.cursor });
          if (this.presence) this._post({ t: 'presence', list: this.presence });
        }
        break;
      case 'presence':
        if (this.role !== 'leader' && d.list) {
          this.presence = d.list;
          this.onPresence(d.list);
        }
        break;
      case 'limited':
        if (this.role !== 'leader') this.onLimited();
        break;
      case 'config':
        if (this.role === 'leader' && d.config) this.setConfig(d.config, { broadcast: false });
        break;
      case 'kick':
        if (this.transport) this.transport.kick(!!d.force);
        break;
      default:
        break;
    }
  }
}
