/**
 * Chaos: Idempotency-Keys whose request's transaction did NOT commit (src/http/idempotency.ts
 * `answerInTransaction`; the kill after a commit: idempotency-commit.test.ts).
 *
 * - outage: PostgreSQL stops while creates are inside their transactions; after it is back the
 *   cut keys are released without any retry (none stays `running`, nothing waits for the lease),
 *   and each retry makes exactly one ticket. Before, the keys stayed `running` until a retry after
 *   the lease took them over.
 * - rollback: a handler that fails after its claim (its transaction rolled back) releases the key,
 *   and a retry with the same key runs; a request whose lease was taken over rolls its own write
 *   back (409) instead of acting a second time — before, both requests created a ticket.
 * Needs the build.
 */
import t from 'tap';
import { createKnex } from '../../src/db/knex.js';
import { createEmployee, createTestDatabase } from '../helpers/harness.js';
import { waitFor } from '../helpers/outbound.js';
import { built, dedicatedPg, spawnService, tokenFor, poster } from './lib.js';

if (!built) t.fail('dist/ is missing: run `npm run build` before `npm test`');

t.test('an outage inside the transaction: keys are released once the database is back, each retry makes one ticket', async (t) => {
  const pg = await dedicatedPg(t, 'idem');
  const env = { DATABASE_URL: pg.url, SMARTSUPPORT_DATA_DIR: pg.tmp, RUN_WORKER: 'false', SMTP_URL: '' };
  // migrate and start
  const api = spawnService(t, ['serve', '--no-worker'], env);
  const url = await api.url;
  const owner = await createEmployee(pg.db);
  const token = await tokenFor(owner);
  const post = poster(() => url);
  const KEYS = Array.from({ length: 4 }, (_, i) => `outage-${i}`);
  const create = (key: string) => post('/api/tickets/', key, { subject: key, category: 'Hardware', sub_category: 'Laptop', description: 'cut by an outage' }, token);

  // hold every ticket insert so the requests are inside their transactions when the database stops
  const locker = await pg.db.client.acquireConnection();
  const q = (sql: string) => new Promise((resolve, reject) => locker.query(sql, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))));
  await q('BEGIN');
  await q('LOCK TABLE tickets IN SHARE MODE');
  const cut = KEYS.map((k) => create(k).then((r) => r.status, (err: Error) => err.name));
  await waitFor(
    async () => (await pg.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%insert into "tickets"%'`)).rows[0].n === KEYS.length,
    'every create inside its transaction, waiting on the lock',
  );
  await pg.stop();
  const statuses = await Promise.all(cut);
  t.ok(statuses.every((s) => s === 503), `every cut request answered 503 (${statuses.join(',')})`);
  await pg.db.client.releaseConnection(locker).catch(() => undefined);
  await pg.start();
  t.ok(api.child.exitCode === null, 'the API survived the outage');

  // no retry needed to free the keys: the failed requests release them once the database answers
  await waitFor(
    async () => {
      try {
        return Number((await pg.db('idempotency_keys').whereIn('key', KEYS).where({ state: 'running' }).count({ n: '*' }))[0]!.n) === 0;
      } catch {
        return false;
      }
    },
    'no cut key left running',
    20_000,
  );
  t.equal(Number((await pg.db('tickets').whereIn('subject', KEYS).count({ n: '*' }))[0]!.n), 0, 'no cut create committed');
  for (const key of KEYS) {
    const r = await create(key);
    t.equal(r.status, 201, `${key}: the retry ran`);
    const again = await create(key);
    t.equal(again.status, 201);
    t.equal(again.headers.get('idempotent-replayed'), 'true', `${key}: and a second retry is its replay`);
  }
  const rows = await pg.db('tickets').whereIn('subject', KEYS).select('subject');
  t.same(rows.map((r) => r.subject).sort(), [...KEYS].sort(), 'exactly one ticket per key');
  api.child.kill('SIGTERM');
  t.same(await api.exited, { code: 0, signal: null });
});

t.test('rollback: a failed handler releases its key; a request whose claim was taken over rolls back', async (t) => {
  const { url: databaseUrl } = await createTestDatabase(t);
  const db = createKnex(databaseUrl, 3);
  t.teardown(() => db.destroy());
  const env = { DATABASE_URL: databaseUrl, SMARTSUPPORT_DATA_DIR: (await import('node:os')).tmpdir(), RUN_WORKER: 'false', SMTP_URL: '' };
  const api = spawnService(t, ['serve', '--no-worker'], env);
  const url = await api.url;
  const owner = await createEmployee(db);
  const token = await tokenFor(owner);
  const create = (key: string, subject: string) => poster(() => url)('/api/tickets/', key, { subject, category: 'Hardware', sub_category: 'Laptop', description: 'rollback' }, token);

  await t.test('the handler fails after its write: rolled back, the key released, a retry runs', async (t) => {
    // a real failure inside the transaction, after the ticket insert: the history insert raises
    await db.raw(`CREATE FUNCTION refuse_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await db.raw(`CREATE TRIGGER refuse_history BEFORE INSERT ON ticket_history FOR EACH ROW EXECUTE FUNCTION refuse_history()`);
    const failed = await create('rollback-1', 'rollback-1');
    t.equal(failed.status, 500, 'the failure is an error answer');
    t.equal(Number((await db('tickets').where({ subject: 'rollback-1' }).count({ n: '*' }))[0]!.n), 0, 'the write rolled back');
    // released right after the error answer (in the background, so the answer never waits on the database)
    await waitFor(async () => (await db('idempotency_keys').where({ key: 'rollback-1' }).first()) === undefined, 'the key released');
    t.pass('the key was released');
    await db.raw('DROP TRIGGER refuse_history ON ticket_history');
    const retry = await create('rollback-1', 'rollback-1');
    t.equal(retry.status, 201, 'the retry with the same key ran');
    t.equal(retry.headers.get('idempotent-replayed'), null, 'as a new run, not a replay');
    t.equal(Number((await db('tickets').where({ subject: 'rollback-1' }).count({ n: '*' }))[0]!.n), 1, 'one ticket');
  });

  await t.test('a slow request whose lease was taken over does not act a second time', async (t) => {
    const locker = await db.client.acquireConnection();
    t.teardown(() => db.client.releaseConnection(locker));
    const q = (sql: string) => new Promise((resolve, reject) => locker.query(sql, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))));
    await q('BEGIN');
    await q('LOCK TABLE tickets IN SHARE MODE');
    const slow = create('takeover-1', 'takeover-1').then(async (r) => ({ status: r.status, body: (await r.json()) as { code?: string; id?: number } }));
    await waitFor(async () => (await db('idempotency_keys').where({ key: 'takeover-1', state: 'running' }).first()) !== undefined, 'the slow request claimed its key');
    // its lease runs out (as if it had been slower than IDEMPOTENCY_LEASE_SECONDS): a retry takes the key over
    await db('idempotency_keys').where({ key: 'takeover-1' }).update({ lease_until: db.raw(`now() - interval '1 second'`) });
    const retry = create('takeover-1', 'takeover-1').then(async (r) => ({ status: r.status, replayed: r.headers.get('idempotent-replayed'), body: (await r.json()) as { code?: string; id?: number } }));
    await waitFor(
      async () => (await db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%insert into "tickets"%'`)).rows[0].n === 2,
      'both inserts waiting on the lock',
    );
    await q('ROLLBACK');
    const [a, b] = await Promise.all([slow, retry]);
    t.equal(Number((await db('tickets').where({ subject: 'takeover-1' }).count({ n: '*' }))[0]!.n), 1, 'exactly one ticket');
    t.equal(b.status, 201, 'the request that holds the key created it');
    t.equal(a.status, 409, 'the one that lost its claim rolled back');
    t.equal(a.body.code, 'idempotency_in_progress');
    const again = await create('takeover-1', 'takeover-1');
    t.equal(again.headers.get('idempotent-replayed'), 'true', 'a later retry replays the one ticket');
    t.equal(((await again.json()) as { id: number }).id, b.body.id);
  });

  api.child.kill('SIGTERM');
  t.same(await api.exited, { code: 0, signal: null });
});
