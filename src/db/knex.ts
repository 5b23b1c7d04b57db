import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { createEventNotifier, EVENTS_NOTIFY_SQL, NOTIFY_AFTER_COMMIT_SETTING } from './event-notify.js';

// Return BIGINT (int8) and NUMERIC as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/** A connection pool or a transaction: what store functions take. */
export type Db = Knex | Knex.Transaction;

export interface KnexLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const quiet: KnexLogger = { warn: () => undefined, debug: () => undefined };

export interface KnexOptions {
  /**
   * Named prepared statements for `queryPrepared` (default true). Off behind a transaction pooler
   * older than PgBouncer 1.21, which cannot keep a statement prepared on one server connection
   * for the next transaction that lands on another: every query is then an unnamed statement.
   */
  preparedStatements?: boolean;
  /**
   * NOTIFY new events after commit, from the process (src/db/event-notify.ts), instead of inside
   * the writing transaction. Default: on when prepared statements are (a direct connection); a
   * session setting would leak between clients through a transaction pooler, whose connections
   * keep the trigger's in-transaction NOTIFY.
   */
  notifyAfterCommit?: boolean;
}

export function createKnex(connectionString: string, poolMax = 10, logger: KnexLogger = quiet, opts: KnexOptions = {}): Knex {
  const toLog = (level: 'warn' | 'debug') => (message: unknown) => logger[level]({ detail: String((message as Error)?.message ?? message).slice(0, 200) }, 'knex');
  let db: Knex | undefined;
  const notifier =
    (opts.notifyAfterCommit ?? opts.preparedStatements !== false)
      ? createEventNotifier(
          // through pg on a pooled connection, past knex's runner (one simple query, four statements)
          async () => db && onPooledConnection(db, (conn) => conn.query({ text: EVENTS_NOTIFY_SQL })),
          (err) => logger.debug({ err: err.message }, 'NOTIFY of new events failed; listeners poll'),
        )
      : undefined;
  db = knexFactory({
    // knex prints pool connection errors to the console by default; they belong in our log
    log: { warn: toLog('warn'), error: toLog('warn'), deprecate: toLog('debug'), debug: toLog('debug') },
    client: 'pg',
    connection: { connectionString, application_name: 'smartsupport' },
    pool: {
      min: 0,
      max: poolMax,
      idleTimeoutMillis: 10_000,
      // PostgreSQL ≥ 14: a statement whose client is gone (the API process was killed) is cancelled
      // within a second instead of running on and committing a write nobody will hear about
      // (src/http/idempotency.ts relies on this for keys cut by a kill). Older servers: ignored.
      afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
        // jit = off: a keyset page's LIMIT is a parameter, so the planner prices the statement as if
        // it read the whole table and, past jit_above_cost (a few hundred thousand tickets), spent
        // 0.1–2.6 s compiling it to machine code to return 20 rows (bench/volume.ts). OLTP reads gain
        // nothing from JIT; the few big report scans lose little (measured: < 1%).
        conn.query(`SET jit = off`, () =>
          conn.query(`SET client_connection_check_interval = '1s'`, () => {
            if (!notifier) return done(null, conn);
            notifier.watch(conn);
            conn.query(NOTIFY_AFTER_COMMIT_SETTING, () => done(null, conn));
          }),
        );
      },
    },
    // Fail fast when the database is down instead of queueing requests for a minute.
    acquireConnectionTimeout: 5_000,
    // read back by queryPrepared through `client.config` (a transaction shares its pool's config)
    smartsupportPreparedStatements: opts.preparedStatements ?? true,
  } as Knex.Config);
  return db;
}

/** Whether `db` (a pool or a transaction) may use named prepared statements. */
export function usesPreparedStatements(db: Db): boolean {
  const config = (db as unknown as { client?: { config?: { smartsupportPreparedStatements?: boolean } } }).client?.config;
  return config?.smartsupportPreparedStatements !== false;
}

/**
 * DATABASE_PREPARED_STATEMENTS: `on`/`off` as said; `auto` is off when DATABASE_DIRECT_URL is set
 * to a different server or port than DATABASE_URL (DATABASE_URL is then a pooler such as PgBouncer
 * in transaction mode), on otherwise.
 */
export function preparedStatementsFor(mode: 'auto' | 'on' | 'off', databaseUrl: string, directUrl: string | undefined): boolean {
  if (mode !== 'auto') return mode === 'on';
  if (!directUrl) return true;
  const a = new URL(databaseUrl);
  const b = new URL(directUrl);
  return a.host === b.host;
}

const preparedNames = new Map<string, string>();
/** Bumped when PostgreSQL says a prepared statement went stale; new names are prepared afresh everywhere. */
let preparedGeneration = 0;

/**
 * Run a hot query as a named prepared statement: PostgreSQL parses and plans it once per pooled
 * connection instead of on every call. For a query with CTEs and joins that planning cost more than
 * the execution (see the `ticket-create` benchmark). The name comes from the SQL text, so every
 * shape of a query builder gets its own statement (pg refuses one name for two texts).
 * A migration that changes the type of a column a statement returns makes PostgreSQL refuse the
 * statement on connections that prepared it ("cached plan must not change result type"); the call is
 * then retried once under a new name (outside a transaction; inside one the error aborts it and is
 * thrown), and every later call uses new names too.
 */
export async function queryPrepared<T>(db: Db, prefix: string, qb: Knex.QueryBuilder | Knex.Raw): Promise<T[]> {
  if ((db as Knex.Transaction).isTransaction) {
    // a transaction's connection is knex's to hand out: through knex, with its `?` placeholders
    const { sql, bindings } = qb.toSQL();
    const run = async () => {
      const r = await db.raw(sql, bindings as readonly Knex.RawBinding[]).options(usesPreparedStatements(db) ? { name: statementName(prefix, sql) } : {});
      return r.rows as T[];
    };
    try {
      return await run();
    } catch (err) {
      // the error has aborted the transaction: the caller's retry uses the new names
      if (isStalePlan(err)) nextGeneration();
      throw err;
    }
  }
  const { sql, bindings } = qb.toSQL().toNative();
  return queryNative<T>(db as Knex, prefix, sql, bindings);
}

/**
 * The statement name for `sql`: at most 63 bytes (PostgreSQL's NAMEDATALEN),
 * from a hash of the text and the generation; a hash collision would be refused by pg, not run.
 */
function statementName(prefix: string, sql: string): string {
  let name = preparedNames.get(sql);
  if (!name) {
    name = `${prefix.slice(0, 26)}_${createHash('sha256').update(`${preparedGeneration}\n${sql}`).digest('base64url').slice(0, 24)}`;
    if (preparedNames.size >= 1_000) preparedNames.clear();
    preparedNames.set(sql, name);
  }
  return name;
}

/** After a stale plan: every statement is prepared afresh under a new name. */
function nextGeneration(): void {
  preparedGeneration += 1;
  preparedNames.clear();
}

interface PooledConnection {
  query(q: { name?: string; text: string; values?: readonly unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  __knexUid?: string;
}

/**
 * `fn` on a connection of `db`'s pool, handed out and taken back by knex's own pool (so connection
 * loss and pool timeouts surface exactly as through knex, and a broken connection is taken out of
 * service).
 */
async function onPooledConnection<T>(db: Knex, fn: (conn: PooledConnection) => Promise<T>): Promise<T> {
  const client = (db as unknown as { client: { acquireConnection(): Promise<PooledConnection>; releaseConnection(c: PooledConnection): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  try {
    return await fn(conn);
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * A hot statement in PostgreSQL's own `$n` form, run on a connection of `db`'s pool through pg
 * itself: a named prepared statement (unnamed when they are off). Skips knex's second compile and
 * its runner — on an employee's ticket list those were a fifth of the API process's time — and
 * still emits knex's `query` event with the SQL and bindings sent, so whatever watches the
 * statements (tests counting them, the plan checks) sees this one too.
 */
export async function queryNative<T>(db: Knex, prefix: string, sql: string, bindings: readonly unknown[]): Promise<T[]> {
  const named = usesPreparedStatements(db);
  const run = () => {
    const name = named ? statementName(prefix, sql) : undefined;
    return onPooledConnection(db, async (conn) => {
      db.emit('query', { method: 'raw', sql, bindings, options: name ? { name } : {}, __knexUid: conn.__knexUid });
      return (await conn.query(name ? { name, text: sql, values: bindings } : { text: sql, values: bindings })).rows as T[];
    });
  };
  try {
    return await run();
  } catch (err) {
    if (!isStalePlan(err)) throw err;
    nextGeneration();
    return run();
  }
}

const isStalePlan = (err: unknown): boolean => {
  const e = err as { code?: string; message?: string };
  return e?.code === '0A000' && /cached plan must not change result type/.test(e.message ?? '');
};

/**
 * For libraries that take a node-pg style client (`query({ name, text, values })`, e.g.
 * rate-limiter-flexible): runs on the pool's connections and, when named prepared statements are off
 * (behind a transaction pooler), drops the statement name so each query is an unnamed statement.
 */
export function pgQueryClient(db: Knex): { query(q: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }> } {
  const named = usesPreparedStatements(db);
  return { query: (q) => onPooledConnection(db, (conn) => conn.query(named ? q : { text: q.text, values: q.values })) };
}
