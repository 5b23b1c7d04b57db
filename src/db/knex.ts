import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// Return BIGINT (int8) and NUMERIC as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type Db = Knex;
export type Tx = Knex.Transaction;

export interface KnexLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const quiet: KnexLogger = { warn: () => undefined, debug: () => undefined };

export function createKnex(connectionString: string, poolMax = 10, logger: KnexLogger = quiet): Knex {
  const toLog = (level: 'warn' | 'debug') => (message: unknown) => logger[level]({ detail: String((message as Error)?.message ?? message).slice(0, 200) }, 'knex');
  return knexFactory({
    // knex prints pool connection errors to the console by default; they belong in our log
    log: { warn: toLog('warn'), error: toLog('warn'), deprecate: toLog('debug'), debug: toLog('debug') },
    client: 'pg',
    connection: { connectionString, application_name: 'smartsupport' },
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 10_000 },
    // Fail fast when the database is down instead of queueing requests for a minute.
    acquireConnectionTimeout: 5_000,
  });
}

/** Run `fn` in a transaction; commits when it resolves, rolls back when it throws. */
export function inTransaction<T>(db: Knex, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(fn);
}

const preparedNames = new Map<string, string>();

/**
 * Run a hot query as a named prepared statement: PostgreSQL parses and plans it once per pooled
 * connection instead of on every call. For a query with CTEs and joins that planning cost more than
 * the execution (see the `ticket-create` benchmark). The name comes from the SQL text, so every
 * shape of a query builder gets its own statement (pg refuses one name for two texts). Only for
 * statements with an explicit, stable result shape: a prepared statement whose result columns change
 * type under it (a migration applied while this process runs) fails until the connection is replaced.
 */
export async function queryPrepared<T>(db: Knex | Knex.Transaction, prefix: string, qb: Knex.QueryBuilder | Knex.Raw): Promise<T[]> {
  const { sql, bindings } = qb.toSQL();
  let name = preparedNames.get(sql);
  if (!name) {
    // at most 63 bytes (PostgreSQL's NAMEDATALEN); a hash collision would be refused by pg, not run
    name = `${prefix.slice(0, 30)}_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
    if (preparedNames.size < 1_000) preparedNames.set(sql, name);
  }
  const r = await db.raw(sql, bindings as readonly Knex.RawBinding[]).options({ name });
  return r.rows as T[];
}
