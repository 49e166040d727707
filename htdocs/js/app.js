// app.js - wiring: reads the settings (API base from <meta name=
// "fcgichat-api">, name/transport from localStorage, room from the URL
// hash), loads history, runs the shared live connection, sends through the
// outbox, and keeps the page (title, status, room list) up to date.
//
// Debug hook for tests: window.fcgichat.{state(), transport(), lastId(),
// room(), role(), ids(), outbox()}; the status element also carries
// data-state, data-transport, data-mode and data-role. For other parts of
// the page (the presence list's "Message bob"): window.fcgichat.
// openDirect(user) opens the DM with user (private.js).

import { Api, Outbox } from './api.js';
import { createTransport, KINDS } from './transports.js';
import { SharedLive } from './share.js';
import { PresenceList } from './presence.js';
import { MessageView, renderStatus, renderRooms, roomKind, roomLabel } from './view.js';
import { setupPrivate } from './private.js';
import {
  ROOM_RE, MAX_TEXT_BYTES, backoffDelay, nickProblem, textProblem,
  normalizeText, utf8Length, trimNick, sleep, isAbort,
} from './util.js';

const HISTORY_PAGE = 50;
const DEFAULT_ROOM = 'lobby';
const ROOMS_REFRESH_MS = 30000;

const $ = (id) => document.getElementById(id);
const storage = safeLocalStorage();

const els = {
  app: $('app'),
  status: $('status'),
  transport: $('transport'),
  interval: $('poll-interval'),
  intervalField: $('interval-field'),
  roomName: $('room-name'),
  rooms: $('rooms'),
  roomsToggle: $('rooms-toggle'),
  sidebar: $('sidebar'),
  scrim: $('scrim'),
  joinForm: $('join-form'),
  joinRoom: $('join-room'),
  joinHint: $('join-hint'),
  privateForm: $('private-form'),
  privateRoom: $('private-room'),
  privateMembers: $('private-members'),
  privateHint: $('private-hint'),
  directForm: $('direct-form'),
  directUser: $('direct-user'),
  directHint: $('direct-hint'),
  composer: $('composer'),
  nick: $('nick'),
  nickField: $('nick-field'),
  signedIn: $('signed-in'),
  me: $('me'),
  message: $('message'),
  counter: $('counter'),
  error: $('composer-error'),
};

// The user the web server signed in (GET /api/me), null when no one: then
// messages go out under that name (the server takes it, not the Name box).
let signedInAs = null;

const api = new Api(apiBase());
const presence = new PresenceList($('presence'), () => signedInAs);
const outbox = new Outbox(api);
const prefs = {
  transport: validKind(storage.get('fcgichat.transport')) || 'auto',
  interval: clampInterval(storage.get('fcgichat.interval')),
};
const lastSeen = readJson('fcgichat.seen', {});

let room = null;
let gen = 0;
let live = null;
let liveState = { mode: prefs.transport, kind: 'ws', state: 'connecting', role: 'solo' };
let browserOffline = navigator.onLine === false;
let buffered = null;      // live messages that came before the history
let historyKick = null;   // retries the first history load at once
let olderLoading = false;
let unread = 0;
let rooms = [];

const view = new MessageView({
  scroller: $('scroller'),
  log: $('messages'),
  history: $('history'),
  outbox: $('outbox'),
  marker: $('new-marker'),
  empty: $('empty'),
}, {
  onNeedOlder: (clicked) => {
    if (buffered) { if (clicked && historyKick) historyKick(); return; }
    if (clicked && view.historyState === 'error') view.setHistory('more');
    loadOlder();
  },
  onRetry: (id) => outbox.retry(id),
  onDiscard: (id) => outbox.discard(id),
  onEdit: (id) => {
    // Back into the composer to be fixed (and sent as a new message).
    const item = outbox.find(id);
    if (!item) return;
    els.message.value = els.message.value ? `${els.message.value}\n${item.text}` : item.text;
    outbox.discard(id);
    updateCounter();
    autosize();
    els.message.focus();
  },
  myNick: () => myName(),
});

/** The name this page sends under: the signed-in user's, else the Name box's. */
function myName() {
  return signedInAs ?? trimNick(els.nick.value);
}

/** Shows who the server says this is, instead of the Name box. */
function signIn(user) {
  if (typeof user !== 'string' || !user) return;
  signedInAs = user;
  els.me.textContent = user;
  els.me.title = user;
  els.signedIn.hidden = false;
  els.nickField.hidden = true;
  view.refreshMine();
  presence.show({ people: presence.people });   // no "Message" to oneself
  if (document.activeElement === els.nick || document.activeElement === document.body) els.message.focus();
}

// ---- rooms ---------------------------------------------------------------

function roomFromHash() {
  let name = '';
  try {
    name = decodeURIComponent(location.hash.replace(/^#/, ''));
  } catch { name = ''; }
  return ROOM_RE.test(name) ? name : null;
}

function enterRoom(name) {
  if (name === room) return;
  gen += 1;
  const g = gen;
  live?.stop();
  room = name;
  unread = 0;
  olderLoading = false;
  buffered = [];
  els.roomName.textContent = name;
  els.message.placeholder = `Message #${name}`;
  updateTitle();
  view.reset(name);
  presence.clear();
  view.renderOutbox(outbox.forRoom(name));
  renderRoomList();

  live = new SharedLive({
    room: name,
    scope: api.base,
    config: { transport: prefs.transport, interval: prefs.interval, nick: presentAs() },
    createTransport: (cfg) => createTransport(cfg.transport, {
      api, room: name, interval: cfg.interval, nick: () => cfg.nick,
    }),
    fetchSince: (since) => api.messages(name, { since, limit: 1000 }),
  });
  live.onMessages = (msgs) => { if (g === gen) receive(msgs); };
  live.onState = (s) => { if (g === gen) setLiveState(s); };
  live.onLimited = () => { if (g === gen) reloadRoom(); };
  setLiveState({ ...live.state });
  live.onPresence = (list) => { if (g === gen && list.room === name) presence.show(list); };
  live.open();
  loadHistory(g);
}

/**
 * The server pruned messages after our cursor (retention): start the room
 * afresh from its newest page. Not more than every few seconds.
 */
let lastReload = 0;
function reloadRoom() {
  const name = room;
  const wait = Math.max(0, lastReload + 3000 - Date.now());
  lastReload = Date.now() + wait;
  setTimeout(() => {
    if (room !== name) return;
    room = null;
    enterRoom(name);
  }, wait);
}

/** The newest page of the room, then the live connection from its last_id. */
async function loadHistory(g) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await api.messages(room, { limit: HISTORY_PAGE });
      if (g !== gen) return;
      view.add(res.messages);
      view.setHistory(res.messages.length >= HISTORY_PAGE ? 'more' : 'done');
      const early = buffered;
      buffered = null;
      if (early.length) receive(early);
      live.start(Number(res.last_id) || 0);
      markSeen();
      if (view.wantsOlder()) loadOlder();
      return;
    } catch (err) {
      if (g !== gen) return;
      const delay = backoffDelay(attempt, { cap: 15000 });
      view.setHistory('error', `${err.message} Trying again…`);
      setLiveState({
        ...liveState, state: browserOffline ? 'offline' : 'reconnecting',
        retryAt: Date.now() + delay, error: err.message,
      });
      const ctl = new AbortController();
      historyKick = () => ctl.abort();
      try {
        await sleep(delay, ctl.signal);
      } catch (e) {
        if (!isAbort(e)) throw e;
      } finally {
        historyKick = null;
      }
      if (g !== gen) return;
      view.setHistory('loading');
    }
  }
}

/** One page of older messages, above the first one shown. */
async function loadOlder() {
  if (olderLoading || buffered || view.historyState !== 'more' || view.firstId === null) return;
  olderLoading = true;
  const g = gen;
  view.setHistory('loading');
  try {
    const res = await api.messages(room, { before: view.firstId, limit: HISTORY_PAGE });
    if (g !== gen) return;
    view.add(res.messages, { older: true });
    view.setHistory(res.messages.length >= HISTORY_PAGE ? 'more' : 'done');
  } catch (err) {
    if (g !== gen) return;
    view.setHistory('error', `Could not load older messages: ${err.message}`);
  } finally {
    if (g === gen) olderLoading = false;
  }
  if (g === gen && view.wantsOlder()) requestAnimationFrame(() => loadOlder());
}

/** Messages from the live connection (this tab's or the leader tab's). */
function receive(all) {
  if (buffered) {
    buffered.push(...all);
    return;
  }
  // A moderator deleted these: {room, deletes: id} among the messages.
  const gone = all.filter((m) => m && m.deletes !== undefined && m.room === room);
  const removed = gone.length ? view.remove(gone.map((m) => m.deletes)) : 0;
  const shownEntry = rooms.find((r) => r.name === room);
  if (removed && shownEntry) shownEntry.messages = Math.max(0, shownEntry.messages - removed);
  if (removed) renderRoomList();
  const msgs = all.filter((m) => m && m.deletes === undefined);
  const first = view.firstId;
  // Older than the first one shown while there is more history: paging
  // brings those, in their place.
  const wanted = msgs.filter((m) => m && m.room === room &&
    !(view.historyState !== 'done' && first !== null && m.id < first));
  const added = view.add(wanted);
  if (!added.length) return;
  for (const m of added) outbox.matchLive(m);
  const entry = rooms.find((r) => r.name === room);
  if (entry) {
    entry.messages += added.length;
    entry.last_id = Math.max(entry.last_id, added[added.length - 1].id);
  } else {
    rooms.push({ name: room, messages: added.length, last_id: added[added.length - 1].id });
  }
  if (document.hidden) {
    const me = myName();
    unread += added.filter((m) => m.nick !== me).length;
    updateTitle();
  } else {
    markSeen();
  }
  renderRoomList();
}

async function refreshRooms() {
  try {
    const res = await api.rooms();
    if (Array.isArray(res.rooms)) rooms = res.rooms;
    renderRoomList();
  } catch { /* the list stays as it was */ }
}

function renderRoomList() {
  renderRooms(els.rooms, rooms, room, lastSeen);
  showRoomName();
}

/** The title bar: #room, or @bob for a DM. */
function showRoomName() {
  const entry = rooms.find((r) => r.name === room);
  const direct = entry && roomKind(entry) === 'direct';
  const label = entry ? roomLabel(entry) : room;
  els.roomName.textContent = label;
  els.roomName.previousElementSibling.textContent = direct ? '@' : '#';
  els.roomName.closest('h1').dataset.kind = entry ? roomKind(entry) : 'public';
  els.message.placeholder = `Message ${direct ? '@' : '#'}${label}`;
}

function markSeen() {
  if (!room || document.hidden) return;
  const id = Math.max(view.lastId, live ? live.cursor : 0);
  if (id > (lastSeen[room] || 0)) {
    lastSeen[room] = id;
    storage.set('fcgichat.seen', JSON.stringify(lastSeen));
  }
}

// ---- status ----------------------------------------------------------------

function setLiveState(s) {
  const was = liveState.state;
  liveState = s;
  showStatus();
  if (s.state === 'connected' && was !== 'connected') outbox.kick();
}

function showStatus() {
  const s = browserOffline ? { ...liveState, state: 'offline' } : liveState;
  renderStatus(els.status, s);
}

function updateTitle() {
  const entry = rooms.find((r) => r.name === room);
  const shown = entry && roomKind(entry) === 'direct' ? `@${entry.direct}` : `#${room}`;
  document.title = `${unread ? `(${unread}) ` : ''}${shown} · fcgichat`;
}

// ---- sending -----------------------------------------------------------------

function showError(text) {
  els.error.textContent = text || '';
  els.error.hidden = !text;
}

function send() {
  const nickErr = signedInAs ? null : nickProblem(els.nick.value);
  if (nickErr) {
    els.nick.setAttribute('aria-invalid', 'true');
    showError(nickErr);
    els.nick.focus();
    return;
  }
  // Drop blank lines before and white space after; keep the rest as typed.
  const text = normalizeText(els.message.value)
    .replace(/^(?:[ \t]*\n)+/, '').replace(/\s+$/, '');
  if (!text) {
    els.message.focus();
    return;
  }
  const textErr = textProblem(text);
  if (textErr) {
    showError(textErr);
    return;
  }
  showError('');
  if (!signedInAs) saveNick();
  followPresence();
  outbox.add(room, myName(), text);
  els.message.value = '';
  updateCounter();
  autosize();
  view.scrollToBottom();
  els.message.focus();
}

outbox.onChange = (item) => {
  if (!item || item.room === room) view.renderOutbox(outbox.forRoom(room));
};

// While this tab's WebSocket is up, sends of its room go over it.
outbox.viaSocket = (r, body) => (live ? live.send(r, body) : null);

outbox.onSent = (item, msg) => {
  if (msg && msg.room === room) view.add([msg], { own: true });
};

function updateCounter() {
  const bytes = utf8Length(normalizeText(els.message.value));
  const show = bytes > MAX_TEXT_BYTES * 0.85;
  els.counter.hidden = !show;
  if (show) {
    els.counter.textContent = `${bytes} / ${MAX_TEXT_BYTES}`;
    els.counter.toggleAttribute('data-over', bytes > MAX_TEXT_BYTES);
  }
}

const fieldSizing = typeof CSS !== 'undefined' && CSS.supports?.('field-sizing', 'content');
function autosize() {
  if (fieldSizing) return;
  const ta = els.message;
  ta.style.height = 'auto';
  ta.style.height = `${Math.min(ta.scrollHeight, 192)}px`;
}

function saveNick() {
  storage.set('fcgichat.nick', trimNick(els.nick.value));
}

/** The name this page is present under: the one typed, when valid. */
function presentAs() {
  return nickProblem(els.nick.value) ? '' : trimNick(els.nick.value);
}

/** A name saved: the live connection is present under it (reopened). */
function followPresence() {
  live?.setConfig({ nick: presentAs() });
}
// ---- events --------------------------------------------------------------------

els.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  send();
});

els.message.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.ctrlKey &&
      !ev.metaKey && !ev.isComposing && ev.keyCode !== 229) {
    ev.preventDefault();
    send();
  }
});

els.message.addEventListener('input', () => {
  updateCounter();
  autosize();
  if (!els.error.hidden && !els.nick.getAttribute('aria-invalid')) showError('');
});

els.nick.addEventListener('input', () => {
  if (els.nick.getAttribute('aria-invalid')) {
    els.nick.removeAttribute('aria-invalid');
    showError('');
  }
  saveNick();
  view.refreshMine();
});

els.nick.addEventListener('change', followPresence);
els.nick.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    ev.preventDefault();
    els.message.focus();
  }
});

els.transport.addEventListener('change', () => {
  prefs.transport = validKind(els.transport.value) || 'auto';
  storage.set('fcgichat.transport', prefs.transport);
  applyPrefs();
});

els.interval.addEventListener('change', () => {
  prefs.interval = clampInterval(els.interval.value);
  els.interval.value = String(prefs.interval);
  storage.set('fcgichat.interval', String(prefs.interval));
  applyPrefs();
});

function applyPrefs() {
  els.transport.value = prefs.transport;
  els.interval.value = String(prefs.interval);
  els.intervalField.hidden = prefs.transport !== 'poll';
  live?.setConfig({ transport: prefs.transport, interval: prefs.interval });
}

// Another tab changed the name or the transport.
window.addEventListener('storage', (ev) => {
  if (ev.key === 'fcgichat.transport' || ev.key === 'fcgichat.interval') {
    prefs.transport = validKind(storage.get('fcgichat.transport')) || 'auto';
    prefs.interval = clampInterval(storage.get('fcgichat.interval'));
    applyPrefs();
  } else if (ev.key === 'fcgichat.nick' && document.activeElement !== els.nick) {
    els.nick.value = ev.newValue || '';
    view.refreshMine();
  }
});

window.addEventListener('hashchange', () => {
  const name = roomFromHash();
  if (name) enterRoom(name);
  else history.replaceState(null, '', `#${room || DEFAULT_ROOM}`);
  closeDrawer();
});

els.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = els.joinRoom.value.trim().replace(/^#/, '');
  if (!ROOM_RE.test(name)) {
    els.joinForm.dataset.invalid = '';
    els.joinRoom.setAttribute('aria-invalid', 'true');
    els.joinHint.textContent = 'Room names are 1–64 letters, digits, - or _.';
    els.joinRoom.focus();
    return;
  }
  delete els.joinForm.dataset.invalid;
  els.joinRoom.removeAttribute('aria-invalid');
  els.joinRoom.value = '';
  location.hash = `#${name}`;
  els.message.focus();
});

// Phone: the room list is a drawer.
function openDrawer() {
  els.app.dataset.drawer = 'open';
  els.roomsToggle.setAttribute('aria-expanded', 'true');
  els.scrim.hidden = false;
  (els.rooms.querySelector('[aria-current]') || els.joinRoom).focus();
}
function closeDrawer() {
  if (els.app.dataset.drawer !== 'open') return;
  els.app.dataset.drawer = 'closed';
  els.roomsToggle.setAttribute('aria-expanded', 'false');
  els.scrim.hidden = true;
}
els.roomsToggle.addEventListener('click', () => {
  if (els.app.dataset.drawer === 'open') closeDrawer();
  else openDrawer();
});
els.scrim.addEventListener('click', closeDrawer);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && els.app.dataset.drawer === 'open') {
    closeDrawer();
    els.roomsToggle.focus();
  }
});
els.rooms.addEventListener('click', (ev) => {
  if (ev.target.closest('a')) closeDrawer();
});

// Coming back: the tab shown again, the network back, the laptop awake.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  unread = 0;
  updateTitle();
  markSeen();
  live?.kick(false);
  outbox.kick();
  refreshRooms();
});

window.addEventListener('online', () => {
  browserOffline = false;
  showStatus();
  live?.kick(true);
  if (historyKick) historyKick();
  outbox.kick();
});

window.addEventListener('offline', () => {
  browserOffline = true;
  showStatus();
});

window.addEventListener('pageshow', (ev) => {
  if (ev.persisted) live?.kick(true);
});

let lastTick = Date.now();
setInterval(() => {
  const now = Date.now();
  // A visible tab's timer ran late by far more than throttling explains:
  // the machine slept. Connections may be dead without knowing it.
  if (now - lastTick > 30000 && !document.hidden) {
    live?.kick(true);
    if (historyKick) historyKick();
    outbox.kick();
  }
  lastTick = now;
  if (liveState.state === 'reconnecting') showStatus();
}, 1000);

setInterval(() => { if (!document.hidden) refreshRooms(); }, ROOMS_REFRESH_MS);

// ---- private rooms and DMs (private.js) -------------------------------------

const openDirect = setupPrivate({
  api,
  els,
  refresh: refreshRooms,
  go: (name) => {
    location.hash = `#${name}`;
    closeDrawer();
    els.message.focus();
  },
});

// ---- start -----------------------------------------------------------------

els.nick.value = storage.get('fcgichat.nick') || '';
applyPrefs();
if (!roomFromHash()) history.replaceState(null, '', `#${DEFAULT_ROOM}`);
enterRoom(roomFromHash() || DEFAULT_ROOM);
refreshRooms();
if (!els.nick.value) els.nick.focus();
else els.message.focus();
api.me().then((r) => signIn(r.user)).catch(() => { /* an older server: no /me */ });

window.fcgichat = {
  state: () => (browserOffline ? 'offline' : liveState.state),
  transport: () => liveState.kind,
  mode: () => liveState.mode,
  role: () => liveState.role,
  lastId: () => (live ? live.cursor : 0),
  room: () => room,
  user: () => signedInAs,
  ids: () => view.ids(),
  historyState: () => view.historyState,
  openDirect: (user) => openDirect(user),
  presence: () => presence.people.map((p) => p.nick),
  outbox: () => outbox.items.map(({ client_id, room: r, text, status, error }) =>
    ({ client_id, room: r, text, status, error })),
};
document.documentElement.dataset.ready = 'true';

// ---- helpers -------------------------------------------------------------------

function apiBase() {
  const meta = document.querySelector('meta[name="fcgichat-api"]');
  const raw = (meta?.getAttribute('content') || '').trim() || '/api';
  const u = new URL(raw, document.baseURI);
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
}

function validKind(k) {
  return k === 'auto' || KINDS.includes(k) ? k : null;
}

function clampInterval(v) {
  const n = Math.round(Number(v));
  return Number.isFinite(n) && n >= 1 ? Math.min(60, n) : 3;
}

function readJson(key, fallback) {
  try {
    const v = JSON.parse(storage.get(key) || 'null');
    return v && typeof v === 'object' ? v : fallback;
  } catch {
    return fallback;
  }
}

function safeLocalStorage() {
  let ls = null;
  try {
    ls = window.localStorage;
  } catch { ls = null; }
  return {
    get(k) { try { return ls ? ls.getItem(k) : null; } catch { return null; } },
    set(k, v) { try { ls?.setItem(k, v); } catch { /* full or disabled */ } },
  };
}
