// proxy.mjs - a small HTTP proxy on 127.0.0.1 for the browser tests, in
// front of a real server: every request is passed through as it is (Host
// too, so the server's Origin check sees the page's own origin), and a
// WebSocket upgrade gets what `proxy.upgrade` says:
//   pass    tunnelled to the server; the test can cut the tunnels, mute
//           them (server to browser: a half-open socket) or hold them
//           (browser to server: what the page sends never arrives)
//   refuse  400, as a front end or proxy that will not upgrade
//   ignore  200 with a page, as one that does not know what an upgrade is
//   babble  101, then a text frame that is not chat
//
//   const proxy = await startProxy(srv.url); proxy.url; proxy.upgrades
//   proxy.tunnels() (open ones); proxy.cut(); proxy.mute(); proxy.hold();
//   await proxy.close()
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function answer(sock, status, type, body) {
  sock.end(`HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** An unmasked server text frame (payload under 126 bytes). */
function textFrame(text) {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

const UPGRADES = {
  refuse(req, sock) { answer(sock, '400 Bad Request', 'text/plain', 'no upgrades here'); },
  ignore(req, sock) {
    answer(sock, '200 OK', 'text/html', '<!doctype html><title>Portal</title><p>Welcome!</p>');
  },
  babble(req, sock) {
    const accept = crypto.createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}${WS_GUID}`).digest('base64');
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
      `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sock.write(textFrame('<html><body>Please log in</body></html>'));
  },
  pass(req, sock, head, proxy) {
    const up = net.connect(proxy.target.port, proxy.target.hostname);
    const tunnel = { sock, up, muted: false, held: false };
    proxy.open.add(tunnel);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    up.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) up.write(head);
    up.on('data', (d) => { if (!tunnel.muted) sock.write(d); });
    sock.on('data', (d) => { if (!tunnel.held) up.write(d); });
    const end = () => {
      proxy.open.delete(tunnel);
      sock.destroy();
      up.destroy();
    };
    for (const s of [sock, up]) {
      s.on('error', end);
      s.on('close', end);
    }
  },
};

export async function startProxy(target, { upgrade = 'pass' } = {}) {
  const proxy = {
    target: new URL(target), upgrade, upgrades: 0, open: new Set(), raw: new Set(), url: '',
    tunnels() { return this.open.size; },
    /** Ends every open tunnel at once, as a dropped connection. */
    cut() { for (const t of [...this.open]) { t.sock.destroy(); t.up.destroy(); } },
    /** The open tunnels stop passing the server's bytes to the browser. */
    mute() { for (const t of this.open) t.muted = true; },
    /** The open tunnels stop passing the browser's bytes to the server. */
    hold() { for (const t of this.open) t.held = true; },
    close() {
      this.cut();
      // Upgraded sockets are no longer the HTTP server's to close.
      for (const s of this.raw) s.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
  const server = http.createServer((req, res) => {
    const up = http.request({
      host: proxy.target.hostname, port: proxy.target.port, method: req.method,
      path: req.url, headers: req.headers, agent: false,
    }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    // The browser gave up (an aborted long-poll, a closed stream): so does
    // the request to the server.
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, sock, head) => {
    proxy.upgrades += 1;
    proxy.raw.add(sock);
    sock.on('close', () => proxy.raw.delete(sock));
    sock.on('error', () => {});
    UPGRADES[proxy.upgrade](req, sock, head, proxy);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  return proxy;
}
