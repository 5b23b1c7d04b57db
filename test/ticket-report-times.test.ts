/**
 * The ticket report's all-time percentiles (src/features/reports/ticket-times.ts): computed on each
 * request at or below TICKET_REPORT_LIVE_MAX tickets, from a snapshot above it — stored by the first
 * request, served until the `reports.ticket-times` job refreshes it, recomputed by a request that finds
 * it stale (once for concurrent requests). Every figure is checked against the from-scratch SQL. The
 * job is also run by a real worker process that is SIGKILLed mid-refresh. Needs the build.
 */
import t, { type Test } from 'tap';
import type { Knex } from 'knex';
import { QUEUES } from '../src/jobs/queues.js';
import { refreshTicketTimes, refreshTicketTimesIfLarge, TICKET_TIMES_REFRESH_SECONDS, TICKET_TIMES_STALE_SECONDS } from '../src/features/reports/ticket-times.js';
import { reportsFeature } from '../src/features/reports/reports-routes.js';
import { createEmployee, signedIn, startTestApp, type TestApp } from './helpers/harness.js';
import { terminateWhenWaiting, waitUntilWaiting } from './helpers/backends.js';
import { waitFor } from './helpers/outbound.js';
import { envFor, spawnSmartsupport } from './helpers/processes.js';

/** The figures as the report promises them, from the tickets now. */
async function fromScratch(db: Knex) {
  const { rows } = await db.raw(
    `SELECT department, priority, count(*)::int AS tickets,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time) AS response_time_p50,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY response_time) AS response_time_p90,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_time) AS resolution_time_p50,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_time) AS resolution_time_p90
       FROM tickets WHERE approved_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return rows as Record<string, unknown>[];
}

/** `n` approved tickets with varied departments, priorities and times (some not resolved yet). */
async function addTickets(db: Knex, owner: number, n: number, salt: number) {
  await db('tickets').insert(
    Array.from({ length: n }, (_, i) => {
      const h = (i + 1) * 7919 + salt * 104729;
      return {
        employee_id: owner, subject: `times ${salt}/${i}`, category: 'Hardware', sub_category: 'x', description: 'd',
        department: ['IT Department', 'Asset Department', null][h % 3], priority: ['High', 'Low'][h % 2],
        status: h % 5 === 0 ? 'Open' : 'Resolved', approved_at: new Date(), response_time: h % 3600,
        resolved_at: h % 5 === 0 ? null : new Date(), resolution_time: h % 5 === 0 ? null : h % 86400,
      };
    }),
  );
}

async function setup(t: Test, liveMax: string, env: Record<string, string> = {}): Promise<{ ta: TestApp; get: () => Promise<{ times: unknown[]; times_as_of: string }>; owner: number }> {
  const ta = await startTestApp(t, { env: { TICKET_REPORT_LIVE_MAX: liveMax, ...env } });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const owner = (await createEmployee(ta.db)).id;
  const get = async () => {
    const r = await ta.api.get('/api/reports/tickets/', { token: admin.token });
    t.equal(r.status, 200, r.text);
    return r.body;
  };
  return { ta, get, owner };
}

t.test('at or below TICKET_REPORT_LIVE_MAX tickets the times are computed on each request', async (t) => {
  const { ta, get, owner } = await setup(t, '1000');
  await addTickets(ta.db, owner, 40, 1);
  const a = await get();
  t.same(a.times, await fromScratch(ta.db), 'exact');
  await addTickets(ta.db, owner, 25, 2);
  const b = await get();
  t.same(b.times, await fromScratch(ta.db), 'exact again, with the new tickets');
  t.ok(new Date(b.times_as_of) > new Date(a.times_as_of), 'times_as_of is the moment of each request');
  t.equal(Number((await ta.db('report_snapshots').count({ n: '*' }))[0]!.n), 0, 'no snapshot is kept');
});

t.test('above it: a snapshot, stored by the first request, served until refreshed, recomputed when stale', async (t) => {
  const { ta, get, owner } = await setup(t, '50');
  await addTickets(ta.db, owner, 60, 3);
  const first = await get();
  const want1 = await fromScratch(ta.db);
  t.same(first.times, want1, 'the first request computes exact figures');
  const row = await ta.db('report_snapshots').where({ name: 'ticket_times' }).first();
  t.ok(row, 'and stores them');
  t.equal(new Date(row.computed_at).toISOString(), first.times_as_of, 'times_as_of is the snapshot time');

  await addTickets(ta.db, owner, 30, 4);
  const second = await get();
  t.same(second.times, want1, 'served from the snapshot: the new tickets are not in it yet');
  t.equal(second.times_as_of, first.times_as_of, 'and it says so');
  t.notSame(await fromScratch(ta.db), want1, 'the tickets did change');

  // the job (what runs every five minutes) refreshes it
  t.ok(await refreshTicketTimesIfLarge(ta.db, ta.config.ticketReportLiveMax), 'the job refreshes above the limit');
  const third = await get();
  t.same(third.times, await fromScratch(ta.db), 'exact after the refresh');
  t.ok(new Date(third.times_as_of) > new Date(first.times_as_of));

  // the job stopped: a snapshot older than three intervals is recomputed by the request that finds it,
  // once for concurrent requests (they wait on one advisory lock and read its result)
  await addTickets(ta.db, owner, 10, 5);
  await ta.db('report_snapshots').where({ name: 'ticket_times' }).update({ computed_at: ta.db.raw(`now() - make_interval(secs => ?)`, [TICKET_TIMES_STALE_SECONDS + 60]) });
  const many = await Promise.all(Array.from({ length: 6 }, () => get()));
  const want = await fromScratch(ta.db);
  for (const m of many) t.same(m.times, want, 'exact after the stale snapshot was recomputed');
  t.equal(new Set(many.map((m) => m.times_as_of)).size, 1, 'computed once: every concurrent request got the same snapshot');
  t.ok(new Date(many[0]!.times_as_of) > new Date(third.times_as_of));
});

t.test('an empty helpdesk at a zero limit: computed per request, no groups; the job does nothing', async (t) => {
  const { ta, get } = await setup(t, '0');
  // the count rollup says 0 tickets: 0 ≤ 0 is live
  const r = await get();
  t.same(r.times, []);
  t.ok(!Number.isNaN(Date.parse(r.times_as_of)));
  t.equal(await refreshTicketTimesIfLarge(ta.db, ta.config.ticketReportLiveMax), undefined, 'the job does nothing at or below the limit');
});

t.test('the refresh job runs through pg-boss on its schedule, once per cluster', async (t) => {
  const { ta, owner } = await setup(t, '5');
  const schedules = typeof reportsFeature.schedules === 'function' ? reportsFeature.schedules(ta.app) : (reportsFeature.schedules ?? []);
  t.ok(schedules.some((s) => s.queue === QUEUES.ticketTimes && s.everySeconds === TICKET_TIMES_REFRESH_SECONDS), 'scheduled every five minutes');
  await addTickets(ta.db, owner, 12, 6);
  await ta.startWorkers();
  const jobId = await ta.app.jobs.enqueue(ta.db, QUEUES.ticketTimes, {});
  t.ok(jobId, 'a refresh job queued');
  await waitFor(async () => (await ta.db.raw(`SELECT state FROM pgboss.job WHERE id = ?`, [jobId])).rows[0]?.state === 'completed', 'the refresh job completed');
  const row = await ta.db('report_snapshots').where({ name: 'ticket_times' }).first();
  t.same(row?.data, await fromScratch(ta.db), 'the job stored exact figures');
});

t.test('a refresh whose connection dies mid-transaction changes nothing; readers keep the last snapshot and the next refresh succeeds', async (t) => {
  const { ta, get, owner } = await setup(t, '10');
  await addTickets(ta.db, owner, 20, 7);
  const before = await get();
  await addTickets(ta.db, owner, 20, 8);
  // hold report_snapshots so the refresh computes and then stops at its write; kill its backend there
  const blocker = await ta.db.transaction();
  await blocker.raw('LOCK TABLE report_snapshots IN EXCLUSIVE MODE');
  const refresh = refreshTicketTimes(ta.db).then(() => 'refreshed', (e: Error) => e.message);
  await terminateWhenWaiting(ta.db, '%INSERT INTO report_snapshots%', 'the refresh waiting to write its snapshot');
  t.not(await refresh, 'refreshed', 'the killed refresh failed');
  await blocker.rollback();
  const after = await get();
  t.same(after.times, before.times, 'the snapshot is the one before: nothing half-written');
  t.equal(after.times_as_of, before.times_as_of);
  await refreshTicketTimes(ta.db);
  const next = await get();
  t.same(next.times, await fromScratch(ta.db), 'the next refresh stores exact figures');
  t.ok(new Date(next.times_as_of) > new Date(before.times_as_of));
});

t.test('a worker SIGKILLed mid-refresh: the snapshot is untouched, and the job is retried after its lease by another worker', async (t) => {
  // short leases (queues are set up by the app with them, so the job gets one when it is sent)
  const JOB_ENV = { JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1' };
  const { ta, get, owner } = await setup(t, '10', JOB_ENV);
  await addTickets(ta.db, owner, 20, 11);
  const before = await get();
  await addTickets(ta.db, owner, 20, 12);
  // a real `smartsupport worker` with short leases; the refresh stops at its write (the table is held)
  const env = envFor(ta, { TICKET_REPORT_LIVE_MAX: '10', ...JOB_ENV, LOG_LEVEL: 'error' });
  const blocker = await ta.db.transaction();
  t.teardown(() => blocker.rollback().catch(() => undefined));
  await blocker.raw('LOCK TABLE report_snapshots IN EXCLUSIVE MODE');
  const first = spawnSmartsupport(t, ['worker'], env);
  const jobId = await ta.app.jobs.enqueue(ta.db, QUEUES.ticketTimes, {});
  await waitUntilWaiting(ta.db, '%INSERT INTO report_snapshots%', 'the worker refreshing, held at its write', 30_000);
  first.child.kill('SIGKILL');
  t.equal(await first.exited, null, 'the worker was killed mid-refresh');
  // its backend goes once PostgreSQL notices the client is gone (client_connection_check_interval)
  await waitFor(async () => {
    const { rows } = await ta.db.raw(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%INSERT INTO report_snapshots%' AND pid <> pg_backend_pid()`);
    return rows.length === 0;
  }, "the killed worker's backend gone", 30_000);
  await blocker.rollback();
  const held = await get();
  t.same(held.times, before.times, 'the snapshot is the one before: nothing half-written');
  t.equal(held.times_as_of, before.times_as_of);
  // another worker takes the job over once its lease has run out and its retry is due
  spawnSmartsupport(t, ['worker'], env);
  const job = async () => (await ta.db.raw(`SELECT state, retry_count, expire_in::text, start_after FROM pgboss.job WHERE id = ?`, [jobId])).rows[0];
  await waitFor(async () => (await job())?.state === 'completed', 'the retried refresh completed', 90_000, 250).catch(async (e) => {
    t.comment(JSON.stringify(await job()));
    throw e;
  });
  const { rows } = await ta.db.raw(`SELECT retry_count FROM pgboss.job WHERE id = ?`, [jobId]);
  t.equal(rows[0].retry_count, 1, 'completed on its retry, once');
  const row = await ta.db('report_snapshots').where({ name: 'ticket_times' }).first();
  t.same(row?.data, await fromScratch(ta.db), 'the retry stored exact figures, including the tickets added before the kill');
});
