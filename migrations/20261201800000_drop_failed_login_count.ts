import type { Knex } from 'knex';

/**
 * `employees.failed_login_count` was written on every failed sign-in and never read: the sign-in
 * throttle counts attempts in `rate_limits` (src/features/auth/login-throttle.ts), so the column goes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('employees', (t) => {
    t.dropColumn('failed_login_count');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('employees', (t) => {
    t.integer('failed_login_count').notNullable().defaultTo(0);
  });
}
