// private.js - private rooms and direct messages on the page: the
// sidebar's "New private room" and "Direct message" forms, and
// openDirect(user), which opens (making it on first use) the DM with
// another user. A DM is listed as @name; the presence list's "Message
// bob" calls window.fcgichat.openDirect('bob').

import { ROOM_RE } from './util.js';

/** Names from a "bob, carol" field: trimmed, no empties, no repeats. */
export function parseMembers(text) {
  return [...new Set(String(text).split(/[,\n]/).map((s) => s.trim()).filter(Boolean))];
}

/** A sentence for a refused room or DM request, from its ApiError. */
function problemOf(err) {
  if (err.status === 403) return 'Sign in (through the web server) to make private rooms and direct messages.';
  if (err.status === 409) return 'A room of that name exists already; pick another name.';
  return err.message || 'That did not work; try again.';
}

/**
 * Wires the forms. go(room) opens a room; refresh() reloads the room
 * list. Returns openDirect(user) -> Promise of the room's name.
 */
export function setupPrivate({ api, go, refresh, els }) {
  async function openDirect(user) {
    const name = String(user ?? '').trim();
    if (!name) throw new Error('openDirect: whom?');
    const res = await api.openDirect(name);
    await refresh();
    go(res.room);
    return res.room;
  }

  function say(hint, text, bad) {
    hint.textContent = text;
    if (bad) hint.closest('form').dataset.invalid = '';
    else delete hint.closest('form').dataset.invalid;
  }

  els.privateForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = els.privateRoom.value.trim().replace(/^#/, '');
    if (!ROOM_RE.test(name) || name.startsWith('dm-')) {
      say(els.privateHint, 'Room names are 1–64 letters, digits, - or _ (not starting with dm-).', true);
      els.privateRoom.focus();
      return;
    }
    try {
      await api.createRoom(name, parseMembers(els.privateMembers.value));
      els.privateRoom.value = '';
      els.privateMembers.value = '';
      say(els.privateHint, 'Only you and the people you name see it.', false);
      await refresh();
      go(name);
    } catch (err) {
      say(els.privateHint, problemOf(err), true);
    }
  });

  els.directForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = els.directUser.value.trim();
    if (!user) {
      say(els.directHint, 'Whom do you want to write to?', true);
      els.directUser.focus();
      return;
    }
    try {
      await openDirect(user);
      els.directUser.value = '';
      say(els.directHint, 'Only the two of you see it.', false);
    } catch (err) {
      say(els.directHint, problemOf(err), true);
    }
  });

  return openDirect;
}
