/**
 * Chaos: the API process is SIGKILLed while creates with Idempotency-Keys are in flight (claimed,
 * their insert running — held behind a table lock the test takes). A new API process answers the
 * retries: 409 `idempotency_in_progress` while the dead claims' lease lasts, then each key is taken
 * over and runs — every retry completes within the lease, and each key made exactly one ticket.
 * Needs the build.
 */
import t from 'tap';
import { IDEMPOTENCY_LEASE_SECONDS } from '../../src/http/idempotency.js';
import { createKnex } from '../../src/db/knex.js';
import { createEmployee, createTestDatabase, databaseEnv } from '../helpers/harness.js';
import { waitFor } from '../helpers/outbound.js';
import { built, sleep, spawnService, tokenFor } from './lib.js';

if (!built) t.fail('dist/ is missing: run `npm run build` before `npm test`');

t.test('keys cut by an API SIGKILL are retried to completion within the lease', async (t) => {
  const { url: databaseUrl } = await createTestDatabase(t);
  const db = createKnex(databaseUrl, 3);
  t.teardown(() => db.destroy());
  const env = { ...databaseEnv(databaseUrl), SMARTSUPPORT_DATA_DIR: (await import('node:os')).tmpdir(), RUN_WORKER: 'false' };
  const owner = await createEmployee(db);
  const token = await tokenFor(owner);
  const create = (base: string, key: string) =>
    fetch(`${base}/api/tickets/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ subject: key, category: 'Hardware', sub_category: 'Laptop', description: 'cut by a kill' }),
    });

  const first = spawnService(t, ['serve', '--no-worker'], env);
  const url1 = await first.url;
  // hold every ticket insert: the claims are made, the writes wait
  const locker = await db.client.acquireConnection();
  t.teardown(() => db.client.releaseConnection(locker));
  const q = (sql: string) => new Promise((resolve, reject) => locker.query(sql, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))));
  await q('BEGIN');
  await q('LOCK TABLE tickets IN SHARE MODE');

  const KEYS = Array.from({ length: 6 }, (_, i) => `kill-${i}`);
  const cut = KEYS.map((k) => create(url1, k).then((r) => r.status, (err: Error) => err.name));
  await waitFor(
    async () => (await db('idempotency_keys').whereIn('key', KEYS).where({ state: 'running' }).count({ n: '*' }))[0]!.n === KEYS.length,
    'every key claimed',
  );
  await waitFor(
    async () => (await db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%insert into "tickets"%'`)).rows[0].n === KEYS.length,
    'every insert running, waiting on the lock',
  );
  first.child.kill('SIGKILL');
  t.same(await first.exited, { code: null, signal: 'SIGKILL' }, 'the API was killed');
  t.same(await Promise.all(cut), KEYS.map(() => 'TypeError'), 'every in-flight request was cut');
  // the killed process's statements are cancelled (client_connection_check_interval), not committed
  await waitFor(
    async () => (await db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n === 0,
    'the dead client’s statements cancelled',
  );
  await q('ROLLBACK');
  t.equal(Number((await db('tickets').whereIn('subject', KEYS).count({ n: '*' }))[0]!.n), 0, 'no cut create committed');
  t.equal(Number((await db('idempotency_keys').whereIn('key', KEYS).where({ state: 'running' }).count({ n: '*' }))[0]!.n), KEYS.length, 'their keys are still claimed');

  const second = spawnService(t, ['serve', '--no-worker'], env);
  const url2 = await second.url;
  const killedAt = Date.now();
  const outcomes = await Promise.all(
    KEYS.map(async (key) => {
      const seen: number[] = [];
      for (;;) {
        const r = await create(url2, key);
        const body = (await r.json()) as { id?: number; code?: string };
        seen.push(r.status);
        if (r.status !== 409 || Date.now() - killedAt > (IDEMPOTENCY_LEASE_SECONDS + 20) * 1000) return { key, status: r.status, id: body.id, seen, ms: Date.now() - killedAt };
        t.equal(body.code, 'idempotency_in_progress');
        await sleep(500);
      }
    }),
  );
  for (const o of outcomes) {
    t.equal(o.status, 201, `${o.key}: the retry ran the create`);
    t.ok(o.seen.includes(409), `${o.key}: 409 while the dead claim's lease lasted`);
    // the bound is the lease plus the retry loop's own pace (a retry every 500 ms, each waiting up to 3 s)
    t.ok(o.ms <= (IDEMPOTENCY_LEASE_SECONDS + 10) * 1000, `${o.key}: completed within the lease (${o.ms} ms)`);
  }
  const rows = await db('tickets').whereIn('subject', KEYS).select('id', 'subject');
  t.same(rows.map((r) => r.subject).sort(), [...KEYS].sort(), 'exactly one ticket per key');
  for (const o of outcomes) {
    const again = await create(url2, o.key);
    t.equal(again.headers.get('idempotent-replayed'), 'true', `${o.key}: a later retry is a replay`);
    t.equal(((await again.json()) as { id: number }).id, o.id);
  }
  second.child.kill('SIGTERM');
  t.same(await second.exited, { code: 0, signal: null });
});
