import type { Knex } from 'knex';

export const ROLES = ['Employee', 'Ticket Coordinator', 'System Admin'] as const;
export const EMPLOYEE_STATUSES = ['Pending', 'Approved', 'Rejected'] as const;
export const DEPARTMENTS = ['IT Department', 'Asset Department', 'Budget Department'] as const;
export const SUFFIXES = ['Jr.', 'Sr.', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'] as const;

const list = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

export async function up(knex: Knex): Promise<void> {
  // Human ids come from sequences: race-free, and they widen past 9999 instead of wrapping.
  await knex.raw(`
    CREATE SEQUENCE employee_company_id_seq;
    CREATE FUNCTION format_human_id(prefix text, n bigint) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT prefix || CASE WHEN n < 10000 THEN lpad(n::text, 4, '0') ELSE n::text END $$;
  `);
  await knex.schema.createTable('employees', (t) => {
    t.bigIncrements('id').primary();
    t.text('company_id').notNullable().unique().defaultTo(knex.raw(`format_human_id('MA', nextval('employee_company_id_seq'))`));
    t.text('last_name').notNullable();
    t.text('first_name').notNullable();
    t.text('middle_name');
    t.text('suffix');
    t.text('department').notNullable();
    t.text('email').notNullable();
    t.text('password_hash');
    t.text('image');
    t.text('role').notNullable().defaultTo('Employee');
    t.text('status').notNullable().defaultTo('Pending');
    t.boolean('notified').notNullable().defaultTo(false);
    t.timestamp('date_created', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_login_at', { useTz: true });
    t.timestamp('password_changed_at', { useTz: true });
    t.integer('failed_login_count').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
  });
  await knex.raw(`
    ALTER TABLE employees
      ADD CONSTRAINT employees_role_check CHECK (role IN (${list(ROLES)})),
      ADD CONSTRAINT employees_status_check CHECK (status IN (${list(EMPLOYEE_STATUSES)})),
      ADD CONSTRAINT employees_department_check CHECK (department IN (${list(DEPARTMENTS)})),
      ADD CONSTRAINT employees_suffix_check CHECK (suffix IS NULL OR suffix IN (${list(SUFFIXES)}));
    CREATE UNIQUE INDEX employees_email_lower_key ON employees (lower(email));
    CREATE INDEX employees_status_id_idx ON employees (status, id DESC);
    CREATE INDEX employees_role_id_idx ON employees (role, id DESC);
    CREATE INDEX employees_department_id_idx ON employees (department, id DESC);
  `);

  await knex.schema.createTable('api_keys', (t) => {
    t.bigIncrements('id').primary();
    t.text('name').notNullable();
    t.text('prefix').notNullable();
    t.text('key_hash').notNullable().unique();
    t.text('role').notNullable();
    t.specificType('scopes', 'text[]').notNullable().defaultTo('{}');
    t.bigInteger('created_by').references('employees.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN (${list(ROLES)}))`);

  // Shared store for rate-limiter-flexible, so limits hold across API instances.
  await knex.raw(`
    CREATE TABLE rate_limits (
      key varchar(255) PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    );
    CREATE INDEX rate_limits_expire_idx ON rate_limits (expire);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
  await knex.schema.dropTable('api_keys');
  await knex.schema.dropTable('employees');
  await knex.raw('DROP FUNCTION format_human_id(text, bigint); DROP SEQUENCE employee_company_id_seq;');
}
