/** Admin visibility (queues, failures, retry), maintenance tasks, and the CLI verbs of issue 6. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { MAINTENANCE_TASKS, registerMaintenanceTask, runMaintenance } from '../src/features/jobs/maintenance.js';
import { queueWorkflowDelivery } from '../src/features/workflow/workflow-outbox.js';
import { QUEUES } from '../src/jobs/queues.js';
import { createEmployee, signedIn, startTestApp } from './helpers/harness.js';
import { insertTicket, startSmtp, startWorkflowStub, waitFor } from './helpers/outbound.js';

const run = promisify(execFile);
const bin = path.resolve('bin/smartsupport');
if (!existsSync('dist/src/cli/main.js')) t.fail('dist/ is missing: run `npm run build` before `npm test`');

t.test('failed and dead-lettered jobs are visible and can be retried (API and CLI)', async (t) => {
  let failing = true;
  const smtp = await startSmtp(t, { failWith: () => (failing ? 'temporarily unavailable' : undefined) });
  const stub = await startWorkflowStub(t, () => 200);
  const ta = await startTestApp(t, { env: { SMTP_URL: smtp.url, WORKFLOW_API_URL: stub.url } });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));
  t.teardown(() => rm(xdg, { recursive: true, force: true }));
  const cli = async (...args: string[]) => {
    const r = await run(process.execPath, [bin, ...args], { env: { ...process.env, SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: admin.token, XDG_CONFIG_HOME: xdg, NO_COLOR: '1' } });
    return r.stdout;
  };

  // an email whose job has no retries left fails at once and is dead-lettered
  const id = await ta.db.transaction(async (trx) => {
    const [row] = await trx('notifications').insert({ template: 'account_pending', recipient: 'jo@example.com', data: JSON.stringify({ first_name: 'Jo', last_name: 'Ka', company_id: 'MA0300' }) }).returning('id');
    await ta.app.jobs.enqueue(trx, QUEUES.email, { notificationId: row.id }, { retryLimit: 0 });
    return row.id as number;
  });
  await ta.startWorkers();
  await waitFor(async () => (await ta.db('notifications').where({ id }).first()).status === 'failed', 'notification failed');
  const overview = await waitFor(async () => {
    const r = await ta.api.get('/api/admin/jobs/', { token: admin.token });
    const q = r.body.queues.find((x: { name: string }) => x.name === 'email.send');
    return q.failed === 1 && q.dead_lettered === 1 ? r.body : undefined;
  }, 'failure counted');
  t.same(overview.queues.map((q: { name: string }) => q.name), ['email.send', 'workflow.deliver', 'maintenance.run', 'sla.timer', 'sla.recompute', 'email.inbound', 'email.imap_poll', 'announcement.send', 'webhook.deliver', 'auth.password_forgot', 'reports.weekly-digest', 'reports.fold-counts', 'reports.ticket-times']);
  const failed = overview.recent_failed.find((j: { queue: string }) => j.queue === 'email.send');
  t.match(failed, { state: 'failed', data: { notificationId: id } });
  t.match(failed.error, /temporarily unavailable/);
  t.notMatch(JSON.stringify(overview), /at .*\.ts:\d+/, 'no stack traces');

  const listed = JSON.parse(await cli('jobs', 'list', '--json'));
  t.match(listed.find((q: { name: string }) => q.name === 'email.send'), { failed: 1, dead_lettered: 1 });
  const failedList = JSON.parse(await cli('jobs', 'list', '--failed', '--json'));
  const dead = failedList.find((j: { queue: string }) => j.queue === 'email.send.dead');
  t.ok(dead, 'the dead-lettered copy is listed');

  failing = false;
  const retried = JSON.parse(await cli('jobs', 'retry', 'email.send.dead', dead.id, '--json'));
  t.match(retried, { queue: 'email.send', state: 'queued' });
  await waitFor(async () => (await ta.db('notifications').where({ id }).first()).status === 'sent', 'sent after retry');
  t.equal(smtp.mails.length, 1);
  t.equal((await ta.api.post(`/api/admin/jobs/email.send/${failed.id}/retry/`, undefined, { token: admin.token })).status, 202, 'a failed job in a work queue can be retried too');
  await waitFor(async () => (await ta.db.raw(`SELECT state FROM pgboss.job WHERE id = ?`, [failed.id])).rows[0]?.state === 'completed', 'retried job completed');
  t.equal(smtp.mails.length, 1, 'but the notification is already sent: not sent twice');
  t.equal((await ta.api.post(`/api/admin/jobs/email.send/${failed.id}/retry/`, undefined, { token: admin.token })).status, 409, 'not failed any more');
  t.equal((await ta.api.post('/api/admin/jobs/email.send/not-a-job/retry/', undefined, { token: admin.token })).status, 404);

  const notes = JSON.parse(await cli('notifications', 'list', '--status', 'sent', '--json', 'id,recipient,status'));
  t.same(notes, [{ id, recipient: 'jo@example.com', status: 'sent' }]);

  // workflow verbs
  const owner = await createEmployee(ta.db);
  const d = await ta.db.transaction(async (trx) => queueWorkflowDelivery(trx, ta.app.jobs, (await insertTicket(trx, owner.id)).id, 'approved'));
  await waitFor(async () => (await ta.db('workflow_deliveries').where({ id: d.id }).first()).status === 'delivered', 'delivered');
  const deliveries = JSON.parse(await cli('workflow', 'deliveries', '--status', 'delivered', '--json'));
  t.same(deliveries.map((x: { id: number }) => x.id), [d.id]);
  const again = JSON.parse(await cli('workflow', 'redeliver', String(d.id), '--json'));
  t.match(again, { reason: 'redelivery', status: 'pending' });
  await waitFor(async () => stub.requests.length === 2, 'redelivered');
  const tsv = await cli('workflow', 'deliveries');
  t.equal(tsv.trim().split('\n').length, 2, 'TSV off a TTY, one line per delivery');
});

t.test('maintenance removes orphaned temp files and scrubs old notification data', async (t) => {
  const ta = await startTestApp(t);
  const tmp = path.join(ta.dataDir, 'tmp');
  await mkdir(tmp, { recursive: true });
  await writeFile(path.join(tmp, 'old-upload'), 'x');
  await mkdir(path.join(tmp, 'old-dir'));
  await writeFile(path.join(tmp, 'fresh-upload'), 'y');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  await utimes(path.join(tmp, 'old-upload'), twoHoursAgo, twoHoursAgo);
  await utimes(path.join(tmp, 'old-dir'), twoHoursAgo, twoHoursAgo);
  const [old] = await ta.db('notifications').insert({ template: 'account_pending', recipient: 'a@example.com', data: JSON.stringify({ first_name: 'A' }), status: 'sent', created_at: new Date(Date.now() - 40 * 86400_000) }).returning('id');
  const [recent] = await ta.db('notifications').insert({ template: 'account_pending', recipient: 'b@example.com', data: JSON.stringify({ first_name: 'B' }), status: 'sent' }).returning('id');

  const [lost] = await ta.db('notifications').insert({ template: 'account_pending', recipient: 'c@example.com', data: JSON.stringify({ first_name: 'C' }) }).returning('id');
  await ta.db.transaction((trx) => ta.app.jobs.enqueue(trx, 'email.send.dead' as never, { notificationId: lost.id } as never));

  // starting the workers sends the current 15-minute slot's maintenance job (none ran in it yet)
  await ta.startWorkers();
  // wait for the whole maintenance job (its tasks run in sequence), not just its first effect
  await waitFor(async () => (await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = ? AND state = 'completed'`, [QUEUES.maintenance])).rows[0].n === 1, 'maintenance job completed');
  t.same((await readdir(tmp)).sort(), ['fresh-upload'], 'fresh upload kept, old dir removed');
  t.same((await ta.db('notifications').where({ id: old.id }).first()).data, {});
  t.same((await ta.db('notifications').where({ id: recent.id }).first()).data, { first_name: 'B' });
  t.match(await ta.db('notifications').where({ id: lost.id }).first(), { status: 'failed', last_error: /lost/ }, 'a dead-lettered email is recorded as failed');

  // adding a task is one call; a failing task does not stop the others
  let ran = 0;
  registerMaintenanceTask({ name: 'test-failing', run: async () => { throw new Error('boom'); } });
  registerMaintenanceTask({ name: 'test-counting', run: async () => ++ran });
  t.teardown(() => void MAINTENANCE_TASKS.splice(MAINTENANCE_TASKS.findIndex((x) => x.name === 'test-failing'), 2));
  const results = await runMaintenance(ta.app);
  t.match(results, { 'test-failing': 'error: boom', 'test-counting': 1, 'tmp-files': 0, 'dead-lettered-emails': 0 });
  t.same(await runMaintenance(ta.app, 'test-counting'), { 'test-counting': 2 }, 'one task by name');
  t.throws(() => registerMaintenanceTask({ name: 'tmp-files', run: async () => 0 }), /already registered/);
  // one job per 15-minute slot, however many workers send it
  const { startWorkers } = await import('../src/app/worker.js');
  const { jobsFeature } = await import('../src/features/jobs/jobs-routes.js');
  const second = await startWorkers(ta.app, [jobsFeature]);
  await second.stop(1_000);
  const slots = (await ta.db.raw(
    `SELECT singleton_key, extract(epoch FROM singleton_on)::bigint % 900 AS offset_in_slot, count(*)::int AS n FROM pgboss.job WHERE name = ? GROUP BY 1, 2`,
    [QUEUES.maintenance],
  )).rows;
  t.same(slots, [{ singleton_key: 'schedule:maintenance.run', offset_in_slot: '0', n: 1 }], 'one maintenance job for the current slot, from two workers');
});
