import type { Knex } from 'knex';
import { ensureFaqSeed } from '../src/features/chat/faq-seed.js';

/**
 * FAQ knowledge base (full-text searchable: question weight A, tags B, answer C) and chatbot
 * conversations/messages. The seed FAQs are inserted here so a fresh install can answer at once.
 */
export async function up(knex: Knex): Promise<void> {
  // array_to_string is only STABLE; tags are text, so joining them is immutable in practice
  await knex.raw(`CREATE FUNCTION faq_tags_text(tags text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tags, ' ') $$`);
  await knex.schema.createTable('faqs', (t) => {
    t.bigIncrements('id').primary();
    t.text('question').notNullable();
    t.text('answer').notNullable();
    t.specificType('tags', 'text[]').notNullable().defaultTo('{}');
    t.text('seed_key').unique(); // stable key of a seeded entry (null for admin-created ones)
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    ALTER TABLE faqs ADD COLUMN search tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('english', question), 'A') ||
      setweight(to_tsvector('english', faq_tags_text(tags)), 'B') ||
      setweight(to_tsvector('english', answer), 'C')
    ) STORED;
    CREATE INDEX faqs_search_idx ON faqs USING gin (search);
  `);

  await knex.schema.createTable('chat_conversations', (t) => {
    t.bigIncrements('id').primary();
    // owner: a person, or (for integrations) the API key itself
    t.bigInteger('employee_id').references('employees.id').onDelete('CASCADE');
    t.bigInteger('api_key_id').references('api_keys.id').onDelete('CASCADE');
    t.bigInteger('ticket_id').references('tickets.id').onDelete('SET NULL');
    t.timestamp('escalated_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['employee_id', 'id']);
    t.index(['api_key_id', 'id']);
  });
  await knex.raw(`ALTER TABLE chat_conversations ADD CONSTRAINT chat_conversations_owner_check CHECK ((employee_id IS NULL) <> (api_key_id IS NULL))`);

  await knex.schema.createTable('chat_messages', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('conversation_id').notNullable().references('chat_conversations.id').onDelete('CASCADE');
    t.text('role').notNullable();
    t.text('content').notNullable();
    t.text('provider'); // assistant messages: llm | faq
    t.specificType('sources', 'bigint[]').notNullable().defaultTo('{}');
    t.integer('latency_ms');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['conversation_id', 'id']);
  });
  await knex.raw(`
    ALTER TABLE chat_messages
      ADD CONSTRAINT chat_messages_role_check CHECK (role IN ('user', 'assistant')),
      ADD CONSTRAINT chat_messages_provider_check CHECK (provider IS NULL OR provider IN ('llm', 'faq'))
  `);

  await ensureFaqSeed(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('chat_messages');
  await knex.schema.dropTable('chat_conversations');
  await knex.schema.dropTable('faqs');
  await knex.raw('DROP FUNCTION faq_tags_text(text[])');
}
