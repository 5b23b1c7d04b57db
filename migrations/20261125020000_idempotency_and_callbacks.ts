import type { Knex } from 'knex';

/**
 * idempotency_keys: the first response to a POST with an `Idempotency-Key`, per caller, kept 24 h
 * (purged by the maintenance job). workflow_callbacks: inbound workflow events already applied,
 * keyed by webhook-id / event_id, with the result a repeat gets back.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.text('caller').notNullable(); // user:<id> | api_key:<id> | ip:<addr>
    t.text('key').notNullable();
    t.text('request_hash').notNullable(); // method + path + body
    t.text('state').notNullable().defaultTo('running'); // running | done
    t.integer('response_status');
    t.jsonb('response_headers');
    t.json('response_body'); // json, not jsonb: a replay must keep the exact key order
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable().defaultTo(knex.raw(`now() + interval '24 hours'`));
    t.primary(['caller', 'key']);
    t.index(['expires_at']);
  });
  await knex.schema.createTable('workflow_callbacks', (t) => {
    t.text('event_key').primary(); // webhook-id, else event_id from the body
    t.bigInteger('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.json('result');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('workflow_callbacks');
  await knex.schema.dropTable('idempotency_keys');
}
