/**
 * Killing one PostgreSQL backend mid-transaction, for tests of what a job leaves behind when its
 * connection dies: hold a lock the job's statement needs, then terminate the backend once it waits.
 */
import type { Knex } from 'knex';
import { waitFor } from './outbound.js';

/**
 * Terminate the backend of this database that is waiting on a lock while running a statement whose
 * text matches `like` (SQL LIKE); waits until there is one.
 */
export async function terminateWhenWaiting(db: Knex, like: string, what: string): Promise<void> {
  await waitFor(async () => {
    const { rows } = await db.raw(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?`,
      [like],
    );
    return rows.some((x: { killed: boolean }) => x.killed);
  }, what);
}

/** Wait until a backend of this database waits on a lock while running a statement matching `like`. */
export async function waitUntilWaiting(db: Knex, like: string, what: string, timeoutMs?: number): Promise<void> {
  await waitFor(async () => {
    const { rows } = await db.raw(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?`, [like]);
    return rows.length > 0;
  }, what, timeoutMs);
}
