import type { Knex } from 'knex';

/**
 * Reports, second step (20261201400100 shipped first): the reopenings get their own small partial
 * index, question lexemes are stored when a question is written, and the period indexes carry the
 * columns the reports read (INCLUDE), so a vacuumed table answers from the index alone.
 *
 * On a large existing table run this in a quiet hour: the CREATE INDEXes lock writes while they build,
 * and the stored column rewrites chat_messages.
 */
const OPEN = `('New', 'Open', 'In Progress', 'On Hold', 'Pending')`;
const FINAL = `('Resolved', 'Closed', 'Rejected', 'Withdrawn')`;
const DIMS = 'category, department, priority, status, assigned_to';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- reopen rate: only the reopenings (a percent or two of the changes); the report's WHERE repeats this predicate
    CREATE INDEX ticket_history_reopened_idx ON ticket_history (created_at)
      WHERE event = 'status_changed' AND from_value IN ('Resolved', 'Closed') AND to_value IN ${OPEN};
    -- a question's lexemes, computed once when it is written (grouping similar unanswered questions)
    ALTER TABLE chat_messages ADD COLUMN question_tsv tsvector
      GENERATED ALWAYS AS (CASE WHEN role = 'user' THEN to_tsvector('english', content) END) STORED;

    -- covering versions of the period indexes (index-only scans once the visibility map is set)
    CREATE INDEX tickets_report_submit_idx ON tickets (submit_date) INCLUDE (${DIMS});
    DROP INDEX tickets_approved_at_idx;
    CREATE INDEX tickets_approved_at_idx ON tickets (approved_at) INCLUDE (response_time, ${DIMS}) WHERE approved_at IS NOT NULL;
    DROP INDEX tickets_resolved_at_idx;
    CREATE INDEX tickets_resolved_at_idx ON tickets (resolved_at) INCLUDE (resolution_time, ${DIMS}) WHERE resolved_at IS NOT NULL;
    DROP INDEX tickets_open_assigned_idx;
    CREATE INDEX tickets_open_assigned_idx ON tickets (assigned_to) INCLUDE (category, department, priority) WHERE status IN ${OPEN};
    -- backlog over time: only the changes into or out of the open set (the report's WHERE repeats this predicate)
    DROP INDEX ticket_history_status_changed_idx;
    CREATE INDEX ticket_history_backlog_idx ON ticket_history (created_at) INCLUDE (from_value, to_value, ticket_id)
      WHERE event = 'status_changed' AND ((from_value IN ${OPEN} AND to_value IN ${FINAL}) OR (from_value IN ${FINAL} AND to_value IN ${OPEN}));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX ticket_history_backlog_idx;
    CREATE INDEX ticket_history_status_changed_idx ON ticket_history (created_at) WHERE event = 'status_changed';
    DROP INDEX tickets_open_assigned_idx;
    CREATE INDEX tickets_open_assigned_idx ON tickets (assigned_to) WHERE status IN ${OPEN};
    DROP INDEX tickets_resolved_at_idx;
    CREATE INDEX tickets_resolved_at_idx ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
    DROP INDEX tickets_approved_at_idx;
    CREATE INDEX tickets_approved_at_idx ON tickets (approved_at) WHERE approved_at IS NOT NULL;
    DROP INDEX tickets_report_submit_idx;
    ALTER TABLE chat_messages DROP COLUMN question_tsv;
    DROP INDEX ticket_history_reopened_idx;
  `);
}
