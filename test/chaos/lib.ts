/**
 * Chaos helpers: a dedicated PostgreSQL the test may stop and start (the embedded one, in a temp
 * dir), and the real built service (`bin/smartsupport serve|worker`) as child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createKnex } from '../../src/db/knex.js';
import { signAccessToken } from '../../src/lib/jwt.js';
import { TEST_JWT_SECRET, type T } from '../helpers/harness.js';

export const bin = path.resolve('bin/smartsupport');
export const built = existsSync('dist/cli/main.js');

export interface DedicatedPg {
  url: string;
  dir: string;
  tmp: string;
  /** the test's own pool (small); survives stop/start like the service's */
  db: Knex;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A PostgreSQL of the test's own, on a fixed port so it can be stopped and started again. */
export async function dedicatedPg(t: T, name: string): Promise<DedicatedPg> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `ss-chaos-${name}-`));
  await chmod(tmp, 0o755);
  const dir = path.join(tmp, 'pg');
  let pg: EmbeddedDatabase = await startEmbeddedPostgres({ dir, database: 'chaos' });
  const port = pg.port;
  const db = createKnex(pg.url, 3);
  const handle: DedicatedPg = {
    url: pg.url,
    dir,
    tmp,
    db,
    stop: () => pg.stop(),
    async start() {
      pg = await startEmbeddedPostgres({ dir, database: 'chaos', port });
    },
  };
  t.teardown(async () => {
    await db.destroy().catch(() => undefined);
    await pg.stop();
    await rm(tmp, { recursive: true, force: true });
  });
  return handle;
}

export interface Proc {
  child: ChildProcess;
  /** resolves with the base URL once a `serve` logs that it is listening */
  url: Promise<string>;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** wait until the output matches */
  waitOutput(re: RegExp, what: string, timeoutMs?: number): Promise<void>;
  alive(): boolean;
}

export function spawnService(t: T, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, RATE_LIMIT_PER_MINUTE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': after 'exit' the child's output may still be arriving
    child.on('close', (code, signal) => {
      done = true;
      for (const w of waiters) w();
      resolve({ code, signal });
    }),
  );
  const waitOutput = (re: RegExp, what: string, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(out)) finish(resolve);
        else if (done) finish(() => reject(new Error(`process exited while waiting for ${what}: ${out.slice(-2000)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}: ${out.slice(-2000)}`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  const url = waitOutput(/SmartSupport is listening/, 'listening').then(() => /"url":"(http:\/\/[^"]+)".*SmartSupport is listening/.exec(out)![1]!);
  url.catch(() => undefined);
  t.teardown(() => {
    if (!done) child.kill('SIGKILL');
  });
  return { child, url, output: () => out, exited, waitOutput, alive: () => !done };
}

export const jwtSettings = { secret: TEST_JWT_SECRET, issuer: 'smartsupport', audience: 'smartsupport-api', accessTtlSeconds: 3600 };
export const tokenFor = (e: { id: number; role: string }) => signAccessToken(jwtSettings, { sub: String(e.id), role: e.role });

/** Retry `fn` while the database is away (the test's own queries need it too). */
export async function retrying<R>(fn: () => Promise<R>, timeoutMs = 60_000): Promise<R> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POST with an Idempotency-Key (and a bearer token) to the service at `base()` — which may move between restarts. */
export function poster(base: () => string) {
  return (path: string, key: string, body: unknown, token?: string) =>
    fetch(`${base()}${path}`, {
      method: 'POST',
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(body),
    });
}
