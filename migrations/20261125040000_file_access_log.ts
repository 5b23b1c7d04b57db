import type { Knex } from 'knex';

/**
 * Every read of a stored file (attachment download or /media/ request), granted or denied:
 * who (employee or API key or signed link), what (storage key / attachment), when, and the result.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('file_access_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('actor_kind').notNullable(); // user | api_key | signed_url | anonymous
    t.bigInteger('actor_id'); // employees.id or api_keys.id (no FK: the log outlives both)
    t.text('operation').notNullable(); // downloadAttachment | getMedia
    t.text('storage_key'); // what was asked for (validated key, or null when the path was refused)
    t.bigInteger('attachment_id');
    t.text('result').notNullable(); // granted | denied | not_found | invalid_path | range_not_satisfiable
    t.integer('status').notNullable();
    t.text('request_id');
    t.index(['created_at']);
    t.index(['storage_key', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('file_access_log');
}
