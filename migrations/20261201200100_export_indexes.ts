import type { Knex } from 'knex';

/**
 * A person's data export (GET /api/employees/{id}/export/) and erasure look up what they wrote and
 * uploaded anywhere: index the author columns so those reads are index scans, not table scans.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS ticket_comments_user_id_idx ON ticket_comments (user_id, id) WHERE user_id IS NOT NULL');
  await knex.raw('CREATE INDEX IF NOT EXISTS ticket_attachments_uploaded_by_idx ON ticket_attachments (uploaded_by, id) WHERE uploaded_by IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS ticket_attachments_uploaded_by_idx');
  await knex.raw('DROP INDEX IF EXISTS ticket_comments_user_id_idx');
}
