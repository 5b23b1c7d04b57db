import type { Knex } from 'knex';

/**
 * SLA report (issue 16): the period index on ticket_sla carries every column the report reads, so a
 * vacuumed table answers from the index alone (the report hash-aggregates histograms of business
 * minutes instead of sorting the period's rows — see SlaAdmin.report). Replaces ticket_sla_created_idx
 * (same key; nothing else reads it).
 *
 * On a large existing table run this in a quiet hour: CREATE INDEX locks writes to ticket_sla while
 * it builds (100k rows: about a second).
 */
const COLUMNS = `policy_name, priority, category, assignee_id,
  first_response_met_at, first_response_due_at, first_response_business_minutes,
  resolution_met_at, resolution_due_at, resolution_business_minutes`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX ticket_sla_report_idx ON ticket_sla (created_at) INCLUDE (${COLUMNS});
    DROP INDEX ticket_sla_created_idx;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX ticket_sla_created_idx ON ticket_sla (created_at);
    DROP INDEX ticket_sla_report_idx;
  `);
}
