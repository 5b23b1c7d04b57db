import type { Knex } from 'knex';

/**
 * Outgoing work is recorded as rows written in the same transaction as the change that causes it;
 * the job that sends it points at the row. The row is the log; the job is the engine.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notifications', (t) => {
    t.bigIncrements('id').primary();
    t.text('template').notNullable();
    t.text('recipient').notNullable();
    t.jsonb('data').notNullable().defaultTo('{}');
    t.text('subject');
    t.text('status').notNullable().defaultTo('queued'); // queued | sent | failed
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.text('transport'); // smtp | outbox
    t.text('message_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.index(['status', 'id']);
    t.index(['recipient', 'id']);
  });
  await knex.raw(`ALTER TABLE notifications ADD CONSTRAINT notifications_status_check CHECK (status IN ('queued', 'sent', 'failed'))`);

  await knex.schema.createTable('workflow_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('ticket_id').notNullable();
    // the Idempotency-Key / webhook-id the workflow system sees; stable across retries
    t.uuid('event_id').notNullable().unique().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('reason').notNullable(); // approved | finalized | redelivery
    t.text('status').notNullable().defaultTo('pending'); // pending | delivered | failed | dead | stopped | skipped
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    t.index(['ticket_id', 'id']);
    t.index(['status', 'id']);
  });
  await knex.raw(`ALTER TABLE workflow_deliveries ADD CONSTRAINT workflow_deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'dead', 'stopped', 'skipped'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('workflow_deliveries');
  await knex.schema.dropTable('notifications');
}
