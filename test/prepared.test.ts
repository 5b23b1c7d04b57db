/**
 * queryPrepared: hot statements run as named prepared statements, one per SQL text, so builders that
 * produce different shapes never collide on one connection and the same shape is parsed once.
 */
import t from 'tap';
import { createKnex, queryPrepared } from '../src/db/knex.js';
import { createTestDatabase } from './helpers/harness.js';

const { url } = await createTestDatabase(t);
// one connection, so every statement lands on the same session
const db = createKnex(url, 1);
t.teardown(() => db.destroy());

t.test('two shapes under one prefix are two statements; repeating a shape reuses its statement', async (t) => {
  await db.schema.createTable('prep_things', (tb) => {
    tb.increments('id');
    tb.text('name').notNullable();
    tb.text('colour');
  });
  const withColour = await queryPrepared<{ id: number; name: string; colour: string | null }>(db, 'thing_add', db('prep_things').insert({ name: 'a', colour: 'red' }).returning(['id', 'name', 'colour']));
  const withoutColour = await queryPrepared<{ id: number; colour: string | null }>(db, 'thing_add', db('prep_things').insert({ name: 'b' }).returning(['id', 'colour']));
  const again = await queryPrepared<{ id: number; colour: string | null }>(db, 'thing_add', db('prep_things').insert({ name: 'c' }).returning(['id', 'colour']));
  t.match(withColour, [{ name: 'a', colour: 'red' }]);
  t.match(withoutColour, [{ colour: null }]);
  t.equal(again[0]!.id, withoutColour[0]!.id + 1, 'the repeated shape ran (with its own values)');
  const statements = (await db.raw(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'thing_add_%'`)).rows as { name: string }[];
  t.equal(statements.length, 2, 'one prepared statement per shape on this connection');
  t.ok(statements.every((s) => s.name.length <= 63), 'names fit PostgreSQL identifiers');
});

t.test('bindings are values, never SQL', async (t) => {
  const evil = `x'); DROP TABLE prep_things; --`;
  const rows = await queryPrepared<{ name: string }>(db, 'thing_find', db('prep_things').insert({ name: evil }).returning(['name']));
  t.equal(rows[0]!.name, evil);
  const found = await queryPrepared<{ n: number }>(db, 'thing_count', db('prep_things').where({ name: evil }).count({ n: '*' }));
  t.equal(Number(found[0]!.n), 1);
});

t.test('a migration that changes a returned column type: the stale statement is replaced, not a lasting error', async (t) => {
  const names = () => queryPrepared<{ name: string }>(db, 'thing_names', db('prep_things').select('name').orderBy('id').limit(1));
  const prepared = async () => (await db.raw(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'thing_names_%'`)).rows.map((r: { name: string }) => r.name) as string[];
  t.equal((await names())[0]!.name, 'a');
  const before = await prepared();
  await db.raw('ALTER TABLE prep_things ALTER COLUMN name TYPE varchar(200)');
  t.equal((await names())[0]!.name, 'a', 'answered after the change (retried under a new name)');
  t.equal((await names())[0]!.name, 'a', 'and again');
  t.ok((await prepared()).some((n) => !before.includes(n)), 'the statement was prepared again under a new name');
});
