import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// Return BIGINT (int8) and NUMERIC as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type Db = Knex;
export type Tx = Knex.Transaction;

export function createKnex(connectionString: string, poolMax = 10): Knex {
  return knexFactory({
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
