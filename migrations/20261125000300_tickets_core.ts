import type { Knex } from 'knex';

export const TICKET_STATUSES = ['New', 'Open', 'In Progress', 'On Hold', 'Pending', 'Resolved', 'Closed', 'Rejected', 'Withdrawn'] as const;
export const PRIORITIES = ['Critical', 'High', 'Medium', 'Low'] as const;
const DEPARTMENTS = ['IT Department', 'Asset Department', 'Budget Department'] as const;

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * The ticket schema shared by tickets, attachments, workflow and chat escalation.
 * Durations (response_time, resolution_time) are integer seconds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE SEQUENCE ticket_number_seq');
  await knex.schema.createTable('tickets', (t) => {
    t.bigIncrements('id').primary();
    t.text('ticket_number').notNullable().unique().defaultTo(knex.raw(`format_human_id('TX', nextval('ticket_number_seq'))`));
    t.bigInteger('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.text('subject').notNullable();
    t.text('category').notNullable();
    t.text('sub_category').notNullable();
    t.text('description').notNullable();
    t.date('scheduled_date');
    t.text('priority');
    t.text('department');
    t.text('status').notNullable().defaultTo('New');
    t.bigInteger('assigned_to').references('employees.id').onDelete('SET NULL');
    t.timestamp('submit_date', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('update_date', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('approved_at', { useTz: true });
    t.integer('response_time');
    t.timestamp('resolved_at', { useTz: true });
    t.integer('resolution_time');
    t.timestamp('time_closed', { useTz: true });
    t.text('rejection_reason');
    t.integer('version').notNullable().defaultTo(1);
  });
  await knex.raw(`
    ALTER TABLE tickets
      ADD CONSTRAINT tickets_status_check CHECK (status IN (${list(TICKET_STATUSES)})),
      ADD CONSTRAINT tickets_priority_check CHECK (priority IS NULL OR priority IN (${list(PRIORITIES)})),
      ADD CONSTRAINT tickets_department_check CHECK (department IS NULL OR department IN (${list(DEPARTMENTS)})),
      ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', ticket_number), 'A') ||
        setweight(to_tsvector('english', coalesce(subject, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'B')
      ) STORED;
    CREATE INDEX tickets_search_idx ON tickets USING gin (search);
    CREATE INDEX tickets_status_id_idx ON tickets (status, id DESC);
    CREATE INDEX tickets_priority_id_idx ON tickets (priority, id DESC);
    CREATE INDEX tickets_department_id_idx ON tickets (department, id DESC);
    CREATE INDEX tickets_category_id_idx ON tickets (category, id DESC);
    CREATE INDEX tickets_assigned_to_id_idx ON tickets (assigned_to, id DESC);
    CREATE INDEX tickets_employee_id_id_idx ON tickets (employee_id, id DESC);
    CREATE INDEX tickets_submit_date_idx ON tickets (submit_date DESC, id DESC);
  `);

  await knex.schema.createTable('ticket_comments', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.bigInteger('user_id').references('employees.id').onDelete('SET NULL');
    t.text('comment').notNullable();
    t.boolean('is_internal').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['ticket_id', 'id']);
  });

  await knex.schema.createTable('ticket_attachments', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.text('storage_key').notNullable().unique(); // server-chosen path under the media root
    t.text('file_name').notNullable(); // original name, sanitised; metadata only
    t.text('file_type').notNullable(); // detected from content
    t.bigInteger('file_size').notNullable();
    t.timestamp('upload_date', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.bigInteger('uploaded_by').references('employees.id').onDelete('SET NULL');
    t.index(['ticket_id', 'id']);
  });

  // append-only: who did what to a ticket, and when
  await knex.schema.createTable('ticket_history', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.bigInteger('actor_id').references('employees.id').onDelete('SET NULL');
    t.text('actor_kind').notNullable().defaultTo('user'); // user | api_key | workflow | system
    t.bigInteger('actor_api_key_id');
    t.text('event').notNullable(); // created | updated | status_changed | assigned | commented | attachment_added
    t.text('field');
    t.text('from_value');
    t.text('to_value');
    t.boolean('is_internal').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['ticket_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ticket_history');
  await knex.schema.dropTable('ticket_attachments');
  await knex.schema.dropTable('ticket_comments');
  await knex.schema.dropTable('tickets');
  await knex.raw('DROP SEQUENCE ticket_number_seq');
}
