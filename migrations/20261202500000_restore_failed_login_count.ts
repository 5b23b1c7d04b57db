import type { Knex } from 'knex';

/**
 * Expand/contract: `employees.failed_login_count` stays until no 0.1.0 instance can be serving (the
 * release after next drops it; docs/deployment.md, "Pending contract steps"). A database that ran the
 * earlier, premature drop (20261201800000, now a no-op) gets it back; elsewhere this does nothing.
 * `NOT NULL DEFAULT 0` needs no table rewrite (PostgreSQL 11+), so it is safe while old instances serve.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE employees ADD COLUMN IF NOT EXISTS failed_login_count integer NOT NULL DEFAULT 0');
}

export async function down(): Promise<void> {
  // nothing: the column belongs to the 0.1.0 schema (20261125000100_accounts_core)
}
