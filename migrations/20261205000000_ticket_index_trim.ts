import type { Knex } from 'knex';

/**
 * Two ticket indexes no query uses any more, dropped so every ticket insert and update maintains two
 * fewer (issue 17's create path: a new ticket updated 12 indexes, now 10):
 *
 * - `tickets_submit_date_idx (submit_date DESC, id DESC)`: the submitted_after/before filters and the
 *   reports' period scans read `tickets_report_submit_idx (submit_date) INCLUDE (…)`, which covers
 *   the same ranges (a B-tree scans either way) and also answers the reports from the index alone;
 *   `order=submit_date` pages by id.
 * - `tickets_open_assigned_idx`: open tickets per assignee come from the count rollup
 *   (20261203100000_ticket_count_rollup) since the workload report moved to it.
 *
 * Safe while older instances serve (expand/contract): dropping an index changes no result, only plans.
 */
const OPEN = `('New', 'Open', 'In Progress', 'On Hold', 'Pending')`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS tickets_submit_date_idx;
    DROP INDEX IF EXISTS tickets_open_assigned_idx;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX tickets_open_assigned_idx ON tickets (assigned_to) INCLUDE (category, department, priority) WHERE status IN ${OPEN};
    CREATE INDEX tickets_submit_date_idx ON tickets (submit_date DESC, id DESC);
  `);
}
