// text.js - turning message data into DOM safely. User data only ever
// reaches the page through text nodes and checked attributes; links are
// made with createElement and only for http: and https: URLs.

const URL_RE = /\bhttps?:\/\/[^\s<>"'`\u00a0]+/gi;
const TRAILING = /[.,;:!?*'"\u2019\u201d]$/;
const PAIRS = { ')': '(', ']': '[', '}': '{' };

/** Drop trailing punctuation and unbalanced closing brackets of a URL. */
export function trimUrl(url) {
  let u = url;
  for (;;) {
    const last = u.at(-1);
    if (TRAILING.test(u)) {
      u = u.slice(0, -1);
    } else if (PAIRS[last]) {
      const open = u.split(PAIRS[last]).length - 1;
      const close = u.split(last).length - 1;
      if (close > open) u = u.slice(0, -1);
      else break;
    } else {
      break;
    }
  }
  return u;
}

/** The URL as an href when it is http(s), else null. */
export function safeHref(text) {
  try {
    const u = new URL(text);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
  } catch { /* not a URL */ }
  return null;
}

/** Appends `text` to `parent` as text nodes, with its URLs as links. */
export function appendLinkified(parent, text) {
  let last = 0;
  URL_RE.lastIndex = 0;
  for (const m of text.matchAll(URL_RE)) {
    const url = trimUrl(m[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const a = document.createElement('a');
    a.href = href;
    a.textContent = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    parent.append(a);
    last = m.index + url.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const dayFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
});
const dayFmtShort = new Intl.DateTimeFormat(undefined, {
  weekday: 'long', day: 'numeric', month: 'long',
});

export function formatTime(ts) { return timeFmt.format(new Date(ts)); }
export function formatFull(ts) { return fullFmt.format(new Date(ts)); }

export function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday" or the date, for a day separator. */
export function dayLabel(ts, now = Date.now()) {
  const k = dayKey(ts);
  if (k === dayKey(now)) return 'Today';
  const y = new Date(now);
  y.setDate(y.getDate() - 1);
  if (k === dayKey(y.getTime())) return 'Yesterday';
  const d = new Date(ts);
  return (d.getFullYear() === new Date(now).getFullYear() ? dayFmtShort : dayFmt).format(d);
}

/** One of 10 colours for a name, the same on every page load. */
export function nickColor(nick) {
  let h = 2166136261;
  for (const ch of nick) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % 10;
}

/** The first letter of a name, for its avatar. */
export function initial(nick) {
  const first = [...nick.trim()][0] || '?';
  return first.toLocaleUpperCase();
}
