import type { Knex } from 'knex';

/**
 * Notification preferences: one row per (person, key) they chose explicitly. A key without a row
 * follows its default from the catalogue (src/features/notifications/preferences.ts), so a new key
 * or a changed default needs no data migration. The primary key serves the per-key lookups that
 * `wantsEmail` / `wantsEmailMany` make (employee_id = ANY(…) AND key = …).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notification_preferences', (t) => {
    t.bigInteger('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.boolean('enabled').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['employee_id', 'key']);
  });
  // "who opted in to X" (the weekly digest's recipient list) without a scan of every person's rows
  await knex.raw('CREATE INDEX notification_preferences_key_idx ON notification_preferences (key, enabled, employee_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('notification_preferences');
}
