import type { Knex } from 'knex';

/** workflow_callbacks are purged by age (maintenance task `workflow-callbacks`): index the age. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workflow_callbacks', (t) => t.index(['created_at']));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workflow_callbacks', (t) => t.dropIndex(['created_at']));
}
