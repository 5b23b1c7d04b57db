import type { Knex } from 'knex';

/**
 * Sessions (refresh-token families), their rotated refresh tokens, password-reset tokens and the
 * rejection audit. Every secret is stored as sha256 only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('auth_sessions', (t) => {
    // the family id; access tokens carry it as `sid` so a revoked family cuts them off too
    t.uuid('id').primary();
    t.bigInteger('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    /** absolute lifetime: rotation never extends it */
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.text('revoked_reason');
    t.index(['employee_id']);
    t.index(['expires_at']);
  });
  await knex.schema.createTable('refresh_tokens', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('session_id').notNullable().references('auth_sessions.id').onDelete('CASCADE');
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    /** set when rotated; presenting a used token again is reuse and revokes the family */
    t.timestamp('used_at', { useTz: true });
    t.index(['session_id']);
  });
  await knex.schema.createTable('password_reset_tokens', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.text('token_hash').notNullable().unique();
    t.text('purpose').notNullable().defaultTo('reset');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.index(['employee_id']);
    t.index(['expires_at']);
  });
  await knex.raw(`ALTER TABLE password_reset_tokens ADD CONSTRAINT password_reset_tokens_purpose_check CHECK (purpose IN ('reset', 'setup'))`);
  await knex.schema.createTable('employee_rejections', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('employee_id').references('employees.id').onDelete('SET NULL');
    t.text('company_id').notNullable();
    t.text('first_name').notNullable();
    t.text('last_name').notNullable();
    t.text('middle_name');
    t.text('suffix');
    t.text('email').notNullable();
    t.text('department').notNullable();
    t.text('reason');
    t.bigInteger('rejected_by').references('employees.id').onDelete('SET NULL');
    t.text('rejected_by_name');
    t.timestamp('rejected_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE INDEX employee_rejections_rejected_at_id_idx ON employee_rejections (rejected_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('employee_rejections');
  await knex.schema.dropTable('password_reset_tokens');
  await knex.schema.dropTable('refresh_tokens');
  await knex.schema.dropTable('auth_sessions');
}
