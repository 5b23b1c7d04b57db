/**
 * The weekly digest (real pg-boss worker, real SMTP server): only staff who opted in get it, the
 * figures are last week's, a second run for the same week sends nothing, and the schedule is
 * registered once for the cluster. Also: a model failure is recorded for the chat report.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { lastFullWeek } from '../src/features/reports/digest.js';
import { QUEUES } from '../src/jobs/queues.js';
import { signedIn, startTestApp } from './helpers/harness.js';
import { decodeHeader, readMime, startSmtp, waitFor } from './helpers/outbound.js';

t.test('the week a digest reports', async (t) => {
  t.equal(lastFullWeek(new Date('2026-10-12T07:00:00Z')), '2026-10-05', 'Monday morning: the week that just ended');
  t.equal(lastFullWeek(new Date('2026-10-18T23:59:00Z')), '2026-10-05', 'Sunday night: still the week before');
});

const smtp = await startSmtp(t);
const ta = await startTestApp(t, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'Help <help@example.com>' } });
const P = '/api/employee/profile/notifications/';

const optedIn = await signedIn(ta, { role: 'System Admin', first_name: 'Olga' });
const coordIn = await signedIn(ta, { role: 'Ticket Coordinator', first_name: 'Cora' });
const notOpted = await signedIn(ta, { role: 'System Admin' });
const optedOut = await signedIn(ta, { role: 'Ticket Coordinator' });
const emp = await signedIn(ta, { role: 'Employee' });
for (const who of [optedIn, coordIn]) await ta.api.put(P, { weekly_digest: true }, { token: who.token });
await ta.api.put(P, { weekly_digest: false }, { token: optedOut.token });

// week of 2026-10-05: 3 tickets created (one resolved after 2 h), one open from before; one unanswered question
const at = (s: string) => new Date(`2026-10-${s}Z`);
const base = { employee_id: emp.user.id, subject: 's', category: 'Hardware', sub_category: 'x', description: 'd' };
await ta.db('tickets').insert({ ...base, submit_date: at('01T09:00:00'), status: 'Open' });
const [r1] = await ta.db('tickets').insert({ ...base, submit_date: at('06T09:00:00'), status: 'Resolved', approved_at: at('06T09:30:00'), response_time: 1800, resolved_at: at('06T11:00:00'), resolution_time: 7200 }).returning('id');
await ta.db('ticket_history').insert({ ticket_id: r1.id, event: 'status_changed', from_value: 'In Progress', to_value: 'Resolved', created_at: at('06T11:00:00') });
await ta.db('tickets').insert({ ...base, submit_date: at('07T09:00:00'), status: 'New' });
await ta.db('tickets').insert({ ...base, submit_date: at('08T09:00:00'), status: 'New' });
const [c] = await ta.db('chat_conversations').insert({ employee_id: emp.user.id, created_at: at('07T10:00:00') }).returning('id');
await ta.db('chat_messages').insert({ conversation_id: c.id, role: 'user', content: 'How do I book a meeting room?', created_at: at('07T10:00:00') });
await ta.db('chat_messages').insert({ conversation_id: c.id, role: 'assistant', content: 'no match', provider: 'faq', sources: [], created_at: at('07T10:00:00') });

const WEEK = (m: { raw: string }) => decodeHeader(readMime(m.raw).headers.subject ?? '');

t.test('the digest job mails opted-in staff once per week', async (t) => {
  await ta.startWorkers();
  // the periodic job: one per hourly slot for the whole cluster, sent as soon as a worker starts
  await waitFor(async () => (await ta.db.raw(`SELECT 1 FROM pgboss.job WHERE name = ? AND singleton_key = ?`, [QUEUES.weeklyDigest, `schedule:${QUEUES.weeklyDigest}`])).rows.length > 0, 'periodic digest job sent');

  await ta.app.jobs.enqueue(ta.db, QUEUES.weeklyDigest, { week_start: '2026-10-05' });
  const ours = () => smtp.mails.filter((m) => WEEK(m).includes('2026-10-05'));
  await waitFor(async () => ours().length >= 2, 'two digests sent');
  await waitFor(async () => (await ta.db('report_digests').where({ week_start: '2026-10-05' }).first())?.recipients === 2, 'week claimed');
  t.same(ours().map((m) => m.to[0]).sort(), [optedIn.user.email, coordIn.user.email].sort(), 'only the staff who opted in');

  const mime = readMime(ours().find((m) => m.to[0] === optedIn.user.email)!.raw);
  t.equal(decodeHeader(mime.headers.subject ?? ''), 'SmartSupport weekly digest: 2026-10-05 – 2026-10-11');
  const text = mime.text!;
  for (const line of ['Hello Olga,', 'Tickets created: 3', 'Tickets resolved: 1', 'Backlog (open tickets): 1 → 3', 'First response p50: 30m', 'Resolution p50: 2h', 'Reopen rate: 0%', '1. How do I book a meeting room? (1×)']) {
    t.ok(text.includes(line), `digest says "${line}"`);
  }
  t.ok(mime.html!.includes('How do I book a meeting room?'));

  // a second run for the same week (a retry, a second worker, a late schedule tick): nothing more
  const before = await ta.db('notifications').where({ template: 'weekly_digest' }).count({ n: '*' });
  const jobId = await ta.app.jobs.enqueue(ta.db, QUEUES.weeklyDigest, { week_start: '2026-10-05' });
  await waitFor(async () => (await ta.db.raw(`SELECT state FROM pgboss.job WHERE id = ?`, [jobId])).rows[0]?.state === 'completed', 'second job done');
  t.same(await ta.db('notifications').where({ template: 'weekly_digest' }).count({ n: '*' }), before, 'no second digest for the week');
  t.notOk(smtp.mails.some((m) => [notOpted.user.email, optedOut.user.email, emp.user.email].includes(m.to[0]!)), 'nobody else, any week');
});

t.test('the periodic run sends last week from Monday 07:00 UTC on, once', async (t) => {
  const { sendWeeklyDigest } = await import('../src/features/reports/digest.js');
  await ta.db('report_digests').where({ week_start: '2026-10-12' }).delete();
  t.equal(await sendWeeklyDigest(ta.app, undefined, new Date('2026-10-19T06:59:00Z')), null, 'Monday 06:59: not yet');
  t.equal(await sendWeeklyDigest(ta.app, undefined, new Date('2026-10-19T07:00:00Z')), 2, 'Monday 07:00: week of 10-12 to the two who opted in');
  t.equal(await sendWeeklyDigest(ta.app, undefined, new Date('2026-10-20T12:00:00Z')), null, 'later runs that week: already sent');
  await t.rejects(sendWeeklyDigest(ta.app, '2026-10-14'), /not a Monday/);
});

t.test('a failing model is counted as a failover in the chat report', async (t) => {
  const llm = http.createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":"down"}');
  });
  await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => llm.close(r)));
  const withModel = await startTestApp(t, { env: { LLM_API_KEY: 'sk-test', LLM_API_URL: `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`, LLM_TIMEOUT_MS: '2000' } });
  const person = await signedIn(withModel, { role: 'Employee' });
  const admin = await signedIn(withModel, { role: 'System Admin' });
  const r = await withModel.api.post('/api/chat/', { message: 'How do I reset my password?' }, { token: person.token });
  t.equal(r.status, 200, r.text);
  t.equal(r.body.provider, 'faq', 'FAQ search answered');
  const rep = await withModel.api.get('/api/reports/chat/', { token: admin.token });
  t.equal(rep.body.answers.model_failovers, 1);
  t.equal(rep.body.answers.model, 0);
});
