/**
 * The real binary: `smartsupport serve` on an embedded PostgreSQL (what `npm start` does), reuse of
 * the data on a second start, graceful shutdown on SIGTERM/SIGINT, and config errors.
 * Needs the build (npm install runs it; CI builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

const bin = path.resolve('bin/smartsupport');
if (!existsSync('dist/cli/main.js')) {
  t.fail('dist/ is missing: run `npm run build` before `npm test`');
}

function start(env: Record<string, string>, args = ['serve']): { child: ChildProcess; url: Promise<string>; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = /"url":"(http:\/\/[^"]+)".*SmartSupport is listening/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', () => reject(new Error(`exited before listening: ${out}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, output: () => out, exited };
}

async function waitForOutput(s: { output(): string; exited: Promise<number | null> }, re: RegExp): Promise<void> {
  let gone = false;
  void s.exited.then(() => (gone = true));
  while (!re.test(s.output())) {
    if (gone) throw new Error(`exited before ${re}: ${s.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ss-serve-'));
await chmod(dataDir, 0o755);
t.teardown(() => rm(dataDir, { recursive: true, force: true }));

t.test('serve on embedded PostgreSQL, stop with SIGINT, start again on the same data', async (t) => {
  const env = { SMARTSUPPORT_DATA_DIR: dataDir, DATABASE_URL: '' };
  const first = start(env);
  const url = await first.url;
  const ready = await fetch(`${url}/readyz`);
  t.equal(ready.status, 200, 'ready on a fresh data dir');
  t.ok(existsSync(path.join(dataDir, 'pg', 'PG_VERSION')), 'the cluster lives in the data dir');
  t.ok(existsSync(path.join(dataDir, 'jwt-secret')), 'a development JWT secret was generated');
  first.child.kill('SIGINT');
  t.equal(await first.exited, 0, 'clean exit on SIGINT');
  t.match(first.output(), /shutting down/);
  t.notOk(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'the embedded database was stopped');

  const second = start(env);
  const url2 = await second.url;
  t.equal((await fetch(`${url2}/readyz`)).status, 200, 'second start reuses the cluster');
  t.notMatch(second.output(), /migrations applied/, 'nothing to migrate the second time');
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0, 'clean exit on SIGTERM');
});

/**
 * A login whose headers the server has read (it answered `100 Continue`) and whose body is still to
 * come: a request in flight that the test controls. `send()` writes the body; resolves with the
 * status and Connection header, or the socket error if the request was cut.
 */
function heldLogin(url: string, email: string, password: string): Promise<{ send(): void; result: Promise<{ status: number; connection: string } | { error: string }> }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ email, password });
    const req = http.request(`${url}/api/token/admin/`, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Expect: '100-continue' } });
    const result = new Promise<{ status: number; connection: string } | { error: string }>((done) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode!, connection: String(res.headers.connection) }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }));
    });
    req.on('continue', () => resolve({ send: () => req.end(body), result }));
    req.on('error', reject);
    req.flushHeaders();
  });
}

const connectError = (url: string) =>
  new Promise<string>((resolve) => {
    const u = new URL(url);
    const s = net.connect(Number(u.port), u.hostname);
    s.on('connect', () => (s.destroy(), resolve('connected')));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

const ADMIN = { SMARTSUPPORT_ADMIN_EMAIL: 'drain@example.com', SMARTSUPPORT_ADMIN_PASSWORD: 'drain-password-1234' };
// a data dir of their own: the first admin (these credentials) is created on its first start
const drainDir = await mkdtemp(path.join(os.tmpdir(), 'ss-drain-'));
await chmod(drainDir, 0o755);
t.teardown(() => rm(drainDir, { recursive: true, force: true }));

t.test('SIGTERM: held requests all finish, new connections are refused, then a clean exit', async (t) => {
  const s = start({ SMARTSUPPORT_DATA_DIR: drainDir, DATABASE_URL: '', ...ADMIN });
  const url = await s.url;
  const N = 5;
  const held = await Promise.all(Array.from({ length: N }, () => heldLogin(url, ADMIN.SMARTSUPPORT_ADMIN_EMAIL, ADMIN.SMARTSUPPORT_ADMIN_PASSWORD)));
  s.child.kill('SIGTERM');
  await waitForOutput(s, /shutting down/);
  t.equal(await connectError(url), 'ECONNREFUSED', 'a new connection is refused once draining');
  for (const h of held) h.send();
  const results = await Promise.all(held.map((h) => h.result));
  t.same(results, Array.from({ length: N }, () => ({ status: 200, connection: 'close' })), 'every held request got 200, with Connection: close');
  t.equal(await s.exited, 0, 'clean exit after the last one');
});

t.test('a second signal exits at once, without waiting for requests in flight', async (t) => {
  const s = start({ SMARTSUPPORT_DATA_DIR: drainDir, DATABASE_URL: '', ...ADMIN });
  const url = await s.url;
  const held = await heldLogin(url, ADMIN.SMARTSUPPORT_ADMIN_EMAIL, ADMIN.SMARTSUPPORT_ADMIN_PASSWORD);
  s.child.kill('SIGTERM');
  await waitForOutput(s, /shutting down/);
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 130, 'exit code 130 on the second signal');
  t.same(await held.result, { error: 'ECONNRESET' }, 'the held request was cut, not waited for');
});

t.test('a bad configuration value stops start-up with a message naming it', async (t) => {
  const s = start({ SMARTSUPPORT_DATA_DIR: dataDir, PORT: 'eighty' });
  t.equal(await s.exited, 2);
  t.match(s.output(), /error: Invalid configuration: PORT must be an integer/);
});
