import type { Knex } from 'knex';

/**
 * Ticket search stays on its GIN index without VACUUM: with `fastupdate` new entries wait in the
 * index's pending list until a vacuum (or autovacuum, which may be off) merges them, and the
 * planner prices a long pending list so high that it reads the whole table instead
 * (test/query-plans.test.ts). Entries now go straight into the index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER INDEX tickets_search_idx SET (fastupdate = off)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER INDEX tickets_search_idx RESET (fastupdate)');
}
