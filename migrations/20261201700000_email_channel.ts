import type { Knex } from 'knex';

/**
 * The email channel.
 *
 * - inbound_emails: every received message, stored raw (the bytes live in the file store under
 *   `storage_key`) BEFORE the sender is told 250 / the IMAP message is flagged; a pg-boss job then
 *   processes it. Duplicates are refused by two unique indexes: the same Message-ID, or the same
 *   SHA-256 of the raw bytes (a message without a Message-ID).
 * - email_messages: every Message-ID we sent or took in about a ticket, so a reply's
 *   In-Reply-To/References finds its ticket.
 * - notifications gain the ticket they are about (outbound threading) and the message they answer.
 * - announcements: admin posts to everyone, a department or a role.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbound_emails', (t) => {
    t.bigIncrements('id').primary();
    t.text('source').notNullable(); // smtp | imap
    t.text('message_id'); // without angle brackets, lower-cased domain part kept as sent
    t.text('raw_sha256').notNullable();
    t.text('storage_key').notNullable();
    t.bigInteger('size').notNullable();
    t.text('envelope_from');
    t.specificType('envelope_to', 'text[]').notNullable().defaultTo('{}');
    t.text('from_address');
    t.text('subject');
    // received → processed | quarantined | ignored | failed ; released quarantine goes back to received
    t.text('status').notNullable().defaultTo('received');
    t.text('outcome'); // ticket_created | comment_added | internal_note | bounce_noted | …
    t.text('reason'); // why quarantined / ignored / failed (the guard or rule that decided)
    t.bigInteger('ticket_id').references('tickets.id').onDelete('SET NULL');
    t.bigInteger('comment_id');
    t.text('body_text'); // the full text (HTML reduced), before quoted history and signature were trimmed
    t.bigInteger('release_employee_id').references('employees.id').onDelete('SET NULL');
    t.bigInteger('released_by').references('employees.id').onDelete('SET NULL');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('processed_at', { useTz: true });
  });
  await knex.raw(`
    ALTER TABLE inbound_emails
      ADD CONSTRAINT inbound_emails_status_check CHECK (status IN ('received', 'processed', 'quarantined', 'ignored', 'failed')),
      ADD CONSTRAINT inbound_emails_source_check CHECK (source IN ('smtp', 'imap'));
    CREATE UNIQUE INDEX inbound_emails_message_id_key ON inbound_emails (message_id) WHERE message_id IS NOT NULL;
    CREATE UNIQUE INDEX inbound_emails_raw_sha256_key ON inbound_emails (raw_sha256);
    CREATE INDEX inbound_emails_status_id_idx ON inbound_emails (status, id DESC);
    CREATE INDEX inbound_emails_from_received_idx ON inbound_emails (lower(from_address), received_at) WHERE outcome = 'ticket_created';
    CREATE INDEX inbound_emails_ticket_idx ON inbound_emails (ticket_id) WHERE ticket_id IS NOT NULL;
  `);

  await knex.schema.createTable('email_messages', (t) => {
    t.text('message_id').primary(); // without angle brackets
    t.bigInteger('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.text('direction').notNullable(); // out | in
    t.bigInteger('notification_id');
    t.bigInteger('inbound_email_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['ticket_id']);
  });
  await knex.raw(`ALTER TABLE email_messages ADD CONSTRAINT email_messages_direction_check CHECK (direction IN ('out', 'in'))`);

  await knex.schema.alterTable('notifications', (t) => {
    t.bigInteger('ticket_id').references('tickets.id').onDelete('SET NULL');
    t.text('in_reply_to'); // the inbound Message-ID this mail answers (without brackets)
  });

  await knex.schema.createTable('announcements', (t) => {
    t.bigIncrements('id').primary();
    t.text('title').notNullable();
    t.text('body').notNullable();
    t.text('audience').notNullable(); // everyone | department | role
    t.text('department');
    t.text('role');
    t.boolean('send_email').notNullable().defaultTo(false);
    t.integer('emailed_count');
    t.bigInteger('created_by').references('employees.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('archived_at', { useTz: true });
  });
  await knex.raw(`
    ALTER TABLE announcements ADD CONSTRAINT announcements_audience_check CHECK (
      (audience = 'everyone' AND department IS NULL AND role IS NULL) OR
      (audience = 'department' AND department IS NOT NULL AND role IS NULL) OR
      (audience = 'role' AND role IS NOT NULL AND department IS NULL));
    CREATE INDEX announcements_active_idx ON announcements (id DESC) WHERE archived_at IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('announcements');
  await knex.schema.alterTable('notifications', (t) => {
    t.dropColumn('in_reply_to');
    t.dropColumn('ticket_id');
  });
  await knex.schema.dropTable('email_messages');
  await knex.schema.dropTable('inbound_emails');
}
