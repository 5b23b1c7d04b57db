import type { Knex } from 'knex';

/**
 * Account lifecycle and security hardening (issue 13):
 * - employees: statuses Deactivated (cannot sign in; reversible) and Erased (anonymised; final);
 * - employee_audit: who deactivated, reactivated or erased whom, and when (no personal data of the
 *   subject beyond its id and company id, so it survives erasure);
 * - workflow_callbacks.request_hash: a reused webhook-id with a different body is refused.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE employees DROP CONSTRAINT employees_status_check;
    ALTER TABLE employees ADD CONSTRAINT employees_status_check CHECK (status IN ('Pending', 'Approved', 'Rejected', 'Deactivated', 'Erased'));
    ALTER TABLE employees ADD COLUMN deactivated_at timestamptz, ADD COLUMN erased_at timestamptz;
    ALTER TABLE workflow_callbacks ADD COLUMN request_hash text;
  `);
  await knex.schema.createTable('employee_audit', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.text('company_id').notNullable();
    t.text('action').notNullable(); // deactivated | reactivated | erased
    t.text('actor_kind').notNullable(); // user | api_key
    t.bigInteger('actor_id'); // employees.id or api_keys.id (no FK: the log outlives both)
    t.text('reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['employee_id', 'id']);
  });
  await knex.raw(`ALTER TABLE employee_audit ADD CONSTRAINT employee_audit_action_check CHECK (action IN ('deactivated', 'reactivated', 'erased'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('employee_audit');
  await knex.raw(`
    ALTER TABLE workflow_callbacks DROP COLUMN request_hash;
    ALTER TABLE employees DROP COLUMN deactivated_at, DROP COLUMN erased_at;
    UPDATE employees SET status = 'Rejected' WHERE status IN ('Deactivated', 'Erased');
    ALTER TABLE employees DROP CONSTRAINT employees_status_check;
    ALTER TABLE employees ADD CONSTRAINT employees_status_check CHECK (status IN ('Pending', 'Approved', 'Rejected'));
  `);
}
