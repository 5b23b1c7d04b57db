/**
 * SLA timers with real `smartsupport worker` processes: a breach scheduled while a worker is
 * SIGKILLed still fires (once) when another worker comes up, and two workers racing over the same
 * breaches (each job sent twice) escalate every ticket exactly once. Needs the build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { QUEUES } from '../src/jobs/queues.js';
import { appDatabaseEnv, signedIn, startTestApp, type T, TEST_JWT_SECRET, type TestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';

const bin = path.resolve('bin/smartsupport');
if (!existsSync('dist/src/cli/main.js')) t.fail('dist/ is missing: run `npm run build` before `npm test`');
const JOB_ENV = { JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1' };

function workers(t: T, ta: TestApp) {
  const env = { ...process.env, ...JOB_ENV, NODE_ENV: 'test', LOG_LEVEL: 'error', ...appDatabaseEnv(ta.app), SMARTSUPPORT_DATA_DIR: ta.dataDir, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: '' };
  const children = new Set<ChildProcess>();
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  return () => {
    const child = spawn(process.execPath, [bin, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        children.delete(child);
        resolve(code);
      }),
    );
    return { child, exited };
  };
}

const openTimers = async (ta: TestApp) => (await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = ? AND state IN ('created', 'retry', 'active')`, [QUEUES.slaTimer])).rows[0].n as number;

async function ticket(ta: TestApp, token: string, priority = 'Low') {
  const r = await ta.api.post('/api/tickets/', { subject: 'VPN down', category: 'Network', sub_category: 'VPN', description: 'No tunnel.', priority }, { token });
  return r.body as { id: number; ticket_number: string };
}

/** Backdate the first-response start so the 10-minute target is due in `s` seconds, and make the app recompute it. */
async function dueIn(ta: TestApp, token: string, tk: { id: number; ticket_number: string }, s: number, category: string) {
  await ta.db('ticket_sla').where({ ticket_id: tk.id }).update({ first_response_start: ta.db.raw(`now() - make_interval(secs => ?)`, [600 - s]) });
  await ta.api.patch(`/api/tickets/${tk.ticket_number}/`, { category }, { token });
  return (await ta.db('ticket_sla').where({ ticket_id: tk.id }).first('first_response_due_at')).first_response_due_at as Date;
}

t.test('a breach survives a SIGKILLed worker and fires once on the next one', async (t) => {
  const ta = await startTestApp(t, { env: JOB_ENV });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  await ta.api.post('/api/sla/policies/', { name: 'Ten minutes', targets: { first_response_minutes: 10 }, calendar_id: null }, { token: admin.token });
  const start = workers(t, ta);
  const tk = await ticket(ta, coord.token);
  const a = start();
  const due = await dueIn(ta, coord.token, tk, 6, 'Network/VPN');
  await new Promise((r) => setTimeout(r, 1500));
  a.child.kill('SIGKILL');
  t.equal(await a.exited, null, 'the first worker was killed');
  await waitFor(async () => Date.now() > due.getTime() + 1000, 'the due time to pass', 30_000);
  t.same(await ta.db('sla_alerts').where({ ticket_id: tk.id, kind: 'breach' }).select('id'), [], 'nobody is working: no breach yet');
  const b = start();
  await waitFor(async () => (await ta.db('sla_alerts').where({ ticket_id: tk.id, kind: 'breach' })).length > 0, 'the breach on the second worker', 60_000);
  await waitFor(async () => (await openTimers(ta)) === 0, 'timers drained', 60_000);
  const rows = await ta.db('sla_alerts').where({ ticket_id: tk.id, kind: 'breach' }).select('due_at');
  t.same(rows.map((r) => new Date(r.due_at).toISOString()), [due.toISOString()], 'the breach, once');
  t.ok((await ta.db('sla_alerts').where({ ticket_id: tk.id, kind: 'warning' })).length <= 1, 'at most one warning (none if it came after the due time)');
  b.child.kill('SIGKILL');
});

t.test('two workers, every breach job sent twice: each ticket escalates exactly once', async (t) => {
  const ta = await startTestApp(t, { env: JOB_ENV });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const lead = await signedIn(ta, { role: 'Ticket Coordinator', first_name: 'Lead' });
  await ta.api.post('/api/sla/policies/', { name: 'Escalating', targets: { first_response_minutes: 10 }, calendar_id: null, escalation: { raise_priority: true, assign_to: lead.user.id } }, { token: admin.token });
  const N = 8;
  const tickets = [];
  for (let i = 0; i < N; i++) tickets.push(await ticket(ta, coord.token));
  for (const tk of tickets) {
    const due = await dueIn(ta, coord.token, tk, 5, 'Escalations');
    // a duplicate of the breach job, as a retry or a second scheduler would send it
    await ta.app.jobs.enqueue(ta.db, QUEUES.slaTimer, { ticketId: tk.id, target: 'first_response', kind: 'breach', due: due.toISOString() }, { startAfter: due });
  }
  const start = workers(t, ta);
  const w1 = start();
  const w2 = start();
  await waitFor(async () => (await ta.db('sla_alerts').where({ kind: 'breach' })).length === N, 'every breach', 90_000);
  await waitFor(async () => (await openTimers(ta)) === 0, 'timers drained', 90_000);
  for (const tk of tickets) {
    const row = await ta.db('tickets').where({ id: tk.id }).first('priority', 'assigned_to');
    t.same([row.priority, Number(row.assigned_to)], ['Medium', lead.user.id], `${tk.ticket_number}: one step up, assigned to the lead`);
    t.same((await ta.db('sla_alerts').where({ ticket_id: tk.id, kind: 'breach' })).map((a) => a.escalated), [true], 'one breach, escalated');
    const esc = await ta.db('ticket_history').where({ ticket_id: tk.id, event: 'sla', field: 'first_response_escalated' }).select('to_value');
    t.same(esc.map((h) => h.to_value), [`priority=Medium, assigned_to=${lead.user.id}`], 'one escalation in the history');
    // and its events, once each, from the escalation
    const evs = (await ta.db('events').where({ object_type: 'ticket', object_id: tk.ticket_number }).whereIn('type', ['ticket.updated', 'ticket.assigned']).orderBy('seq').select('type', 'data'))
      .filter((e) => e.data.via === 'sla_escalation'); // (the test's own PATCH of the category is a ticket.updated too)
    t.same(evs.map((e) => e.type), ['ticket.updated', 'ticket.assigned'], `${tk.ticket_number}: ticket.updated and ticket.assigned, once`);
    t.same(evs[0]?.data.previous, { priority: 'Low', assigned_to: null }, 'previous values of the escalated fields');
    t.equal(evs[0]?.data.object.priority, 'Medium', 'the snapshot shows the raised priority');
    t.equal(evs[1]?.data.assignee_id, lead.user.id);
  }
  const mails = await ta.db('notifications').where({ template: 'sla_alert', recipient: coord.user.email }).whereRaw(`data->>'kind' = 'breach'`).count({ n: '*' }).first();
  t.equal(Number(mails!.n), N, 'each coordinator got one breach email per ticket (sent before the reassignment)');
  w1.child.kill('SIGKILL');
  w2.child.kill('SIGKILL');
});
