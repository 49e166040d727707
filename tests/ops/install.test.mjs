// install.test.mjs - `make install` and `make uninstall`: every file in its
// documented place (DESTDIR), the man page complete and clean, and the
// installed snippets working when enabled the Debian way on copies of this
// system's stock lighttpd and Apache configurations (lighty-enable-mod and
// a2enconf run on the copy), with the worker running as www-data, the
// WebSocket included. The real /etc is only read.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, waitFor } from '../lib/server.mjs';
import { get, send, openEvents, waitingNow } from '../lib/http.mjs';
import { openWs, framesOf } from '../frontends/ws-client.mjs';

const isRoot = process.getuid() === 0;
const TOKEN = 'install-test-token-0123456789';
const tmps = [];
after(() => { for (const d of tmps) fs.rmSync(d, { recursive: true, force: true }); });

function tmpdir(name) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `fcgichat-${name}-`));
  fs.chmodSync(d, 0o755);   // www-data walks through it
  tmps.push(d);
  return d;
}

function make(args) {
  // Not the jobserver of a `make test` around us.
  const env = { ...process.env, MAKEFLAGS: '', MFLAGS: '', MAKELEVEL: '' };
  const r = spawnSync('make', ['-s', '--no-print-directory', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 0, `make ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// Every file under dir, relative, sorted.
function tree(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const mode = (p) => fs.statSync(p).mode & 0o7777;
const settings = () => execFileSync(path.join(ROOT, 'cgi-bin/fcgichat.fcgi'), ['--help'], { encoding: 'utf8' })
  .split('\n').map((l) => l.match(/^\s+(FCGICHAT_[A-Z_]+)/)?.[1]).filter(Boolean);

describe('make install', () => {
  test('DESTDIR, PREFIX=/usr: the documented layout, snippets in /etc (not enabled)', () => {
    const d = tmpdir('destdir');
    make(['install', `DESTDIR=${d}`, 'PREFIX=/usr']);
    const files = tree(d);
    const want = [
      'usr/lib/fcgichat/fcgichat.fcgi',
      'usr/sbin/fcgichat',
      'usr/share/man/man8/fcgichat.8',
      'usr/share/fcgichat/htdocs/index.html',
      'usr/share/fcgichat/htdocs/style.css',
      'usr/share/fcgichat/htdocs/js/app.js',
      'usr/share/fcgichat/sql/001_init.sql',
      'usr/share/fcgichat/sql/002_moderation.sql',
      'usr/share/fcgichat/sql/README.md',
      'usr/share/fcgichat/sql/pg/001_init.sql',
      'usr/share/fcgichat/sql/pg/002_moderation.sql',
      'usr/share/fcgichat/sql/pg/README.md',
      'usr/share/fcgichat/conf/lighttpd-fcgichat.conf',
      'usr/share/fcgichat/conf/50-fcgichat.conf',
      'usr/share/doc/fcgichat/INSTALL.md',
      'etc/lighttpd/conf-available/50-fcgichat.conf',
    ];
    for (const f of want) assert.ok(files.includes(f), `${f} missing; have:\n${files.join('\n')}`);
    for (const f of fs.readdirSync(path.join(ROOT, 'htdocs/js'))) {
      assert.ok(files.includes(`usr/share/fcgichat/htdocs/js/${f}`), f);
    }
    if (fs.existsSync(path.join(ROOT, 'conf/apache-proxy-fcgi.conf'))) {
      assert.ok(files.includes('etc/apache2/conf-available/fcgichat.conf'));
    }
    if (fs.existsSync(path.join(ROOT, 'conf/apache-fcgid.conf'))) {
      assert.ok(files.includes('etc/apache2/conf-available/fcgichat-fcgid.conf'));
    }
    assert.ok(!files.some((f) => f.includes('conf-enabled')), 'install enables nothing');
    assert.ok(!files.some((f) => f.startsWith('var/')), 'the data directory is made by install-var');
    assert.ok(!files.some((f) => /cgi-bin/.test(f)), 'never in a cgi-bin directory');
    assert.equal(mode(path.join(d, 'usr/lib/fcgichat/fcgichat.fcgi')), 0o755);
    assert.equal(mode(path.join(d, 'usr/share/fcgichat/htdocs/index.html')), 0o644);
    assert.equal(fs.readlinkSync(path.join(d, 'usr/sbin/fcgichat')), '/usr/lib/fcgichat/fcgichat.fcgi');
    const v = execFileSync(path.join(d, 'usr/lib/fcgichat/fcgichat.fcgi'), ['--version'], { encoding: 'utf8' });
    assert.match(v, /^fcgichat \d+\.\d+\.\d+\n$/);

    // The lighttpd snippet: the installed paths, then the project's snippet.
    const lt = fs.readFileSync(path.join(d, 'etc/lighttpd/conf-available/50-fcgichat.conf'), 'utf8');
    assert.match(lt, /^var\.fcgichat_bin = "\/usr\/lib\/fcgichat\/fcgichat\.fcgi"$/m);
    assert.match(lt, /^var\.fcgichat_var = "\/var\/lib\/fcgichat"$/m);
    // One WebSocket socket per worker process, in the state directory.
    const procs = Number(/^var\.fcgichat_procs = (\d+)$/m.exec(lt)[1]);
    const socks = Array.from({ length: procs }, (_, i) => `/var/lib/fcgichat/ws-${i}.sock`);
    assert.ok(lt.includes(`var.fcgichat_ws_sockets = "${socks.join(' ')}"\n`), 'the WebSocket sockets');
    assert.ok(lt.includes(`var.fcgichat_ws_backends = ( ${socks.map((x) => `("socket" => "${x}")`).join(', ')} )\n`), 'the WebSocket backends');
    assert.match(lt, /^alias\.url \+= \( "\/chat\/" => "\/usr\/share\/fcgichat\/htdocs\/" \)$/m);
    const snippet = fs.readFileSync(path.join(ROOT, 'conf/lighttpd-fcgichat.conf'), 'utf8');
    assert.ok(lt.includes(snippet.slice(snippet.indexOf('\n\n') + 2)), 'the snippet, inlined whole');
    for (const f of files.filter((x) => x.startsWith('etc/apache2/'))) {
      const a = fs.readFileSync(path.join(d, f), 'utf8');
      assert.match(a, /^Define FCGICHAT_BIN \/usr\/lib\/fcgichat\/fcgichat\.fcgi$/m);
      assert.match(a, /^Alias \/chat\/ "\/usr\/share\/fcgichat\/htdocs\/"$/m);
      assert.match(a, /^Define FCGICHAT_WS_DIR \/var\/lib\/fcgichat$/m);
    }
    for (const f of files.filter((x) => x.startsWith('usr/lib/systemd/system/'))) {
      const u = fs.readFileSync(path.join(d, f), 'utf8');
      assert.doesNotMatch(u, /cgi-bin/, f);
      if (/ExecStart=/.test(u)) {
        assert.match(u, /^ExecStart=\/usr\/lib\/fcgichat\/fcgichat\.fcgi/m);
        assert.match(u, /^Environment=FCGICHAT_WS_SOCKETS=\/var\/lib\/fcgichat\/ws-0\.sock$/m);
      }
    }

    make(['uninstall', `DESTDIR=${d}`, 'PREFIX=/usr']);
    assert.deepEqual(tree(d), []);
  });

  test('PREFIX=/usr/local: nothing in /etc unless asked', () => {
    const d = tmpdir('local');
    make(['install', `DESTDIR=${d}`]);
    const files = tree(d);
    assert.ok(files.includes('usr/local/lib/fcgichat/fcgichat.fcgi'));
    assert.ok(files.includes('usr/local/share/man/man8/fcgichat.8'));
    assert.ok(!files.some((f) => f.startsWith('etc/')));
    const lt = fs.readFileSync(path.join(d, 'usr/local/share/fcgichat/conf/50-fcgichat.conf'), 'utf8');
    assert.match(lt, /"\/usr\/local\/lib\/fcgichat\/fcgichat\.fcgi"/);
    make(['install', `DESTDIR=${d}`, 'INSTALL_ETC=yes']);
    assert.ok(fs.existsSync(path.join(d, 'etc/lighttpd/conf-available/50-fcgichat.conf')));
    make(['uninstall', `DESTDIR=${d}`, 'INSTALL_ETC=yes']);
    assert.deepEqual(tree(d), []);
  });

  test('the man page: renders without warnings, names every setting and admin command', () => {
    const man = path.join(ROOT, 'src/fcgichat.8');
    const r = spawnSync('groff', ['-mandoc', '-ww', '-z', man], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '', r.stderr);
    const text = fs.readFileSync(man, 'utf8');
    const vars = settings();
    assert.ok(vars.length >= 20);
    for (const v of vars) assert.match(text, new RegExp(`^\\.It Ev ${v}$`, 'm'), `${v} is not in the man page`);
    for (const c of ['rooms', 'export', 'import', 'delete', 'prune']) {
      assert.match(text, new RegExp(`^\\.It Cm admin ${c}`, 'm'), c);
    }
    for (const o of ['socket', 'init', 'check', 'help', 'version']) {
      assert.match(text, new RegExp(`^\\.It Fl -${o}`, 'm'), o);
    }
  });
});

// --- the snippets on this system's web servers ------------------------------

// Installs into prefix dirs under d, the snippets into d/etc (a copy of
// the system's config dir name), and makes the data directory for www-data.
function installInto(d, etcName) {
  fs.mkdirSync(path.join(d, 'etc'), { recursive: true });
  execFileSync('cp', ['-a', `/etc/${etcName}`, path.join(d, 'etc/')]);
  make(['install', `PREFIX=${d}/usr`, `SYSCONFDIR=${d}/etc`, `STATEDIR=${d}/var/lib/fcgichat`, 'INSTALL_ETC=yes']);
  const state = path.join(d, 'var/lib/fcgichat');
  fs.mkdirSync(path.dirname(state), { recursive: true, mode: 0o755 });
  fs.mkdirSync(state, { mode: 0o700 });
  const pw = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('www-data:'));
  const [, , uid, gid] = pw.split(':').map(Number);
  fs.chownSync(state, uid, gid);
  const bin = path.join(d, 'usr/lib/fcgichat/fcgichat.fcgi');
  const init = spawnSync(bin, ['--init'], { env: { ...process.env, FCGICHAT_DB: `${state}/chat.db` }, uid, gid, encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr + init.stdout);
  return { bin, state, uid, gid };
}

// What every installed setup must do: the API, a long-poll woken by a
// send, an event stream, a WebSocket (its send acked, and the 426 of a
// GET without upgrade), the statistics (the worker knows `token`: a wrong
// one is refused, so the header reached it), the page.
async function exercise(base, token) {
  const health = await get(base, '/api/health');
  assert.equal(health.status, 200, health.text);
  const since = health.json.last_id;
  const es = openEvents(base, 'installed');
  await es.until((x) => x.retry !== null);
  const ws = await openWs(base, 'installed', { origin: base }).opened;
  assert.equal(ws.status, 101, `WebSocket: ${ws.status} ${ws.error?.message ?? ws.text}`);
  const lp = get(base, `/api/rooms/installed/messages?since=${since}&wait=10`);
  await waitFor(async () => (await waitingNow(base)).longpoll === 1, { what: 'the long-poll parked' });
  const sent = await send(base, 'installed', 'admin', 'it works');
  assert.equal(sent.status, 201, sent.text);
  assert.deepEqual((await lp).json.messages, [sent.json]);
  await es.until((x) => x.events.length === 1);
  await ws.until((x) => framesOf(x, 'message').length === 1, 5000, 'the message on the WebSocket');
  assert.deepEqual(framesOf(ws, 'message')[0].message, sent.json);
  ws.send({ type: 'send', nick: 'admin', text: 'over the socket', client_id: 'install-1' });
  await ws.until((x) => framesOf(x, 'ack').length === 1, 5000, 'the ack');
  await es.until((x) => x.events.length === 2);
  es.close();
  ws.close();
  assert.equal((await get(base, '/api/rooms/installed/ws')).status, 426);
  const stats = await get(base, '/api/stats');
  assert.equal(stats.status, 200, stats.text);
  assert.ok(stats.json.sends >= 1);
  if (token) {
    const bad = await get(base, '/api/stats', { headers: { Authorization: 'Bearer wrong' } });
    assert.equal(bad.status, 403, 'the Authorization header did not reach the worker');
    const good = await get(base, '/api/stats', { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(good.status, 200);
  }
  const page = await get(base, '/chat/');
  assert.equal(page.status, 200);
  assert.match(page.text, /<script type="module" src="js\/app\.js">/);
  assert.equal((await get(base, '/chat/js/app.js')).status, 200);
}

function startServer(cmd, args, env, logFile) {
  const log = fs.openSync(logFile, 'a');
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  return p;
}

async function stopServer(p) {
  if (!p || p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await done;
}

describe('lighttpd, Debian layout', { skip: !isRoot || !fs.existsSync('/etc/lighttpd/lighttpd.conf') ? 'needs root and Debian lighttpd' : false }, () => {
  test('lighty-enable-mod fcgichat on a copy of /etc/lighttpd, then the chat works', async () => {
    const d = tmpdir('lighttpd');
    const { state } = installInto(d, 'lighttpd');
    const conf = path.join(d, 'etc/lighttpd');
    assert.ok(fs.existsSync(path.join(conf, 'conf-available/50-fcgichat.conf')));
    // Debian's own lighty-enable-mod, pointed at the copy.
    const tool = fs.readFileSync('/usr/sbin/lighty-enable-mod', 'utf8')
      .replace('my $confdir = "/etc/lighttpd/";', `my $confdir = "${conf}/";`);
    assert.ok(tool.includes(conf), 'lighty-enable-mod changed: cannot point it at the copy');
    fs.writeFileSync(path.join(d, 'lighty-enable-mod'), tool);
    const en = spawnSync('perl', [path.join(d, 'lighty-enable-mod'), 'fcgichat'], { encoding: 'utf8' });
    assert.equal(en.status, 0, en.stdout);
    assert.equal(fs.readlinkSync(path.join(conf, 'conf-enabled/50-fcgichat.conf')), '../conf-available/50-fcgichat.conf');

    // The stock lighttpd.conf, with its port, logs and pid file moved
    // into the temporary directory and its includes into the copy.
    const port = await freePort();
    const logs = path.join(d, 'log');
    fs.mkdirSync(logs);
    fs.chownSync(logs, fs.statSync(state).uid, fs.statSync(state).gid);
    const main = fs.readFileSync('/etc/lighttpd/lighttpd.conf', 'utf8')
      .replaceAll('/etc/lighttpd/', `${conf}/`)
      .replace(/^server\.port\s*=.*$/m, `server.port = ${port}`)
      .replace(/^server\.errorlog\s*=.*$/m, `server.errorlog = "${logs}/error.log"`)
      .replace(/^server\.pid-file\s*=.*$/m, `server.pid-file = "${d}/lighttpd.pid"`)
      .replace(/^server\.upload-dirs\s*=.*$/m, `server.upload-dirs = ( "${d}" )`)
      .replace(/^include_shell .*use-ipv6.*$/m, '') + '\nserver.bind = "127.0.0.1"\n';
    fs.writeFileSync(path.join(conf, 'lighttpd.conf'), main);
    const t = spawnSync('/usr/sbin/lighttpd', ['-tt', '-f', path.join(conf, 'lighttpd.conf')], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);

    const p = startServer('/usr/sbin/lighttpd', ['-D', '-f', path.join(conf, 'lighttpd.conf')], {}, path.join(d, 'out.log'));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await get(base, '/api/health')).status === 200, { what: 'lighttpd with the installed snippet' });
      await exercise(base);
      // The workers run as the web server's user, on the installed program.
      const ps = execFileSync('ps', ['-o', 'user=,args=', '--ppid', String(p.pid)], { encoding: 'utf8' });
      assert.match(ps, /^www-data\s+\S*\/usr\/lib\/fcgichat\/fcgichat\.fcgi$/m);
    } finally {
      await stopServer(p);
    }
  });
});

describe('Apache, Debian layout', { skip: !isRoot || !fs.existsSync('/usr/sbin/a2enconf') || !fs.existsSync('/etc/apache2/mods-available/fcgid.load') ? 'needs root, Debian Apache and mod_fcgid' : false }, () => {
  // Apache's envvars, moved into the temporary directory.
  function apacheEnv(d) {
    const env = {
      APACHE_CONFDIR: path.join(d, 'etc/apache2'),
      APACHE_RUN_USER: 'www-data', APACHE_RUN_GROUP: 'www-data',
      APACHE_PID_FILE: path.join(d, 'run/apache2.pid'), APACHE_RUN_DIR: path.join(d, 'run'),
      APACHE_LOCK_DIR: path.join(d, 'lock'), APACHE_LOG_DIR: path.join(d, 'log'),
    };
    for (const k of ['run', 'lock', 'log', 'run/fcgid']) fs.mkdirSync(path.join(d, k), { recursive: true });
    return env;
  }

  async function runApache(d, env, extraConf) {
    const conf = env.APACHE_CONFDIR;
    const port = await freePort();
    fs.writeFileSync(path.join(conf, 'ports.conf'), `Listen 127.0.0.1:${port}\n`);
    // Loaded before the fcgichat confs (conf-enabled is read in order).
    fs.writeFileSync(path.join(conf, 'conf-enabled/00-test.conf'), extraConf);
    const args = ['-d', conf, '-f', path.join(conf, 'apache2.conf')];
    const t = spawnSync('/usr/sbin/apache2', [...args, '-t'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const p = startServer('/usr/sbin/apache2', [...args, '-DFOREGROUND'], env, path.join(d, 'out.log'));
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => {
      if (p.exitCode !== null) throw new Error(`apache2 exited: ${fs.readFileSync(path.join(d, 'out.log'), 'utf8')}`);
      return (await get(base, '/api/health')).status === 200;
    }, { what: 'Apache with the installed snippet' });
    return { p, base };
  }

  function enable(env, what, name) {
    const r = spawnSync(`/usr/sbin/a2en${what}`, ['-q', name], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  }

  test('a2enconf fcgichat-fcgid on a copy of /etc/apache2 (mod_fcgid), then the chat works', async () => {
    const d = tmpdir('apache-fcgid');
    installInto(d, 'apache2');
    const env = apacheEnv(d);
    fs.chownSync(path.join(d, 'run/fcgid'), fs.statSync(path.join(d, 'var/lib/fcgichat')).uid, 0);
    for (const m of ['fcgid', 'headers', 'proxy_http', 'lbmethod_byrequests']) enable(env, 'mod', m);
    enable(env, 'conf', 'fcgichat-fcgid');
    assert.equal(fs.readlinkSync(path.join(env.APACHE_CONFDIR, 'conf-enabled/fcgichat-fcgid.conf')),
      '../conf-available/fcgichat-fcgid.conf');
    const { p, base } = await runApache(d, env,
      `FcgidIPCDir ${d}/run/fcgid\nFcgidProcessTableFile ${d}/run/fcgid/shm\n` +
      `FcgidInitialEnv FCGICHAT_STATS_TOKEN ${TOKEN}\n`);
    try {
      await exercise(base, TOKEN);
    } finally {
      await stopServer(p);
    }
  });

  test('a2enconf fcgichat on a copy of /etc/apache2 (mod_proxy_fcgi, worker on its own socket), then the chat works', async () => {
    const d = tmpdir('apache-proxy');
    const { bin, state, uid, gid } = installInto(d, 'apache2');
    if (!fs.existsSync(path.join(d, 'etc/apache2/conf-available/fcgichat.conf'))) return;
    const env = apacheEnv(d);
    for (const m of ['proxy_fcgi', 'proxy_http', 'headers']) enable(env, 'mod', m);
    enable(env, 'conf', 'fcgichat');
    // The worker as the systemd unit runs it.
    const sock = path.join(state, 'fcgichat.sock');
    const w = spawn(bin, ['--socket', sock], {
      env: {
        ...process.env, FCGICHAT_DB: `${state}/chat.db`, FCGICHAT_STATS_TOKEN: TOKEN,
        FCGICHAT_WS_SOCKETS: `${state}/ws-0.sock`,
      },
      uid, gid, stdio: ['ignore', 'ignore', 'ignore'],
    });
    let apache;
    try {
      await waitFor(() => fs.existsSync(sock), { what: 'the worker socket' });
      apache = await runApache(d, env, `Define FCGICHAT_SOCKET ${sock}\n`);
      await exercise(apache.base, TOKEN);
      // The worker gone: Apache's own 503 carries the API's error body.
      await stopServer(w);
      const r = await get(apache.base, '/api/health');
      assert.equal(r.status, 503);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(r.headers['retry-after'], '5');
      assert.equal(r.json.error.code, 'unavailable');
    } finally {
      // The worker first: Apache's children proxying a closed event
      // stream then end at once instead of at their next keepalive.
      await stopServer(w);
      await stopServer(apache?.p);
    }
  });
});
