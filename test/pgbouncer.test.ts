/**
 * PgBouncer 1.18 in transaction mode (a real one, Debian's package): named prepared statements do not
 * survive it, so DATABASE_PREPARED_STATEMENTS=auto turns them off when DATABASE_DIRECT_URL says
 * DATABASE_URL is a pooler, and pg-boss (session state) uses the direct connection.
 */
import t from 'tap';
import { createKnex, preparedStatementsFor, queryPrepared } from '../src/db/knex.js';
import { createTestDatabase, signedIn, startTestApp } from './helpers/harness.js';
import { startPgBouncer } from './helpers/pgbouncer.js';

const bouncer = await startPgBouncer(process.env.SS_TEST_ADMIN_URL!, { poolSize: 2 });
t.teardown(() => bouncer.stop());

t.test('auto: off when DATABASE_DIRECT_URL points elsewhere than DATABASE_URL', async (t) => {
  const pooled = 'postgres://u@db.internal:6432/app';
  const direct = 'postgres://u@db.internal:5432/app';
  t.equal(preparedStatementsFor('auto', pooled, direct), false);
  t.equal(preparedStatementsFor('auto', direct, direct), true);
  t.equal(preparedStatementsFor('auto', direct, undefined), true);
  t.equal(preparedStatementsFor('on', pooled, direct), true);
  t.equal(preparedStatementsFor('off', direct, undefined), false);
});

t.test('named statements break through transaction pooling; unnamed ones do not', async (t) => {
  const { url } = await createTestDatabase(t);
  const through = bouncer.urlFor(url);
  // 8 client connections share 2 server connections: a statement prepared on one server
  // connection is missing on the other
  const named = createKnex(through, 8, undefined, { preparedStatements: true });
  const unnamed = createKnex(through, 8, undefined, { preparedStatements: false });
  t.teardown(async () => {
    await named.destroy();
    await unnamed.destroy();
  });
  const q = (db: typeof named, i: number) => queryPrepared<{ n: number }>(db, 'bouncer_probe', db.raw('SELECT ?::int + 1 AS n, pg_sleep(0.001)', [i]));
  let namedError: Error | undefined;
  for (let round = 0; round < 50 && !namedError; round++) {
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => q(named, i)));
    namedError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  }
  t.match(namedError?.message, /prepared statement .* (does not exist|already exists)/, 'named prepared statements fail behind PgBouncer 1.18');
  for (let round = 0; round < 10; round++) {
    const rows = await Promise.all(Array.from({ length: 16 }, (_, i) => q(unnamed, i)));
    t.same(rows.map((r) => r[0].n), Array.from({ length: 16 }, (_, i) => i + 1), `round ${round}: all unnamed statements answer`);
  }
});

t.test('the app through PgBouncer with DATABASE_DIRECT_URL: tickets, jobs', async (t) => {
  const before = process.env.SS_TEST_PGBOUNCER_URL;
  process.env.SS_TEST_PGBOUNCER_URL = bouncer.urlFor(process.env.SS_TEST_ADMIN_URL!);
  let ta;
  try {
    ta = await startTestApp(t, { worker: true });
  } finally {
    if (before === undefined) delete process.env.SS_TEST_PGBOUNCER_URL;
    else process.env.SS_TEST_PGBOUNCER_URL = before;
  }
  t.equal(new URL(ta.app.databaseUrl).port, String(bouncer.port), 'DATABASE_URL is the pooler');
  t.not(ta.app.directUrl, ta.app.databaseUrl, 'pg-boss and LISTEN use the direct URL');
  const { token } = await signedIn(ta, { role: 'Employee' });
  // ticket create is the query that runs as a named prepared statement when allowed
  const created = await Promise.all(
    Array.from({ length: 40 }, (_, i) => ta.api.post('/api/tickets/', { subject: `through the pooler ${i}`, category: 'Hardware', sub_category: 'Printer', description: 'x' }, { token })),
  );
  t.same(created.map((r) => r.status), Array(40).fill(201), 'every create succeeds through the pooler');
  const numbers = new Set(created.map((r) => r.body.ticket_number));
  t.equal(numbers.size, 40, 'each got its own number');
});
