/**
 * pg-boss lifecycle and the transactional enqueue helper: a job sent through `enqueue(trx, …)`
 * is written by the caller's transaction, so a rolled-back change sends nothing.
 */
import type { Knex } from 'knex';
import PgBoss from 'pg-boss';
import { QUEUES, QUEUE_POLICIES, deadLetterOf, type JobPayloads, type QueueName } from './queues.js';

export const BOSS_SCHEMA = 'pgboss';

export interface BossOptions {
  supervise?: boolean;
  schedule?: boolean;
  max?: number;
  /** how often pg-boss fails/retries expired jobs and archives old ones (default 20 s) */
  maintenanceIntervalSeconds?: number;
}

/**
 * Job history: completed jobs move to the archive after 1 hour, failed ones after 7 days (so the
 * admin can see and retry them), and archived jobs are deleted after 14 days.
 */
export function createBoss(connectionString: string, opts: BossOptions = {}): PgBoss {
  return new PgBoss({
    connectionString,
    schema: BOSS_SCHEMA,
    application_name: 'smartsupport-jobs',
    max: opts.max ?? 5,
    supervise: opts.supervise ?? true,
    schedule: opts.schedule ?? false,
    migrate: true,
    maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 20,
    archiveCompletedAfterSeconds: 3600,
    archiveFailedAfterSeconds: 7 * 86400,
    deleteAfterDays: 14,
  });
}

/** Create every queue (and its dead-letter queue) if missing; safe to run on every start. */
export async function ensureQueues(boss: PgBoss, opts: { expireInSeconds?: number; leases?: Partial<Record<QueueName, number>> } = {}): Promise<void> {
  for (const name of Object.values(QUEUES)) {
    const dead = deadLetterOf(name);
    if (!(await boss.getQueue(dead))) await boss.createQueue(dead, { name: dead, retentionDays: 30 } as PgBoss.Queue);
    const p = QUEUE_POLICIES[name];
    const options = { name, ...(p.policy ? { policy: p.policy } : {}), retryLimit: p.retryLimit, retryDelay: p.retryDelay, retryBackoff: p.retryBackoff, expireInSeconds: opts.expireInSeconds ?? opts.leases?.[name] ?? p.expireInSeconds, deadLetter: dead };
    if (await boss.getQueue(name)) await boss.updateQueue(name, options);
    else await boss.createQueue(name, options);
  }
}

/**
 * Adapts a knex transaction (or knex itself) to pg-boss's `db.executeSql(text, values)`.
 * pg-boss writes `$1…$n`, repeats a parameter with different casts, and passes `undefined`;
 * rewriting that into knex `?` bindings would split one parameter into several with clashing
 * inferred types. So the SQL runs unchanged on the transaction's own connection.
 */
export function knexExecutor(trx: Knex | Knex.Transaction): PgBoss.Db {
  type PgConn = { query(text: string, values: unknown[]): Promise<{ rows: unknown[] }> };
  const client = (trx as unknown as { client: { acquireConnection(): Promise<PgConn>; releaseConnection(c: PgConn): Promise<void> } }).client;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      // inside a transaction this is the transaction's connection; releasing it is a no-op
      const conn = await client.acquireConnection();
      try {
        const res = await conn.query(text, values.map((v) => (v === undefined ? null : v)));
        return { rows: res.rows ?? [] };
      } finally {
        await client.releaseConnection(conn);
      }
    },
  };
}

export interface Jobs {
  boss: PgBoss;
  /** Enqueue within `trx` (committed with it) — the default for anything caused by a data change. */
  enqueue<Q extends QueueName>(trx: Knex | Knex.Transaction, queue: Q, data: JobPayloads[Q], options?: PgBoss.SendOptions): Promise<string | null>;
}

export function createJobs(boss: PgBoss): Jobs {
  return {
    boss,
    enqueue: (trx, queue, data, options = {}) => boss.send(queue, data as object, { ...options, db: knexExecutor(trx) }),
  };
}
