/**
 * Session liveness cache across processes: instance A (this process) and instance B (a separate
 * `smartsupport serve` process) share one database. B caches "session live" for a long safety TTL
 * (60 s) so only LISTEN/NOTIFY can make a revocation visible before it: the test measures how long
 * a logout on A takes to reach B, and that a revocation made while B's LISTEN connection is down is
 * not served from B's cache.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { createEmployee, login, startTestApp, TEST_JWT_SECRET } from './helpers/harness.js';

const TTL_MS = 60_000;
const ta = await startTestApp(t, { env: { SESSION_CACHE_TTL_MS: String(TTL_MS) } });

const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const child = spawn(process.execPath, [path.resolve('bin/smartsupport'), 'serve', '--no-worker'], {
  env: {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: ta.app.databaseUrl,
    DATABASE_DIRECT_URL: ta.app.directUrl,
    SMARTSUPPORT_DATA_DIR: ta.dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    RATE_LIMIT_PER_MINUTE: '100000',
    SESSION_CACHE_TTL_MS: String(TTL_MS),
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let childLog = '';
child.stderr.on('data', (c) => (childLog = (childLog + c).slice(-5000)));
t.teardown(() => {
  child.kill('SIGKILL');
});
const B = `http://127.0.0.1:${port}`;
const profileOn = (base: string, token: string) => fetch(`${base}/api/employee/profile/`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);
for (let i = 0; ; i++) {
  if (child.exitCode !== null) throw new Error(`instance B exited: ${childLog}`);
  if (await fetch(`${B}/readyz`).then((r) => r.ok, () => false)) break;
  if (i > 600) throw new Error(`instance B did not get ready: ${childLog}`);
  await new Promise((r) => setTimeout(r, 100));
}

/** Poll until `fn` returns true; returns the milliseconds it took (or fails after the safety TTL / 4). */
async function until(t: { fail(m: string): unknown }, what: string, fn: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (!(await fn())) {
    if (performance.now() - start > TTL_MS / 4) {
      t.fail(`${what}: still not seen after ${TTL_MS / 4} ms (the cache TTL is ${TTL_MS} ms)`);
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

async function listenerUp(): Promise<boolean> {
  const c = new pg.Client({ connectionString: ta.app.directUrl });
  await c.connect();
  try {
    const r = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'smartsupport-listen' AND datname = current_database()");
    return r.rows[0].n >= 2; // A's and B's
  } finally {
    await c.end();
  }
}

t.test('a logout on instance A takes effect on instance B without waiting for the cache TTL', async (t) => {
  await until(t, 'both listeners connected', listenerUp);
  const user = await createEmployee(ta.db, { password: 'correct horse battery', role: 'Employee' });
  const session = await login(ta, user.email, 'correct horse battery');
  for (let i = 0; i < 3; i++) t.equal(await profileOn(B, session.access), 200, 'B serves the session (and caches it as live)');
  t.equal(await profileOn(ta.url, session.access), 200);
  const r = await ta.api.post('/api/token/logout/', undefined, { token: session.access });
  t.equal(r.status, 204);
  const took = await until(t, 'revocation on B', async () => (await profileOn(B, session.access)) === 401);
  t.comment(`revocation visible on instance B after ${took.toFixed(1)} ms (requirement: within 1000 ms)`);
  t.equal(await profileOn(ta.url, session.access), 401, 'and on A');
});

t.test('while B cannot hear revocations it does not trust its cache', async (t) => {
  await until(t, 'both listeners connected', listenerUp);
  const user = await createEmployee(ta.db, { password: 'correct horse battery', role: 'Employee' });
  const session = await login(ta, user.email, 'correct horse battery');
  t.equal(await profileOn(B, session.access), 200, 'cached as live on B');
  // cut every LISTEN connection, then revoke: the NOTIFY is sent while nobody listens
  const admin = new pg.Client({ connectionString: ta.app.directUrl });
  await admin.connect();
  t.teardown(() => admin.end());
  const listeners = (await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'smartsupport-listen' AND datname = current_database()")).rows.map((r) => r.pid);
  await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [listeners]);
  await until(t, 'listener backends gone', async () => (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [listeners])).rows[0].n === 0);
  await admin.query("UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'test' WHERE employee_id = $1", [user.id]);
  // no polling: the very next request must not be answered from the cache (B flushed it when its
  // LISTEN connection dropped and bypasses it until LISTEN is back — and flushes again then)
  t.equal(await profileOn(B, session.access), 401, 'the revoked session is refused at once');
  await until(t, 'listeners reconnected', listenerUp);
});
