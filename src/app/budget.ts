/**
 * Connection budget: how many PostgreSQL connections a deployment of this build opens, per process
 * and in total, against the server's `max_connections`. Computed and reported at start-up by the
 * supervisor (`serve --processes N --workers M`); a configuration that cannot fit is refused.
 */
import type { Knex } from 'knex';

/** pg-boss's own pool per process (src/jobs/boss.ts createBoss default). */
export const BOSS_POOL_MAX = 5;
/** the shared LISTEN connection (src/db/listener.ts) */
export const LISTEN_CONNECTIONS = 1;

export interface Budget {
  processes: number;
  /** per process: the knex pool (DATABASE_URL), pg-boss and LISTEN (DATABASE_DIRECT_URL) */
  perProcess: { pool: number; boss: number; listen: number };
  /** connections that reach PostgreSQL directly (all of them without a pooler) */
  direct: number;
  /** connections that go to the pooler (0 without one) */
  pooled: number;
  /** PostgreSQL's limit for ordinary users: max_connections - superuser_reserved_connections */
  available: number | undefined;
  /** connections to this server open right now (other applications, old instances) */
  inUse: number | undefined;
  fits: boolean;
}

export function computeBudget(o: { processes: number; poolMax: number; pooler: boolean; maxConnections?: number; reserved?: number; inUse?: number }): Budget {
  const per = { pool: o.poolMax, boss: BOSS_POOL_MAX, listen: LISTEN_CONNECTIONS };
  const sessionPerProcess = per.boss + per.listen;
  const direct = o.processes * (o.pooler ? sessionPerProcess : sessionPerProcess + per.pool);
  const pooled = o.pooler ? o.processes * per.pool : 0;
  const available = o.maxConnections === undefined ? undefined : o.maxConnections - (o.reserved ?? 0);
  return { processes: o.processes, perProcess: per, direct, pooled, available, inUse: o.inUse, fits: available === undefined || direct <= available };
}

/** Read the server's limits through a direct connection. */
export async function serverLimits(db: Knex): Promise<{ maxConnections: number; reserved: number; inUse: number }> {
  const r = await db.raw(
    "SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved, (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use",
  );
  const row = r.rows[0];
  return { maxConnections: row.max, reserved: row.reserved, inUse: row.in_use };
}

export function describeBudget(b: Budget): string {
  const p = b.perProcess;
  const per = `${p.pool} pool + ${p.boss} pg-boss + ${p.listen} LISTEN`;
  const total = b.pooled ? `${b.direct} direct (pg-boss, LISTEN) + ${b.pooled} through the pooler` : `${b.direct}`;
  const limit = b.available === undefined ? '' : ` of ${b.available} available (max_connections minus superuser_reserved_connections${b.inUse !== undefined ? `; ${b.inUse} in use now` : ''})`;
  return `connection budget: ${b.processes} process(es) × (${per}) = ${total}${limit}`;
}
