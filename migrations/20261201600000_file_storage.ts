import type { Knex } from 'knex';

/**
 * Shared file storage: `stored_files` records every stored object's size and SHA-256 (whatever
 * backend holds it); `file_chunks` holds the bytes for FILE_STORAGE=postgres; a storage migration
 * records each key it has moved and verified, so an interrupted run resumes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('stored_files', (t) => {
    t.text('key').primary();
    t.bigInteger('size').notNullable();
    t.specificType('sha256', 'char(64)').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('file_chunks', (t) => {
    t.text('key').notNullable();
    t.integer('seq').notNullable();
    t.binary('data').notNullable();
    t.primary(['key', 'seq']);
  });
  // uncompressed out-of-line storage: substring() on a range reads only the bytes it needs
  await knex.raw('ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL');
  await knex.schema.createTable('file_storage_migrations', (t) => {
    t.text('source').notNullable();
    t.text('target').notNullable();
    t.text('key').notNullable();
    t.specificType('sha256', 'char(64)').notNullable();
    t.timestamp('migrated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['source', 'target', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('file_storage_migrations');
  await knex.schema.dropTable('file_chunks');
  await knex.schema.dropTable('stored_files');
}
