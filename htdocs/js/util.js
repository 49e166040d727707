// util.js - small helpers shared by the other modules: backoff with jitter,
// Retry-After parsing, abortable sleep, ids, validation rules from API.md.

/** Room names the server accepts (API.md "Names and limits"). */
export const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The longest text the server stores, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 4000;

/** The longest name, in code points, after trimming. */
export const MAX_NICK = 32;

const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const TEXT_CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Delay before retry number `attempt` (1-based): exponential from `base`,
 * capped at `cap`, with "equal jitter" (a random point in the upper half),
 * so a crowd of clients that lost the server at the same moment does not
 * come back at the same moment.
 */
export function backoffDelay(attempt, { base = 1000, cap = 30000 } = {}) {
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/** Retry-After header (delta seconds or HTTP date) in ms, or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === '') return null;
  const s = String(value).trim();
  if (/^\d+$/.test(s)) return Math.min(Number(s), 3600) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.min(t - now, 3600 * 1000));
}

/** Resolves after `ms`, or rejects with an AbortError when `signal` fires. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(abortError()); return; }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() { clearTimeout(timer); reject(abortError()); }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError() {
  return new DOMException('aborted', 'AbortError');
}

export function isAbort(err) {
  return err?.name === 'AbortError';
}

/** A random UUID; crypto.randomUUID exists only in secure contexts. */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A promise with its resolve function outside. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

/** How the server will store the text: CRLF and lone CR become LF. */
export function normalizeText(text) {
  return String(text).replace(/\r\n?/g, '\n');
}

export function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/** Trim as the server does (Unicode White_Space; JS trim is close enough). */
export function trimNick(nick) {
  return String(nick).trim();
}

/** Problem with a name as a sentence, or null when the server will take it. */
export function nickProblem(nick) {
  const n = trimNick(nick);
  if (!n) return 'Choose a name first.';
  if ([...n].length > MAX_NICK) return `Names are at most ${MAX_NICK} characters.`;
  if (CONTROL_RE.test(n)) return 'Names cannot contain control characters.';
  return null;
}

/** Problem with a message text as a sentence, or null. */
export function textProblem(text) {
  const t = normalizeText(text);
  if (!t.trim()) return 'Type a message first.';
  const bytes = utf8Length(t);
  if (bytes > MAX_TEXT_BYTES) {
    return `This message is too long (${bytes} of ${MAX_TEXT_BYTES} bytes).`;
  }
  if (TEXT_CONTROL_RE.test(t)) return 'Messages cannot contain control characters.';
  return null;
}
