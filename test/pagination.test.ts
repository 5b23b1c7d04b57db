/** Keyset pagination over a real table: complete, no duplicates, stable under inserts, bad cursors rejected. */
import t from 'tap';
import { paginate, encodeCursor } from '../src/http/pagination.js';
import { createTestDatabase, databaseEnv } from './helpers/harness.js';
import { createKnex } from '../src/db/knex.js';
import { AppError } from '../src/http/errors.js';

const { url } = await createTestDatabase(t);
// through the pooler under TEST_PGBOUNCER=1 (plain queries: unnamed statements)
const db = createKnex(databaseEnv(url).DATABASE_URL!, 2);
t.teardown(() => db.destroy());
await db.schema.createTable('items', (tb) => {
  tb.increments('id');
  tb.integer('score').notNullable();
});
await db('items').insert(Array.from({ length: 53 }, (_, i) => ({ score: i % 7 })));

t.test('walks every row once, newest first', async (t) => {
  const seen: number[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await paginate<{ id: number }>(db('items').select('id'), { limit: 10, cursor });
    seen.push(...page.data.map((r) => r.id));
    cursor = page.next_cursor ?? undefined;
    pages++;
  } while (cursor);
  t.equal(pages, 6);
  t.same(seen, Array.from({ length: 53 }, (_, i) => 53 - i));
});

t.test('a two-column key (score, id) ascending', async (t) => {
  const keys = [{ column: 'score', prop: 'score' }, { column: 'id', prop: 'id' }];
  const all: { id: number; score: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await paginate<{ id: number; score: number }>(db('items').select('id', 'score'), { limit: 7, cursor, keys, direction: 'asc' });
    all.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  t.equal(all.length, 53);
  const sorted = [...all].sort((a, b) => a.score - b.score || a.id - b.id);
  t.same(all, sorted);
});

t.test('rows inserted after the first page do not shift later pages', async (t) => {
  const first = await paginate<{ id: number }>(db('items').select('id'), { limit: 5 });
  await db('items').insert({ score: 1 });
  const second = await paginate<{ id: number }>(db('items').select('id'), { limit: 5, cursor: first.next_cursor! });
  t.same(second.data.map((r) => r.id), [48, 47, 46, 45, 44]);
});

t.test('garbage cursors are a 400, not a 500', async (t) => {
  for (const c of ['nope', encodeCursor(['a', 'b']), Buffer.from('{"x":1}').toString('base64url')]) {
    await t.rejects(paginate(db('items').select('id'), { cursor: c }), AppError);
  }
});
