/**
 * Benchmark plumbing: one environment per run (embedded PostgreSQL unless BENCH_DATABASE_URL),
 * the real app, and autocannon with the settings from quality.md (20 connections, no pipelining).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createContext, type AppContext } from '../src/app/context.js';
import { features } from '../src/app/features.js';
import { createApp, listen, type RunningServer } from '../src/app/server.js';
import { loadConfig } from '../src/config/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';

export interface BenchEnv {
  app: AppContext;
  server: RunningServer;
  /** connection string of the benchmark database (for bare baselines using plain `pg`) */
  databaseUrl: string;
  close(): Promise<void>;
}

export interface BenchResult {
  name: string;
  metric: string;
  ours: number;
  baseline: number;
  ratio: number;
  target: string;
  pass: boolean;
  note?: string;
}

export interface Benchmark {
  name: string;
  /** one row, or several (a scenario measuring many queries) */
  run(env: BenchEnv): Promise<BenchResult | BenchResult[]>;
}

export const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

export async function startBenchEnv(): Promise<BenchEnv> {
  let embedded: EmbeddedDatabase | undefined;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ss-bench-'));
  await chmod(tmp, 0o755);
  let adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg'), database: 'postgres' });
    adminUrl = embedded.adminUrl;
  }
  // BENCH_KEEP=1 (with BENCH_DATABASE_URL): a fixed database that is kept after the run, so the
  // seeded volume scenario (bench/volume.ts) is reused by the next run instead of seeded again
  const keep = Boolean(process.env.BENCH_KEEP && process.env.BENCH_KEEP !== '0' && process.env.BENCH_DATABASE_URL);
  const dbName = keep ? 'ss_bench_keep' : `ss_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = keep && (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount;
  if (!exists) await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    SMARTSUPPORT_DATA_DIR: path.join(tmp, 'data'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    // production refuses to start without it (it seals webhook signing secrets)
    SECRETS_KEY: process.env.SECRETS_KEY ?? randomBytes(32).toString('base64'),
    // production refuses to start without it (signed workflow callbacks); the benchmarks send none
    WORKFLOW_SIGNING_SECRET: process.env.WORKFLOW_SIGNING_SECRET ?? `whsec_${randomBytes(24).toString('base64')}`,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    DATABASE_POOL_MAX: '20',
    // the events benchmarks subscribe a local receiver
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  });
  const app = await createContext(config, { migrate: true, supervise: false });
  const server = await listen(createApp(app, features), 0, '127.0.0.1');
  return {
    app,
    server,
    databaseUrl,
    async close() {
      await server.close(1000);
      await app.close();
      if (!keep) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      await embedded?.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** concurrent connections (default 20, as quality.md asks; 1 for latency measurements) */
  connections?: number;
  /** seconds (default BENCH_SECONDS) */
  duration?: number;
}

export interface LoadResult {
  rps: number;
  p99: number;
}

/**
 * Run autocannon against `url` in a child process — in-process, the load generator would compete
 * with the server for its own event loop and blur the comparison. 2xx only; anything else fails the run.
 */
export async function load(opts: LoadOptions): Promise<LoadResult> {
  const { spawn } = await import('node:child_process');
  const args = { url: opts.url, method: opts.method ?? 'GET', headers: opts.headers, body: opts.body, connections: opts.connections ?? 20, pipelining: 1, duration: opts.duration ?? DURATION_SECONDS };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./load-child.mjs', import.meta.url).pathname, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`load generator exited ${code}`))));
  });
  const r = JSON.parse(out) as { non2xx: number; errors: number; timeouts: number; total: number; rps: number; latency: { average: number; p99: number } };
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) throw new Error(`${opts.url}: ${bad} of ${r.total} requests failed (non-2xx ${r.non2xx}, errors ${r.errors})`);
  return { rps: r.rps, p99: r.latency.p99 };
}

export function ratioResult(name: string, metric: string, ours: number, baseline: number, min: number, note?: string): BenchResult {
  const ratio = ours / baseline;
  return { name, metric, ours: round(ours), baseline: round(baseline), ratio: round(ratio, 3), target: `≥ ${min}`, pass: ratio >= min, note };
}

export const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
