/**
 * Reports (issue 20) on known tickets and conversations: exact counts, percentiles, groupings,
 * backlog walk-back, reopen rate, workload, chat analytics; who may call them.
 *
 * The period is the ISO week 2026-10-05 (Mon) … 2026-10-12; the fixture is written with explicit
 * timestamps so every figure below is computed by hand (see the comments).
 */
import t from 'tap';
import { createApiKey, createEmployee, signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const admin = await signedIn(ta, { role: 'System Admin' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const emp = await signedIn(ta, { role: 'Employee' });
const A = await createEmployee(ta.db, { role: 'Ticket Coordinator', first_name: 'Ana', last_name: 'Alpha' });
const B = await createEmployee(ta.db, { role: 'Ticket Coordinator', first_name: 'Ben', last_name: 'Beta' });

const at = (s: string) => new Date(`2026-10-${s}Z`);
const ids: Record<string, number> = {};
async function ticket(name: string, v: Record<string, unknown>, history: [string, string, string][] = []) {
  const [row] = await ta.db('tickets')
    .insert({ employee_id: emp.user.id, subject: `${name} subject`, sub_category: 'x', description: 'd', ...v })
    .returning('id');
  ids[name] = Number(row.id);
  for (const [when, from, to] of history) {
    await ta.db('ticket_history').insert({ ticket_id: row.id, event: 'status_changed', field: 'status', from_value: from, to_value: to, created_at: at(when) });
  }
}

// T6: before the period, still open, assigned to B (approved 10-01: outside the times window)
await ticket('T6', { submit_date: at('01T08:00:00'), category: 'Hardware', department: 'IT Department', priority: 'Low', status: 'Open', assigned_to: B.id, approved_at: at('01T08:05:00'), response_time: 300 }, [['01T08:05:00', 'New', 'Open']]);
// T1: Hardware, resolved 10-06 09:00 by A after a day
await ticket('T1', { submit_date: at('05T09:00:00'), category: 'Hardware', department: 'IT Department', priority: 'High', status: 'Resolved', assigned_to: A.id, approved_at: at('05T09:10:00'), response_time: 600, resolved_at: at('06T09:00:00'), resolution_time: 86400 }, [
  ['05T09:10:00', 'New', 'Open'],
  ['05T09:20:00', 'Open', 'In Progress'],
  ['06T09:00:00', 'In Progress', 'Resolved'],
]);
// T2: Hardware, in progress with A
await ticket('T2', { submit_date: at('05T10:00:00'), category: 'Hardware', department: 'IT Department', priority: 'Low', status: 'In Progress', assigned_to: A.id, approved_at: at('05T10:30:00'), response_time: 1800 }, [
  ['05T10:30:00', 'New', 'Open'],
  ['05T11:00:00', 'Open', 'In Progress'],
]);
// T3: Network, resolved 10-06 15:00, reopened 10-07 09:00, resolved again 10-08 10:00 (47 h after submission), closed
await ticket('T3', { submit_date: at('06T11:00:00'), category: 'Network', department: 'IT Department', priority: 'High', status: 'Closed', assigned_to: B.id, approved_at: at('06T12:00:00'), response_time: 3600, resolved_at: at('08T10:00:00'), resolution_time: 169200, time_closed: at('08T12:00:00') }, [
  ['06T12:00:00', 'New', 'Open'],
  ['06T12:30:00', 'Open', 'In Progress'],
  ['06T15:00:00', 'In Progress', 'Resolved'],
  ['07T09:00:00', 'Resolved', 'In Progress'],
  ['08T10:00:00', 'In Progress', 'Resolved'],
  ['08T12:00:00', 'Resolved', 'Closed'],
]);
// T4: Software, still New
await ticket('T4', { submit_date: at('07T08:00:00'), category: 'Software', department: 'Budget Department', priority: 'Medium', status: 'New' });
// T5: Network, approved two hours later, unassigned
await ticket('T5', { submit_date: at('09T12:00:00'), category: 'Network', department: 'Asset Department', priority: 'Low', status: 'Open', approved_at: at('09T14:00:00'), response_time: 7200 }, [['09T14:00:00', 'New', 'Open']]);
// T7: after the period, New
await ticket('T7', { submit_date: at('13T08:00:00'), category: 'Software', status: 'New' });

const PERIOD = { since: '2026-10-05', until: '2026-10-12' };
const DAYS = ['2026-10-05', '2026-10-06', '2026-10-07', '2026-10-08', '2026-10-09', '2026-10-10', '2026-10-11'];

t.test('volume per day by category, filters, weeks', async (t) => {
  const r = await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { ...PERIOD, by: 'category' } });
  t.equal(r.status, 200, r.text);
  t.same(r.body.buckets, DAYS);
  t.same(r.body.series, [
    { key: 'Hardware', values: [2, 0, 0, 0, 0, 0, 0], total: 2 },
    { key: 'Network', values: [0, 1, 0, 0, 1, 0, 0], total: 2 },
    { key: 'Software', values: [0, 0, 1, 0, 0, 0, 0], total: 1 },
  ]);
  t.equal(r.body.total, 5);
  const dept = await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { ...PERIOD, by: 'department', priority: 'High' } });
  t.same(dept.body.series, [{ key: 'IT Department', values: [1, 1, 0, 0, 0, 0, 0], total: 2 }], 'filtered to High, grouped by department');
  const byAssignee = await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { ...PERIOD, by: 'assignee', assigned_to: A.company_id } });
  t.same(byAssignee.body.series, [{ key: `${A.company_id} Ana Alpha`, values: [2, 0, 0, 0, 0, 0, 0], total: 2 }], 'assignee filter by company id, labelled by name');
  const weeks = await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: '2026-09-28', until: '2026-10-19', interval: 'week' } });
  t.same(weeks.body.buckets, ['2026-09-28', '2026-10-05', '2026-10-12']);
  t.same(weeks.body.series, [{ key: 'all', values: [1, 5, 1], total: 7 }]);
});

t.test('backlog: open tickets at the end of each day, walked back from now', async (t) => {
  const r = await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token, query: PERIOD });
  t.equal(r.status, 200, r.text);
  // open now: T2, T4, T5, T6, T7 = 5. End of 10-04: T6 → 1; 10-05 +T1 +T2 → 3; 10-06 +T3 −T1 −T3 → 2;
  // 10-07 +T4 +T3 reopened → 4; 10-08 −T3 → 3; 10-09 +T5 → 4; then 4, 4 (T7 comes after the period)
  t.same(r.body.values, [3, 2, 4, 3, 4, 4, 4]);
  t.equal(r.body.open_now, 5);
  const it = await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token, query: { ...PERIOD, category: 'Network' } });
  // Network: T3 (in 10-06, out 10-06, back 10-07, out 10-08), T5 (in 10-09)
  t.same(it.body.values, [0, 0, 1, 0, 1, 1, 1]);
});

t.test('first-response and resolution percentiles, histograms, reopen rate, by category', async (t) => {
  const r = await ta.api.get('/api/reports/tickets/times/', { token: coord.token, query: { ...PERIOD, by: 'category' } });
  t.equal(r.status, 200, r.text);
  // approved in the period: 600, 1800, 3600, 7200 → p50 = (1800+3600)/2 = 2700; p90 = 3600 + 0.7 × 3600 = 6120
  t.same(r.body.overall.first_response, { count: 4, p50: 2700, p90: 6120 });
  // resolved in the period: 86400 (T1), 169200 (T3) → p50 127800; p90 = 86400 + 0.9 × 82800 = 160920
  t.same(r.body.overall.resolution, { count: 2, p50: 127800, p90: 160920 });
  // T1 and T3 resolved, T3 reopened once → 1 / 2
  t.same([r.body.overall.resolved, r.body.overall.reopened, r.body.overall.reopen_rate], [2, 1, 0.5]);
  t.same(r.body.histograms.first_response.map((h: { count: number }) => h.count), [1, 1, 2, 0, 0, 0, 0, 0]);
  t.same(r.body.histograms.resolution.map((h: { label: string; count: number }) => [h.label, h.count]).filter(([, n]: [string, number]) => n), [['1d–3d', 2]]);
  t.same(r.body.groups, [
    { key: 'Hardware', first_response: { count: 2, p50: 1200, p90: 1680 }, resolution: { count: 1, p50: 86400, p90: 86400 }, resolved: 1, reopened: 0, reopen_rate: 0 },
    { key: 'Network', first_response: { count: 2, p50: 5400, p90: 6840 }, resolution: { count: 1, p50: 169200, p90: 169200 }, resolved: 1, reopened: 1, reopen_rate: 1 },
  ]);
  const empty = await ta.api.get('/api/reports/tickets/times/', { token: coord.token, query: { since: '2020-01-01', until: '2020-01-08' } });
  t.same(empty.body.overall, { first_response: { count: 0, p50: null, p90: null }, resolution: { count: 0, p50: null, p90: null }, resolved: 0, reopened: 0, reopen_rate: null });
});

t.test('workload per assignee', async (t) => {
  const r = await ta.api.get('/api/reports/tickets/workload/', { token: coord.token, query: PERIOD });
  t.equal(r.status, 200, r.text);
  t.same(r.body.data, [
    { assignee: null, open: 3, resolved: 0, resolution_p50: null },
    { assignee: { id: A.id, company_id: A.company_id, name: 'Ana Alpha' }, open: 1, resolved: 1, resolution_p50: 86400 },
    { assignee: { id: B.id, company_id: B.company_id, name: 'Ben Beta' }, open: 1, resolved: 1, resolution_p50: 169200 },
  ]);
});

t.test('period validation', async (t) => {
  t.equal((await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: '2026-10-12', until: '2026-10-05' } })).body.code, 'invalid_period');
  t.equal((await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: '2020-01-01', until: '2026-01-01' } })).body.code, 'period_too_long');
  t.equal((await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: '2020-01-01', until: '2026-01-01', interval: 'week' } })).status, 200, 'weeks fit');
  t.equal((await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: 'yesterday' } })).status, 400);
  t.equal((await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { since: '2026-13-45' } })).status, 422);
  t.equal((await ta.api.get('/api/reports/tickets/volume/', { token: coord.token, query: { by: 'owner' } })).status, 400);
});

// ─── chat ────────────────────────────────────────────────────────────────────

const [faq] = await ta.db('faqs').select('id').limit(1);
async function conversation(day: string, turns: [string, { provider: 'llm' | 'faq'; matched: boolean; failed?: boolean }][], escalated = false) {
  const [c] = await ta.db('chat_conversations').insert({ employee_id: emp.user.id, created_at: at(day), escalated_at: escalated ? at(day) : null }).returning('id');
  for (const [q, a] of turns) {
    await ta.db('chat_messages').insert({ conversation_id: c.id, role: 'user', content: q, created_at: at(day) });
    await ta.db('chat_messages').insert({ conversation_id: c.id, role: 'assistant', content: 'answer', provider: a.provider, sources: a.matched ? [faq.id] : [], model_failed: Boolean(a.failed), created_at: at(day) });
  }
}
await conversation('05T09:00:00', [['How do I reset my VPN password?', { provider: 'faq', matched: false }]]);
await conversation('05T10:00:00', [['reset vpn password', { provider: 'faq', matched: false }]], true);
await conversation('06T09:00:00', [
  ['Where is the cafeteria?', { provider: 'faq', matched: true }],
  ['How do I reset the VPN password please', { provider: 'faq', matched: false }],
]);
await conversation('07T09:00:00', [
  ['printer on floor 3 is jammed', { provider: 'llm', matched: true }],
  ['printer jammed again floor 3', { provider: 'faq', matched: true, failed: true }],
]);
await conversation('08T09:00:00', [['Laptop screen flickers', { provider: 'llm', matched: true }]], true);
await conversation('20T09:00:00', [['outside the period', { provider: 'faq', matched: false }]]);

t.test('chat analytics: per day, answer sources, failovers, escalations, grouped unanswered questions', async (t) => {
  const r = await ta.api.get('/api/reports/chat/', { token: admin.token, query: PERIOD });
  t.equal(r.status, 200, r.text);
  t.same(r.body.conversations, [2, 1, 1, 1, 0, 0, 0]);
  t.same(r.body.questions, [2, 2, 2, 1, 0, 0, 0]);
  t.same(r.body.totals, { conversations: 5, questions: 7, escalated: 2, escalation_rate: 0.4 });
  t.same(r.body.answers, { model: 2, faq_search: 2, no_match: 3, total: 7, model_failovers: 1 });
  // {reset, vpn, password} ×2 and {reset, vpn, password, pleas} (Jaccard 0.75) are one group; the
  // escalated conversation's first question is the other; matched questions are not listed
  t.same(r.body.unanswered.map((u: Record<string, unknown>) => [u.question, u.count, u.examples]), [
    ['reset vpn password', 3, ['reset vpn password', 'How do I reset my VPN password?', 'How do I reset the VPN password please']],
    ['Laptop screen flickers', 1, ['Laptop screen flickers']],
  ]);
  t.equal(r.body.unanswered[0].faq_command, "smartsupport faqs create --from-question 'reset vpn password'");
  t.notMatch(JSON.stringify(r.body), new RegExp(`${emp.user.email}|${emp.user.company_id}|employee_id`), 'nothing says who asked');
});

t.test('who may read reports', async (t) => {
  const paths = ['/api/reports/tickets/volume/', '/api/reports/tickets/backlog/', '/api/reports/tickets/times/', '/api/reports/tickets/workload/', '/api/reports/chat/'];
  const scoped = await createApiKey(ta.db, { role: 'System Admin', scopes: ['reports:read'] });
  const unscoped = await createApiKey(ta.db, { role: 'System Admin', scopes: ['tickets:read', 'chat'] });
  for (const p of paths) {
    t.equal((await ta.api.get(p, { token: emp.token })).status, 403, `employee: ${p}`);
    t.equal((await ta.api.get(p, { apiKey: unscoped.key })).status, 403, `key without reports:read: ${p}`);
    t.equal((await ta.api.get(p, { apiKey: scoped.key })).status, 200, `key with reports:read: ${p}`);
    t.equal((await ta.api.get(p, { token: admin.token })).status, 200, `admin: ${p}`);
    t.equal((await ta.api.get(p)).status, 401);
  }
  t.equal((await ta.api.get('/api/reports/chat/', { token: coord.token })).status, 403, 'chat analytics are for System Admins');
  t.equal((await ta.api.get('/api/reports/tickets/times/', { token: coord.token })).status, 200, 'ticket reports are for staff');
});
