/**
 * `smartsupport serve --processes N [--workers M]` (or WEB_CONCURRENCY=N): a node:cluster primary
 * that runs N API processes sharing one port and M job-worker processes, and
 *
 * - computes the connection budget, reports it, and refuses to start if it exceeds the server's
 *   max_connections (src/app/budget.ts);
 * - runs migrations once before forking (children find nothing to do);
 * - restarts a child that dies, with backoff (0.5 s doubling to 30 s; reset after 30 s of uptime);
 * - on SIGTERM/SIGINT stops restarting and forwards SIGTERM to every child, which drains gracefully
 *   (src/app/run.ts), then exits; children still alive after SHUTDOWN_TIMEOUT_MS + 5 s are killed.
 *
 * Without DATABASE_URL the primary starts the embedded PostgreSQL and hands its URL to the children.
 * The drain itself, the HTTP server and the job loops are the single-process code, unchanged.
 */
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { createKnex } from '../db/knex.js';
import { migrateLatest } from '../db/migrate.js';
import { createLogger } from '../lib/log.js';
import { computeBudget, describeBudget, serverLimits } from './budget.js';
import { resolveJwtSecret, resolveSecretsKey } from './secrets.js';

export const CHILD_ROLE_ENV = 'SMARTSUPPORT_CHILD_ROLE';
type Role = 'api' | 'worker';

export class BudgetError extends Error {}

export async function runSupervisor(config: Config, opts: { processes: number; workers: number }): Promise<void> {
  const log = createLogger(config.logLevel, 'smartsupport-supervisor');
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg') });
    databaseUrl = embedded.url;
  }
  const directUrl = (config.databaseUrl && config.databaseDirectUrl) || databaseUrl;
  const admin = createKnex(directUrl, 1, log);
  try {
    const limits = await serverLimits(admin);
    const budget = computeBudget({ processes: opts.processes + opts.workers, poolMax: config.databasePoolMax, pooler: directUrl !== databaseUrl, ...limits });
    const line = describeBudget(budget);
    process.stderr.write(`${line}\n`);
    log.info({ budget }, 'connection budget');
    if (!budget.fits) {
      throw new BudgetError(
        `${line}: too many. Lower DATABASE_POOL_MAX, --processes/--workers, put PgBouncer in front (DATABASE_URL to it, DATABASE_DIRECT_URL to PostgreSQL), or raise max_connections.`,
      );
    }
    const ran = await migrateLatest(admin);
    if (ran.length) log.info({ migrations: ran }, 'migrations applied');
  } catch (err) {
    await admin.destroy();
    await embedded?.stop();
    throw err;
  }
  await admin.destroy();
  // a development secret generated once here, not raced by N children writing different ones
  await resolveJwtSecret(config.jwtSecret, config.dataDir);
  await resolveSecretsKey(config.secretsKey, config.dataDir);

  const childEnv = (role: Role) => ({ [CHILD_ROLE_ENV]: role, DATABASE_URL: databaseUrl!, ...(config.databaseDirectUrl ? {} : { DATABASE_DIRECT_URL: directUrl }) });
  const roles = new Map<Worker, Role>();
  const crashes: Record<Role, { count: number }> = { api: { count: 0 }, worker: { count: 0 } };
  let stopping = false;

  const fork = (role: Role) => {
    const w = cluster.fork(childEnv(role));
    const started = Date.now();
    roles.set(w, role);
    w.on('exit', (code, signal) => {
      roles.delete(w);
      if (stopping) return;
      if (Date.now() - started > 30_000) crashes[role].count = 0;
      const delay = Math.min(30_000, 500 * 2 ** crashes[role].count);
      crashes[role].count += 1;
      log.warn({ role, pid: w.process.pid, code, signal, restart_in_ms: delay }, 'a child process died; restarting it');
      setTimeout(() => {
        if (!stopping) fork(role);
      }, delay).unref();
    });
  };

  // Each child accepts on the shared socket itself (the kernel spreads connections). With the default
  // round-robin the primary accepts and hands each connection over; one handed to a child that has
  // just died is neither served nor closed — a hung request. And the primary would proxy every connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < opts.processes; i++) fork('api');
  for (let i = 0; i < opts.workers; i++) fork('worker');
  log.info({ api: opts.processes, workers: opts.workers, port: config.port }, 'supervisor started');

  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig, children: roles.size }, 'shutting down: forwarding SIGTERM to every child');
      for (const w of roles.keys()) w.process.kill('SIGTERM');
      const killer = setTimeout(() => {
        for (const w of roles.keys()) w.process.kill('SIGKILL');
      }, config.shutdownTimeoutMs + 5_000);
      killer.unref();
      const check = () => {
        if (roles.size === 0) {
          clearTimeout(killer);
          resolve();
        } else setTimeout(check, 50).unref();
      };
      check();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await embedded?.stop();
}

/** In a forked child: which part to run (undefined in the primary or a plain process). */
export function childRole(): Role | undefined {
  if (!cluster.isWorker) return undefined;
  const r = process.env[CHILD_ROLE_ENV];
  if (r !== 'api' && r !== 'worker') return undefined;
  // the supervisor is gone (killed): drain and exit rather than live on as an orphan
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return r;
}
