import type { Knex } from 'knex';

/**
 * Run `fn` once `db` has committed: at once when `db` is the pool (the statement already has), after
 * the COMMIT when it is a transaction, never when that transaction rolls back. For process-local
 * follow-ups that must not run ahead of the data (flushing the caches that NOTIFY keeps current,
 * so this process sees its own change before the notification comes back).
 */
export function afterCommit(db: Knex | Knex.Transaction, fn: () => void): void {
  const trx = db as Knex.Transaction;
  if (trx.isTransaction && trx.executionPromise) trx.executionPromise.then(fn, () => undefined);
  else fn();
}
