/**
 * The real binary: `smartsupport serve` on an embedded PostgreSQL (what `npm start` does), reuse of
 * the data on a second start, graceful shutdown on SIGTERM/SIGINT, and config errors.
 * Needs the build (npm install runs it; CI builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
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

t.test('a request in flight during SIGTERM still gets its answer', async (t) => {
  const env = { SMARTSUPPORT_DATA_DIR: dataDir, DATABASE_URL: '' };
  const s = start(env);
  const url = await s.url;
  // open several requests, signal while they are being served, all must complete
  const inflight = Array.from({ length: 20 }, () => fetch(`${url}/readyz`).then((r) => r.status));
  s.child.kill('SIGTERM');
  const statuses = await Promise.allSettled(inflight);
  const answered = statuses.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value);
  t.ok(answered.every((code) => code === 200), `every answered request succeeded (${answered.join(',')})`);
  t.equal(await s.exited, 0);
});

t.test('a bad configuration value stops start-up with a message naming it', async (t) => {
  const s = start({ SMARTSUPPORT_DATA_DIR: dataDir, PORT: 'eighty' });
  t.equal(await s.exited, 2);
  t.match(s.output(), /error: Invalid configuration: PORT must be an integer/);
});
