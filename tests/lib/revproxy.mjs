// revproxy.mjs - a real reverse proxy in front of a test server: a second
// lighttpd with mod_proxy on its own loopback port, passing every request
// (WebSocket upgrades too) to the server and appending the address it was
// reached from to X-Forwarded-For, as a load balancer or CDN does. It
// connects to the server from 127.0.0.1, the address the server is told
// to trust (startServer's env FCGICHAT_TRUSTED_PROXIES), so visitors who
// reach it from 127.0.0.2, 127.0.0.3 ... (request's localAddress) are
// told apart by the server, and those who reach the server directly are
// not believed.
//   const proxy = await startReverseProxy(srv); proxy.url; await proxy.stop()
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { get } from './http.mjs';
import { freePort, waitFor } from './server.mjs';

export const PROXY_ADDRESS = '127.0.0.1';

export async function startReverseProxy(srv) {
  const dir = fs.mkdtempSync(path.join(srv.dir, 'revproxy-'));
  const port = await freePort();
  const conf = path.join(dir, 'lighttpd.conf');
  fs.writeFileSync(conf, [
    'server.modules = ( "mod_proxy" )',
    `server.bind = "127.0.0.1"`,
    `server.port = ${port}`,
    `server.document-root = "${dir}"`,
    // Stream answers (event streams) as they come; keep WebSockets open.
    'server.stream-response-body = 2',
    'server.max-write-idle = 360',
    `proxy.server = ( "" => (( "host" => "127.0.0.1", "port" => ${srv.port} )) )`,
    'proxy.header = ( "upgrade" => "enable" )',
    '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'error.log'), 'a');
  const proc = spawn('/usr/sbin/lighttpd', ['-D', '-f', conf], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`reverse proxy exited: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    return (await get(url, '/api/health')).status === 200;
  }, { what: 'the reverse proxy to pass /api/health' });
  return {
    url, port,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
}
