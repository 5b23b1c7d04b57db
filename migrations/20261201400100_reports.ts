import type { Knex } from 'knex';

/**
 * Reports (issue 20): the indexes that keep every report a range scan over its period, how a chat
 * answer was produced (the model failed over to FAQ search), and the weekly digest's claim table.
 *
 * Index on a large existing table: run this migration in a quiet hour (CREATE INDEX locks writes
 * for the build; on 1M tickets each takes a few seconds).
 */
const OPEN = `('New', 'Open', 'In Progress', 'On Hold', 'Pending')`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- first-response and resolution distributions: tickets approved / resolved in the period
    CREATE INDEX tickets_approved_at_idx ON tickets (approved_at) WHERE approved_at IS NOT NULL;
    CREATE INDEX tickets_resolved_at_idx ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
    -- backlog now and per-assignee workload: only the open tickets
    CREATE INDEX tickets_open_assigned_idx ON tickets (assigned_to) WHERE status IN ${OPEN};
    -- backlog over time and reopen rate: status changes in the period
    CREATE INDEX ticket_history_status_changed_idx ON ticket_history (created_at) WHERE event = 'status_changed';
    -- chat analytics by period
    CREATE INDEX chat_conversations_created_at_idx ON chat_conversations (created_at);
    CREATE INDEX chat_messages_created_at_idx ON chat_messages (created_at);
    -- the model was configured but failed, so FAQ search answered (a fast default: no table rewrite)
    ALTER TABLE chat_messages ADD COLUMN model_failed boolean NOT NULL DEFAULT false;
  `);
  // one weekly digest per week, however many workers run the schedule or retry the job
  await knex.schema.createTable('report_digests', (t) => {
    t.date('week_start').primary();
    t.integer('recipients').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('report_digests');
  await knex.raw(`
    ALTER TABLE chat_messages DROP COLUMN model_failed;
    DROP INDEX chat_messages_created_at_idx;
    DROP INDEX chat_conversations_created_at_idx;
    DROP INDEX ticket_history_status_changed_idx;
    DROP INDEX tickets_open_assigned_idx;
    DROP INDEX tickets_resolved_at_idx;
    DROP INDEX tickets_approved_at_idx;
  `);
}
