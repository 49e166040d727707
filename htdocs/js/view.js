// view.js - DOM rendering: the message list (grouping, day separators,
// keeping the reader's place when older or newer messages arrive, the
// "N new messages" button), the send queue, the connection status and the
// room list. Only text nodes and checked attributes carry user data.

import {
  appendLinkified, formatTime, formatFull, dayKey, dayLabel, nickColor, initial,
} from './text.js';
import { KIND_NAMES } from './transports.js';

/** Messages closer than this from the same sender form one group. */
const GROUP_MS = 5 * 60 * 1000;
/** How close to the bottom (px) still counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** How close to the top (px) starts loading older messages. */
const TOP_SLACK = 400;

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function timeEl(ts) {
  const t = el('time', 'msg-time', formatTime(ts));
  t.dateTime = new Date(ts).toISOString();
  t.title = formatFull(ts);
  return t;
}

export class MessageView {
  /**
   * @param els {scroller, log, history, outbox, marker, empty}
   * @param opts {onNeedOlder(), onRetry(clientId), onDiscard(clientId),
   *              onEdit(clientId), myNick() -> string}
   */
  constructor(els, opts) {
    Object.assign(this, els);
    this.opts = opts;
    this.items = [];
    this.byId = new Map();
    this.deleted = new Set();   // ids a moderator deleted: never shown again
    this.pinned = true;
    this.newCount = 0;
    this.room = '';
    this.historyState = 'loading';
    this.outboxCount = 0;

    this.scroller.addEventListener('scroll', () => this._onScroll(), { passive: true });
    this.marker.addEventListener('click', () => this.scrollToBottom(true));
    this.history.addEventListener('click', (ev) => {
      if (ev.target.closest('button')) this.opts.onNeedOlder(true);
    });
    this.outbox.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-action]');
      const item = b?.closest('[data-client-id]');
      if (!item) return;
      if (b.dataset.action === 'retry') this.opts.onRetry(item.dataset.clientId);
      if (b.dataset.action === 'discard') this.opts.onDiscard(item.dataset.clientId);
      if (b.dataset.action === 'edit') this.opts.onEdit(item.dataset.clientId);
    });
    if (typeof ResizeObserver === 'function') {
      const ro = new ResizeObserver(() => { if (this.pinned) this._toBottom(); });
      ro.observe(this.scroller);
      ro.observe(this.log);
    }
  }

  reset(room) {
    this.room = room;
    this.items = [];
    this.byId.clear();
    this.deleted.clear();
    this.log.replaceChildren();
    this.log.setAttribute('aria-label', `Messages in #${room}`);
    this.pinned = true;
    this._setNew(0);
    this.setHistory('loading');
  }

  get firstId() { return this.items.length ? this.items[0].msg.id : null; }
  get lastId() { return this.items.length ? this.items[this.items.length - 1].msg.id : 0; }
  has(id) { return this.byId.has(id); }
  ids() { return this.items.map((i) => i.msg.id); }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= BOTTOM_SLACK;
  }

  /**
   * Adds messages (any order, duplicates dropped by id). `older`: a page
   * of history above the current view, which keeps the reader's place.
   * `own`: sent by this tab, which scrolls to it. Returns the added ones.
   */
  add(msgs, { older = false, own = false } = {}) {
    const fresh = [];
    const seen = new Set();
    for (const m of msgs) {
      if (!m || !Number.isFinite(m.id) || this.byId.has(m.id) || seen.has(m.id) ||
          this.deleted.has(m.id)) continue;
      if (m.room !== undefined && m.room !== this.room) continue;
      seen.add(m.id);
      fresh.push(m);
    }
    if (!fresh.length) return fresh;
    fresh.sort((a, b) => a.id - b.id);

    const s = this.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    // Where the reader is now (a scroll event may not have run yet).
    const wasPinned = this.atBottom();
    this.pinned = wasPinned;
    this.log.setAttribute('aria-busy', 'true');

    for (const m of fresh) {
      const item = { msg: m, el: this._build(m) };
      const idx = this._insertIndex(m.id);
      const next = this.items[idx];
      this.log.insertBefore(item.el, next ? next.el : null);
      this.items.splice(idx, 0, item);
      this.byId.set(m.id, item);
    }
    // Re-decorate every added item and the one after each (grouping and
    // day separators depend on the previous message).
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i];
      if (!item.decorated || (i > 0 && seen.has(this.items[i - 1].msg.id))) {
        this._decorate(item, this.items[i - 1]);
      }
    }
    this.log.removeAttribute('aria-busy');
    this._updateEmpty();

    if (older && !wasPinned) {
      s.scrollTop = s.scrollHeight - fromBottom;
    } else if (wasPinned || own) {
      this._toBottom();
    } else {
      const others = fresh.filter((m) => m.nick !== this.opts.myNick()).length;
      if (!older && others) this._setNew(this.newCount + others);
    }
    return fresh;
  }

  /**
   * Takes out messages a moderator deleted (by id), shown or not, and
   * keeps them out. Returns how many were shown.
   */
  remove(ids) {
    let n = 0;
    for (const id of ids) {
      this.deleted.add(id);
      const item = this.byId.get(id);
      if (!item) continue;
      const i = this.items.indexOf(item);
      this.items.splice(i, 1);
      this.byId.delete(id);
      item.el.remove();
      // The next one's grouping and day separator depended on this one.
      if (this.items[i]) this._decorate(this.items[i], this.items[i - 1]);
      n += 1;
    }
    if (n) this._updateEmpty();
    return n;
  }

  /** History paging state: "loading", "more", "done" or "error". */
  setHistory(state, message) {
    this.historyState = state;
    const h = this.history;
    h.dataset.state = state;
    h.replaceChildren();
    if (state === 'loading') {
      h.append(el('span', 'history-note', 'Loading messages…'));
    } else if (state === 'more') {
      const b = el('button', 'link-button', 'Load older messages');
      b.type = 'button';
      h.append(b);
    } else if (state === 'done') {
      if (this.items.length) {
        h.append(el('span', 'history-note', `This is the beginning of #${this.room}.`));
      }
    } else if (state === 'error') {
      h.append(el('span', 'history-note error-text', message || 'Could not load messages.'));
      const b = el('button', 'link-button', 'Try again');
      b.type = 'button';
      h.append(b);
    }
    this._updateEmpty();
  }

  scrollToBottom(smooth = false) {
    this.pinned = true;
    if (smooth && !matchMedia('(prefers-reduced-motion: reduce)').matches) {
      this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: 'smooth' });
    } else {
      this._toBottom();
    }
    this._setNew(0);
  }

  /** Near the top with more history to load? (after a page arrived) */
  wantsOlder() {
    return this.historyState === 'more' && this.scroller.scrollTop < TOP_SLACK;
  }

  /** Renders the send queue of this room below the messages. */
  renderOutbox(items) {
    const wasPinned = this.atBottom();
    const shown = items.filter((i) => !(i.status === 'pending' && i.matchedId !== null));
    const nodes = shown.map((item) => this._buildPending(item));
    this.outbox.replaceChildren(...nodes);
    this.outboxCount = shown.length;
    this._updateEmpty();
    if (wasPinned) this._toBottom();
  }

  /** The name changed: mark the messages that are now "mine". */
  refreshMine() {
    const me = this.opts.myNick();
    for (const item of this.items) item.el.classList.toggle('mine', item.msg.nick === me);
  }

  _insertIndex(id) {
    // Usually at the end (live) or the start (history): check those first.
    const n = this.items.length;
    if (!n || this.items[n - 1].msg.id < id) return n;
    if (this.items[0].msg.id > id) return 0;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid].msg.id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  _build(m) {
    const root = el('div', 'msg');
    root.dataset.id = String(m.id);
    const color = `c${nickColor(m.nick)}`;
    const avatar = el('span', `avatar ${color}`, initial(m.nick));
    avatar.setAttribute('aria-hidden', 'true');
    const meta = el('div', 'msg-meta');
    const nick = el('span', `nick ${color}`, m.nick);
    meta.append(nick);
    if (m.user) {
      // Signed in by the web server: the name is theirs, not a chosen one.
      root.classList.add('verified');
      nick.title = m.user;
      const badge = el('span', 'verified-badge', '✓');
      badge.title = `Signed in as ${m.user}`;
      badge.setAttribute('aria-label', 'verified');
      meta.append(badge);
    }
    meta.append(' ', timeEl(m.ts));
    const body = el('div', 'msg-text');
    appendLinkified(body, m.text);
    root.append(avatar, meta, body);
    return root;
  }

  _decorate(item, prev) {
    item.decorated = true;
    const m = item.msg;
    const root = item.el;
    const newDay = !prev || dayKey(prev.msg.ts) !== dayKey(m.ts);
    const cont = !newDay && prev.msg.nick === m.nick &&
      (prev.msg.user ?? null) === (m.user ?? null) &&
      m.ts - prev.msg.ts < GROUP_MS && m.ts >= prev.msg.ts;
    root.classList.toggle('cont', cont);
    root.classList.toggle('mine', m.nick === this.opts.myNick());
    let sep = root.firstElementChild?.classList.contains('day-sep')
      ? root.firstElementChild : null;
    if (newDay) {
      if (!sep) {
        sep = el('div', 'day-sep');
        sep.append(el('span', '', ''));
        root.prepend(sep);
      }
      sep.firstElementChild.textContent = dayLabel(m.ts);
    } else if (sep) {
      sep.remove();
    }
  }

  _buildPending(item) {
    const root = el('div', `msg pending ${item.status === 'failed' ? 'failed' : ''}`);
    root.dataset.clientId = item.client_id;
    const color = `c${nickColor(item.nick)}`;
    const avatar = el('span', `avatar ${color}`, initial(item.nick));
    avatar.setAttribute('aria-hidden', 'true');
    const meta = el('div', 'msg-meta');
    let note;
    if (item.status === 'failed') note = 'Not sent';
    else if (item.retryAt) note = 'Waiting to retry…';
    else note = 'Sending…';
    meta.append(el('span', `nick ${color}`, item.nick), ' ', el('span', 'msg-note', note));
    const body = el('div', 'msg-text');
    appendLinkified(body, item.text);
    root.append(avatar, meta, body);
    if (item.status === 'failed' || item.retryAt) {
      const info = el('div', 'msg-error');
      info.setAttribute('role', item.status === 'failed' ? 'alert' : 'status');
      info.append(el('span', '', item.error || 'The message was not sent.'));
      if (item.status === 'failed') {
        for (const [action, label] of [['retry', 'Retry'], ['edit', 'Edit'], ['discard', 'Delete']]) {
          const b = el('button', 'link-button', label);
          b.type = 'button';
          b.dataset.action = action;
          info.append(' ', b);
        }
      }
      root.append(info);
    }
    return root;
  }

  _updateEmpty() {
    // The first message of a room that was empty: say where it begins.
    if (this.historyState === 'done' && this.items.length && !this.history.firstChild) {
      this.setHistory('done');
      return;
    }
    if (this.historyState === 'done' && !this.items.length) this.history.replaceChildren();
    const empty = !this.items.length && !this.outboxCount &&
      (this.historyState === 'done' || this.historyState === 'more');
    if (this.empty) {
      this.empty.hidden = !empty;
      const name = this.empty.querySelector('[data-room-name]');
      if (name) name.textContent = `#${this.room}`;
    }
  }

  _toBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  _onScroll() {
    this.pinned = this.atBottom();
    if (this.pinned) this._setNew(0);
    if (this.wantsOlder()) this.opts.onNeedOlder(false);
  }

  _setNew(n) {
    this.newCount = n;
    this.marker.hidden = n === 0;
    this.marker.dataset.count = String(n);
    this.marker.textContent = n === 1 ? '1 new message ↓' : `${n} new messages ↓`;
  }
}

const KIND_SHORT = { ws: 'WebSocket', sse: 'SSE', longpoll: 'Long-polling', poll: 'Polling' };

/** Fills the status element from a transport state (see transports.js). */
export function renderStatus(root, s, now = Date.now()) {
  const kind = s.kind || 'ws';
  root.dataset.state = s.state;
  root.dataset.transport = kind;
  root.dataset.mode = s.mode || kind;
  root.dataset.role = s.role || 'solo';
  let text;
  // The countdown is hidden from screen readers: the status is a live
  // region, and a number ticking every second would be read out each time.
  let countdown = '';
  switch (s.state) {
    case 'connected': text = 'connected'; break;
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil(((s.retryAt || now) - now) / 1000));
      text = secs > 0 ? 'reconnecting' : 'reconnecting…';
      if (secs > 0) countdown = ` in ${secs} s`;
      break;
    }
    case 'offline': text = 'offline'; break;
    default: text = 'connecting…';
  }
  const kindText = (s.mode === 'auto' ? 'Auto · ' : '') + (KIND_SHORT[kind] || kind);
  const kindEl = root.querySelector('.status-kind');
  const textEl = root.querySelector('.status-text');
  if (kindEl.textContent !== kindText) kindEl.textContent = kindText;
  if (textEl.textContent !== text) textEl.textContent = text;
  const countEl = root.querySelector('.status-countdown');
  if (countEl && countEl.textContent !== countdown) countEl.textContent = countdown;
  const shared = root.querySelector('.status-shared');
  shared.hidden = s.role !== 'follower';
  const parts = [`${KIND_NAMES[kind] || kind}${s.mode === 'auto' ? ' (chosen by Auto)' : ''}: ${text}${countdown}`];
  if (s.role === 'follower') parts.push('Shared with another tab of this room, which holds the connection.');
  if (s.role === 'leader') parts.push('This tab holds the connection for the other tabs of this room.');
  if (s.error && s.state !== 'connected') parts.push(`Last error: ${s.error}`);
  root.title = parts.join('\n');
}

/** The room list's groups, in order: public rooms, private rooms, DMs. */
const ROOM_GROUPS = [
  { kind: 'public', heading: null },
  { kind: 'private', heading: 'Private rooms' },
  { kind: 'direct', heading: 'Direct messages' },
];

/** A room's kind from its GET /api/rooms entry. */
export function roomKind(r) {
  if (r.direct !== undefined) return 'direct';
  return r.private ? 'private' : 'public';
}

/** How a room is named to people: bob (shown @bob) for a DM, else its name. */
export function roomLabel(r) {
  return roomKind(r) === 'direct' ? r.direct : r.name;
}

function roomItem(r, current, lastSeen) {
  const kind = roomKind(r);
  const li = el('li');
  const a = el('a', 'room-link');
  a.href = `#${r.name}`;
  a.dataset.room = r.name;
  a.dataset.kind = kind;
  if (kind === 'direct') a.dataset.direct = r.direct;
  // Unread: rooms seen before that have moved on since.
  const unread = r.name !== current && lastSeen[r.name] !== undefined &&
    r.last_id > lastSeen[r.name];
  if (r.name === current) a.setAttribute('aria-current', 'page');
  if (unread) a.classList.add('unread');
  a.append(el('span', 'room-hash', kind === 'direct' ? '@' : '#'), el('span', 'room-name', roomLabel(r)));
  if (kind === 'private') {
    a.append(el('span', 'room-lock', 'private'));
    a.title = 'Private: only its members see it';
  } else if (kind === 'direct') {
    a.title = `Direct messages with ${r.direct}`;
  }
  const count = el('span', 'room-count', String(r.messages ?? ''));
  count.title = `${r.messages} message${r.messages === 1 ? '' : 's'}`;
  if (unread) {
    const dot = el('span', 'visually-hidden', ' (new messages)');
    a.append(dot);
  }
  a.append(count);
  li.append(a);
  return li;
}

/**
 * The room list: links to #room, the current one marked; private rooms
 * and DMs (@name of the other person) in groups of their own.
 */
export function renderRooms(list, rooms, current, lastSeen) {
  const all = [...rooms];
  if (current && !all.some((r) => r.name === current)) {
    all.push({ name: current, last_id: 0, messages: 0 });
  }
  const nodes = [];
  for (const g of ROOM_GROUPS) {
    const mine = all.filter((r) => roomKind(r) === g.kind);
    if (!mine.length) continue;
    mine.sort((a, b) => roomLabel(a).localeCompare(roomLabel(b)));
    if (g.heading) {
      const h = el('li', 'room-group', g.heading);
      h.setAttribute('role', 'presentation');
      nodes.push(h);
    }
    for (const r of mine) nodes.push(roomItem(r, current, lastSeen));
  }
  list.replaceChildren(...nodes);
}
