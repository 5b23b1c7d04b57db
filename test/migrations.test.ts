/** Every migration runs up on an empty database, rolls all the way down, and up again. */
import t from 'tap';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createKnex } from '../src/db/knex.js';
import { migrateLatest, migrateRollback, pendingMigrations } from '../src/db/migrate.js';
import { urlForDatabase } from './helpers/harness.js';

const name = `ss_t_${process.env.SS_TEST_RUN}_m${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: urlForDatabase('postgres') });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const db = createKnex(urlForDatabase(name), 2);
t.teardown(async () => {
  await db.destroy();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

const tables = async () =>
  (await db.raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%' ORDER BY 1`)).rows.map((r: { tablename: string }) => r.tablename);

t.test('up, down, up', async (t) => {
  const pendingBefore = await pendingMigrations(db);
  t.ok(pendingBefore.length > 0, 'an empty database has pending migrations');
  const applied = await migrateLatest(db);
  t.same(applied, pendingBefore, 'latest applies exactly the pending ones, in order');
  t.same(await pendingMigrations(db), []);
  const after = await tables();
  t.ok(after.includes('employees') && after.includes('notifications'), 'tables exist');

  const rolledBack = await migrateRollback(db, true);
  t.equal(rolledBack.length, applied.length);
  t.same(await tables(), [], 'down removes every table');
  t.same(await migrateLatest(db), applied, 'and up works again');
  t.same(await tables(), after);
});
