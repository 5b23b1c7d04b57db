/** Jobs are enqueued in the caller's transaction: committed together, or not at all. */
import t from 'tap';
import { ensureQueues } from '../src/jobs/boss.js';
import { QUEUES, workflowLeaseSeconds } from '../src/jobs/queues.js';
import { queueEmail } from '../src/features/notifications/notification-outbox.js';
import { startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const jobsIn = async (queue: string) =>
  (await ta.db.raw(`SELECT data FROM pgboss.job WHERE name = ? ORDER BY created_on`, [queue])).rows.map((r: { data: unknown }) => r.data);

t.test('a committed transaction commits its job', async (t) => {
  const id = await ta.db.transaction((trx) => queueEmail(trx, ta.app.jobs, { template: 'account_pending', to: 'a@example.com', data: { first_name: 'A', last_name: 'B', company_id: 'MA0001' } }));
  t.same(await jobsIn(QUEUES.email), [{ notificationId: id }]);
  t.equal((await ta.db('notifications').where({ id }).first()).status, 'queued');
});

t.test('a rolled-back transaction enqueues nothing', async (t) => {
  const before = (await jobsIn(QUEUES.email)).length;
  await t.rejects(
    ta.db.transaction(async (trx) => {
      await queueEmail(trx, ta.app.jobs, { template: 'account_pending', to: 'b@example.com', data: { first_name: 'B', last_name: 'C', company_id: 'MA0002' } });
      throw new Error('the change failed');
    }),
    /the change failed/,
  );
  t.equal((await jobsIn(QUEUES.email)).length, before, 'no job');
  t.equal((await ta.db('notifications').where({ recipient: 'b@example.com' })).length, 0, 'no log row');
});

t.test('send options pass through the transaction adapter', async (t) => {
  const id = await ta.db.transaction((trx) =>
    ta.app.jobs.enqueue(trx, QUEUES.maintenance, { task: 'x' }, { singletonKey: 'only-one', startAfter: 1}),
  );
  t.ok(id, 'job id returned');
  const row = (await ta.db.raw('SELECT singleton_key, start_after > now() AS later FROM pgboss.job WHERE id = ?', [id])).rows[0];
  t.same(row, { singleton_key: 'only-one', later: true }, 'options reached pg-boss unchanged');
});

t.test('each queue keeps its own lease unless JOB_EXPIRE_SECONDS is set', async (t) => {
  const expiry = async () =>
    Object.fromEntries((await ta.db.raw(`SELECT name, expire_seconds FROM pgboss.queue WHERE name = ANY(?)`, [Object.values(QUEUES)])).rows.map((r: { name: string; expire_seconds: number }) => [r.name, r.expire_seconds]));
  // written out: a killed worker's email comes back after 60 s, a delivery's after 30 s (the 10 s
  // HTTP timeout + 20 s) and so is a webhook's, maintenance and the weekly digest after ten minutes,
  // a forgotten-password request (one lookup and one email queued) after 30 s; an SLA timer after a
  // minute, an inbound mail after five, an SLA recompute after fifteen, an IMAP poll and an
  // announcement after ten, a fold of the ticket counts (one statement) after two
  t.same(await expiry(), { 'email.send': 60, 'workflow.deliver': 30, 'webhook.deliver': 30, 'maintenance.run': 600, 'auth.password_forgot': 30, 'reports.weekly-digest': 600, 'reports.fold-counts': 120, 'reports.ticket-times': 120, 'sla.timer': 60, 'sla.recompute': 900, 'email.inbound': 300, 'email.imap_poll': 600, 'announcement.send': 600 }, 'each queue has a lease that fits its job');
  t.equal(workflowLeaseSeconds(60_000), 80, 'a longer WORKFLOW_TIMEOUT_MS lengthens the delivery lease');
  await ensureQueues(ta.app.jobs.boss, { leases: { 'workflow.deliver': workflowLeaseSeconds(60_000) } });
  t.equal((await expiry())['workflow.deliver'], 80);
  await ensureQueues(ta.app.jobs.boss, { expireInSeconds: 7 });
  t.same(Object.values(await expiry()), Object.values(QUEUES).map(() => 7), 'an explicit setting applies to every queue');
  await ensureQueues(ta.app.jobs.boss);
});
