import type { Knex } from 'knex';

/**
 * Snapshots of report figures that are too costly to compute on every request on a large helpdesk:
 * one row per report part (`name`), its figures (`data`) and when they were computed. The ticket
 * report's all-time response/resolution percentiles live here above TICKET_REPORT_LIVE_MAX tickets
 * (src/features/reports/ticket-times.ts). A new table: old instances never read it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE report_snapshots (
      name text PRIMARY KEY,
      computed_at timestamptz NOT NULL,
      data jsonb NOT NULL
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE report_snapshots`);
}
