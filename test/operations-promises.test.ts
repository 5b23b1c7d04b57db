/**
 * Black-box tests of docs/operations.md promises about processes: shutdown is bounded by
 * SHUTDOWN_TIMEOUT_MS, and an embedded PostgreSQL left behind by a killed process is adopted on the
 * next start. The real `smartsupport serve` in child processes.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { spawnSmartsupport, startServe } from './helpers/processes.js';

/**
 * A request held in flight: headers and half of the body sent, the rest only when `finish()` is
 * called. `closed` resolves when the server closes the connection; `response` is what it answered.
 */
async function heldRequest(url: string) {
  const u = new URL(url);
  const body = JSON.stringify({ email: 'nobody-at-all@example.com' });
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let response = '';
  socket.on('data', (d) => (response += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`POST /api/employee/forgot-password/ HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`);
  return { closed, response: () => response, finish: () => socket.write(body.slice(5)), destroy: () => socket.destroy() };
}

t.test('SHUTDOWN_TIMEOUT_MS bounds how long shutdown waits for an unfinished request', async (t) => {
  const ta = await startTestApp(t);
  // two servers, each with a request that never finishes on its own: a short bound and a long one
  const patient = await startServe(t, ta, { SHUTDOWN_TIMEOUT_MS: '600000' }, ['--no-worker']);
  const bounded = await startServe(t, ta, { SHUTDOWN_TIMEOUT_MS: '1000' }, ['--no-worker']);
  const p = await heldRequest(patient.url);
  const b = await heldRequest(bounded.url);
  t.teardown(() => {
    p.destroy();
    b.destroy();
  });
  // the requests have reached the servers once a request sent after them on the same server was answered
  t.equal((await fetch(`${patient.url}/healthz`)).status, 200);
  t.equal((await fetch(`${bounded.url}/healthz`)).status, 200);

  patient.child.kill('SIGTERM');
  await patient.waitForOutput(/shutting down/, 'the patient server begins its shutdown');
  bounded.child.kill('SIGTERM');
  // (the request never finishes on its own; without the bound the server would wait for it)
  const exit = await Promise.race([bounded.exited, new Promise<string>((r) => setTimeout(() => r('still running after 90 s'), 90_000).unref())]);
  t.equal(exit, 0, 'the bounded server exited cleanly although its request never finished');
  await b.closed;
  t.equal(b.response(), '', 'its unfinished request was cut off without an answer');

  // the patient server was signalled first, so it has been shutting down at least as long
  t.equal(patient.child.exitCode, null, 'the server with the long bound is still waiting for its request');
  p.finish();
  await p.closed;
  t.match(p.response(), /^HTTP\/1\.1 202 /, 'the in-flight request it waited for got its answer');
  t.equal(await patient.exited, 0, 'and then it exited cleanly');
});

/** The pid in a PostgreSQL data directory's postmaster.pid, if the file exists. */
async function postmasterPid(dir: string): Promise<number | undefined> {
  const f = path.join(dir, 'postmaster.pid');
  if (!existsSync(f)) return undefined;
  return Number((await readFile(f, 'utf8')).split('\n')[0]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('an embedded PostgreSQL left running by a SIGKILLed server is adopted on the next start', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ss-adopt-'));
  await chmod(dataDir, 0o755);
  const pgDir = path.join(dataDir, 'pg');
  t.teardown(async () => {
    // stop a database this test left running (the one our first server started)
    const pid = await postmasterPid(pgDir);
    if (pid && alive(pid)) process.kill(pid, 'SIGINT');
    await waitFor(async () => !pid || !alive(pid), 'embedded PostgreSQL stopped', 30_000).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });
  const env = { NODE_ENV: 'development', LOG_LEVEL: 'info', SMARTSUPPORT_DATA_DIR: dataDir, DATABASE_URL: '', PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '100000' };
  const listening = /"url":"(http:\/\/[^"]+)"[^\n]*SmartSupport is listening/;
  const register = (url: string) =>
    fetch(`${url}/api/create_employee/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email: 'ada.adopt@example.com', password: 'Correct-Horse-Battery-9', confirm_password: 'Correct-Horse-Battery-9' }),
    });

  const first = spawnSmartsupport(t, ['serve', '--no-worker'], env);
  const url1 = (await first.waitForOutput(listening, 'first server listening', 120_000))[1]!;
  t.equal((await register(url1)).status, 201, 'a row written through the first server');
  const pid = await postmasterPid(pgDir);
  t.ok(pid && alive(pid), 'the embedded database is running');
  first.child.kill('SIGKILL');
  t.equal(await first.exited, null, 'the first server was killed');
  t.ok(alive(pid!), 'its database was left running');

  const second = spawnSmartsupport(t, ['serve', '--no-worker'], env);
  const url2 = (await second.waitForOutput(listening, 'second server listening', 120_000))[1]!;
  t.equal((await fetch(`${url2}/readyz`)).status, 200, 'the second server is ready');
  t.equal(await postmasterPid(pgDir), pid, 'it uses the database that was left running (same postmaster)');
  const again = await register(url2);
  t.equal(again.status, 409, 'and sees the data written before the kill (the email is taken)');
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0, 'it stops cleanly');
  t.notOk(alive(pid!), 'and stops the adopted database last');
  t.notOk(existsSync(path.join(pgDir, 'postmaster.pid')), 'leaving no postmaster.pid behind');
});
