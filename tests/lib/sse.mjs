// sse.mjs - the tests' one reader of Server-Sent Events text, as fcgichat
// writes it (API.md): "field: value" lines ending in "\n", a blank line
// ending each block. No I/O: http.mjs and raw.mjs feed it what they read.

// One block: its event, if it has an id or data line ({id, event, data},
// id null when absent, event 'message' unless named, data lines joined
// with "\n"), else null; how many comment lines (": keepalive") it held;
// its retry value, or null.
export function parseBlock(block) {
  const ev = { id: null, event: 'message', data: [] };
  let isEvent = false;
  let comments = 0;
  let retry = null;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) { comments++; continue; }
    const [k, ...rest] = line.split(':');
    const v = rest.join(':').replace(/^ /, '');
    if (k === 'retry') retry = Number(v);
    else if (k === 'id') { ev.id = v; isEvent = true; }
    else if (k === 'event') ev.event = v;
    else if (k === 'data') { ev.data.push(v); isEvent = true; }
  }
  return { event: isEvent ? { ...ev, data: ev.data.join('\n') } : null, comments, retry };
}

// Reads a stream as it comes: push(chunk) returns the blocks the chunk
// completed (parseBlock's answers); a block cut between chunks waits for
// its end, and one the stream never ends is never returned.
export class SseParser {
  constructor() { this.rest = ''; }

  push(chunk) {
    this.rest += chunk;
    const blocks = [];
    let i;
    while ((i = this.rest.indexOf('\n\n')) >= 0) {
      blocks.push(parseBlock(this.rest.slice(0, i)));
      this.rest = this.rest.slice(i + 2);
    }
    return blocks;
  }
}

// The complete events in a whole stream's text, in order.
export function parseEvents(text) {
  return new SseParser().push(text).map((b) => b.event).filter(Boolean);
}
