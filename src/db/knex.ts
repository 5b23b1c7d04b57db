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
