/**
 * Service levels through HTTP: calendars and policies (CRUD, validation, matching order), the
 * ticket's `sla` block with due times on a 9–5 calendar across a DST change, pauses, the
 * breached/at_risk lists, and the pg-boss timers (warning and breach once per target, moved on a
 * priority change, cancelled when met). "The clock" is moved by backdating a target's start in the
 * database and then changing the ticket, so the real code recomputes and reschedules.
 */
import t from 'tap';
import { QUEUES } from '../src/jobs/queues.js';
import { createEmployee, signedIn, startTestApp, type TestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';

const NINE_TO_FIVE = Object.fromEntries(['monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((d) => [d, [{ from: '09:00', to: '17:00' }]]));

async function staffTicket(ta: TestApp, token: string, over: Record<string, unknown> = {}) {
  const r = await ta.api.post('/api/tickets/', { subject: 'Laptop will not boot', category: 'Hardware', sub_category: 'Laptop', description: 'Black screen.', ...over }, { token });
  if (r.status !== 201) throw new Error(`create ticket: ${r.status} ${r.text}`);
  return r.body;
}

/** Move a target's start back so that it is due `inSeconds` from now (on a 24/7 policy of `minutes`). */
async function dueIn(ta: TestApp, ticketId: number, target: 'first_response' | 'resolution', minutes: number, inSeconds: number) {
  await ta.db('ticket_sla').where({ ticket_id: ticketId }).update({ [`${target}_start`]: ta.db.raw(`now() - make_interval(secs => ?)`, [minutes * 60 - inSeconds]) });
}

const timerJobs = async (ta: TestApp, ticketId: number) =>
  (await ta.db.raw(`SELECT id, state, data->>'kind' AS kind, data->>'due' AS due FROM pgboss.job WHERE name = ? AND (data->>'ticketId')::bigint = ? ORDER BY created_on, data->>'kind' DESC`, [QUEUES.slaTimer, ticketId])).rows as { id: string; state: string; kind: string; due: string }[];
const alerts = (ta: TestApp, ticketId: number) => ta.db('sla_alerts').where({ ticket_id: ticketId }).orderBy('id').select('target', 'kind', 'due_at', 'escalated');

t.test('calendars and policies: CRUD, validation, one default, first match by position', async (t) => {
  const ta = await startTestApp(t);
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });

  const bad = await ta.api.post('/api/sla/calendars/', { name: 'Bad', time_zone: 'Mars/Olympus', hours: { monday: [{ from: '10:00', to: '09:00' }] } }, { token: admin.token });
  t.equal(bad.status, 422);
  t.equal(bad.body.code, 'invalid_calendar');
  t.match(JSON.stringify(bad.body.errors), /not an IANA time zone/);
  t.match(JSON.stringify(bad.body.errors), /ends before it starts/);

  const london = await ta.api.post('/api/sla/calendars/', { name: 'London desk', time_zone: 'Europe/London', hours: NINE_TO_FIVE, holidays: [{ date: '2020-12-25', recurring: true }], is_default: true }, { token: admin.token });
  t.equal(london.status, 201);
  t.equal(london.headers.get('location'), `/api/sla/calendars/${london.body.id}/`);
  const manila = await ta.api.post('/api/sla/calendars/', { name: 'Manila desk', time_zone: 'Asia/Manila', hours: { monday: [{ from: '08:00', to: '12:00' }, { from: '13:00', to: '17:00' }] }, is_default: true }, { token: admin.token });
  t.equal(manila.status, 201);
  const list = await ta.api.get('/api/sla/calendars/', { token: coord.token });
  t.same(list.body.data.map((c: { name: string; is_default: boolean }) => [c.name, c.is_default]), [['London desk', false], ['Manila desk', true]], 'only the newest default stays default');
  t.equal((await ta.api.post('/api/sla/calendars/', { name: 'London desk', time_zone: 'UTC', hours: NINE_TO_FIVE }, { token: admin.token })).body.code, 'name_taken');
  t.equal((await ta.api.post('/api/sla/calendars/', { name: 'X', time_zone: 'UTC', hours: NINE_TO_FIVE }, { token: coord.token })).status, 403, 'coordinators read, admins write');

  // no calendar_id: the default calendar; null: around the clock
  const dflt = await ta.api.post('/api/sla/policies/', { name: 'Default hours', targets: { resolution_minutes: 480 } }, { token: admin.token });
  t.equal(dflt.status, 201);
  t.equal(dflt.body.calendar_id, manila.body.id);
  t.equal(dflt.body.position, 1);
  const crit = await ta.api.post('/api/sla/policies/', { name: 'Critical 24/7', position: 0, conditions: { priority: ['Critical'] }, targets: { first_response_minutes: 15, resolution_minutes: 240 }, calendar_id: null, pause_statuses: ['Pending'] }, { token: admin.token });
  t.equal(crit.status, 201);
  t.equal(crit.body.calendar_id, null);
  t.equal((await ta.api.post('/api/sla/policies/', { name: 'Nothing', targets: {} }, { token: admin.token })).body.code, 'no_targets');
  t.equal((await ta.api.post('/api/sla/policies/', { name: 'Ghost calendar', targets: { resolution_minutes: 5 }, calendar_id: 999999 }, { token: admin.token })).body.code, 'unknown_calendar');
  const emp = await createEmployee(ta.db);
  t.equal((await ta.api.post('/api/sla/policies/', { name: 'Bad escalation', targets: { resolution_minutes: 5 }, escalation: { assign_to: emp.id } }, { token: admin.token })).body.code, 'unknown_coordinator');
  t.equal((await ta.api.delete(`/api/sla/calendars/${manila.body.id}/`, { token: admin.token })).body.code, 'calendar_in_use');

  const policies = await ta.api.get('/api/sla/policies/', { token: coord.token });
  t.same(policies.body.data.map((p: { name: string }) => p.name), ['Critical 24/7', 'Default hours'], 'matching order is by position');

  // first match by position: a Critical ticket gets the 24/7 policy, a Low one the catch-all
  const critical = await staffTicket(ta, coord.token, { priority: 'Critical' });
  t.equal(critical.sla.policy.name, 'Critical 24/7');
  t.match(critical.sla.reason, /position 0.*priority Critical/);
  t.equal(critical.sla.calendar, null);
  t.equal(new Date(critical.sla.first_response_due_at).getTime() - new Date(critical.submit_date).getTime(), 15 * 60_000, '24/7: due 15 minutes after submission');
  t.equal(new Date(critical.sla.resolution_due_at).getTime() - new Date(critical.submit_date).getTime(), 240 * 60_000);
  t.equal(critical.sla.state, 'running');
  t.equal(critical.sla.targets.first_response.remaining_business_minutes, 14, 'rounded down, a few seconds after submission');
  t.equal(critical.sla.targets.next_response, null);
  const low = await staffTicket(ta, coord.token, { priority: 'Low' });
  t.equal(low.sla.policy.name, 'Default hours');
  t.same(low.sla.calendar, { time_zone: 'Asia/Manila' });

  // re-evaluated when the priority changes, with a history entry
  const moved = await ta.api.patch(`/api/tickets/${low.ticket_number}/`, { priority: 'Critical' }, { token: coord.token });
  t.equal(moved.body.sla.policy.name, 'Critical 24/7');
  const hist = await ta.api.get(`/api/tickets/${low.ticket_number}/history/`, { token: coord.token });
  t.ok(hist.body.data.some((h: { event: string; field: string; from_value: string; to_value: string }) => h.event === 'sla' && h.field === 'policy' && h.from_value === 'Default hours' && /^Critical 24\/7/.test(h.to_value)), 'policy change in the history');

  // deleting a policy: its tickets keep their copy
  t.equal((await ta.api.delete(`/api/sla/policies/${crit.body.id}/`, { token: admin.token })).status, 204);
  const kept = await ta.api.get(`/api/tickets/${critical.ticket_number}/`, { token: coord.token });
  t.same(kept.body.sla.policy, { id: null, name: 'Critical 24/7' });
  t.equal(kept.body.sla.resolution_due_at, critical.sla.resolution_due_at);
});

t.test('due times on a 9–5 calendar, across the spring DST change; breached list; employees see no sla block', async (t) => {
  const ta = await startTestApp(t);
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await signedIn(ta);
  const cal = await ta.api.post('/api/sla/calendars/', { name: 'London 9-5', time_zone: 'Europe/London', hours: NINE_TO_FIVE }, { token: admin.token });
  await ta.api.post('/api/sla/policies/', { name: 'Desk', conditions: { department: ['IT Department', 'Asset Department'] }, targets: { first_response_minutes: 120, resolution_minutes: 480 }, calendar_id: cal.body.id }, { token: admin.token });

  const tk = await staffTicket(ta, coord.token, { employee_id: owner.user.id, department: 'IT Department' });
  t.equal(tk.sla.policy.name, 'Desk');
  // submitted on Friday 27 March 2026 at 16:00 London (GMT); the clocks go forward on Sunday
  await ta.db('ticket_sla').where({ ticket_id: tk.id }).update({ first_response_start: '2026-03-27T16:00:00Z', resolution_start: '2026-03-27T16:00:00Z' });
  const r = await ta.api.patch(`/api/tickets/${tk.ticket_number}/`, { department: 'Asset Department' }, { token: coord.token });
  // 60 min on Friday, then Monday 09:00 BST (08:00Z): 120 min → Monday 10:00 BST; 480 min → Monday 16:00 BST
  t.equal(r.body.sla.first_response_due_at, '2026-03-30T09:00:00.000Z');
  t.equal(r.body.sla.resolution_due_at, '2026-03-30T15:00:00.000Z');
  t.equal(r.body.sla.state, 'breached');
  t.equal(r.body.sla.breached_at, '2026-03-30T09:00:00.000Z');
  t.equal(r.body.sla.targets.resolution.breached_at, '2026-03-30T15:00:00.000Z');
  t.ok(r.body.sla.targets.first_response.remaining_business_minutes < -1000, 'overdue by months of business time');

  const other = await staffTicket(ta, coord.token, { department: 'IT Department' });
  const breached = await ta.api.get('/api/tickets/', { token: coord.token, query: { sla_state: 'breached' } });
  t.same(breached.body.data.map((x: { ticket_number: string }) => x.ticket_number), [tk.ticket_number]);
  const byDue = await ta.api.get('/api/tickets/', { token: coord.token, query: { order: 'sla_due' } });
  t.same(byDue.body.data.map((x: { ticket_number: string }) => x.ticket_number), [tk.ticket_number, other.ticket_number], 'earliest due first');
  t.same((await ta.api.get('/api/tickets/', { token: coord.token, query: { sla_state: 'at_risk' } })).body.data, []);

  const mine = await ta.api.get(`/api/tickets/${tk.ticket_number}/`, { token: owner.token });
  t.equal(mine.status, 200);
  t.notOk('sla' in mine.body, 'the owner does not see the SLA block');
  t.equal((await ta.api.get('/api/tickets/', { token: owner.token, query: { sla_state: 'breached' } })).status, 403);
});

t.test('pause statuses stop the clock and push the due time out by the pause', async (t) => {
  const ta = await startTestApp(t);
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  await ta.api.post('/api/sla/policies/', { name: 'Around the clock', targets: { resolution_minutes: 600 }, calendar_id: null, pause_statuses: ['Pending'] }, { token: admin.token });
  const tk = await staffTicket(ta, coord.token);
  const dueBefore = Date.parse(tk.sla.resolution_due_at);
  const num = tk.ticket_number;
  await ta.api.post(`/api/tickets/${num}/approve/`, { priority: 'Medium', department: 'IT Department' }, { token: coord.token });
  await ta.api.post(`/api/tickets/${num}/claim/`, {}, { token: coord.token });
  const paused = await ta.api.post(`/api/tickets/${num}/update-status/`, { status: 'Pending' }, { token: coord.token });
  t.equal(paused.body.sla.state, 'paused');
  t.equal(paused.body.sla.resolution_due_at, null, 'no due time while paused');
  t.equal(paused.body.sla.targets.resolution.state, 'paused');
  await waitFor(async () => (await ta.db.raw(`SELECT now() - (pauses->0->>'from')::timestamptz > interval '1 second' AS ok FROM ticket_sla WHERE ticket_id = ?`, [tk.id])).rows[0].ok, 'a second of pause');
  const resumed = await ta.api.post(`/api/tickets/${num}/update-status/`, { status: 'In Progress' }, { token: coord.token });
  const [pause] = (await ta.db('ticket_sla').where({ ticket_id: tk.id }).first('pauses')).pauses as { from: string; to: string }[];
  t.ok(pause!.to, 'the pause is closed');
  t.equal(Date.parse(resumed.body.sla.resolution_due_at) - dueBefore, Date.parse(pause!.to) - Date.parse(pause!.from), 'due time moved by exactly the pause');
  t.equal(resumed.body.sla.state, 'running');
  const resolved = await ta.api.post(`/api/tickets/${num}/update-status/`, { status: 'Resolved' }, { token: coord.token });
  t.equal(resolved.body.sla.targets.resolution.state, 'met');
  t.equal(resolved.body.sla.state, 'met');
  const jobs = await timerJobs(ta, tk.id);
  t.ok(jobs.length >= 4, 'timers were sent for each due time');
  t.same(jobs.filter((j) => j.state !== 'cancelled'), [], 'every timer was cancelled: paused, moved, then met');
});

t.test('timers: warning and breach fire once, move with the priority, cancelled when met', async (t) => {
  const ta = await startTestApp(t, { worker: true });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const quiet = await signedIn(ta, { role: 'Ticket Coordinator' });
  await ta.db('notification_preferences').insert({ employee_id: quiet.user.id, key: 'sla_warnings', enabled: false });
  await ta.api.post('/api/sla/policies/', { name: 'Fast', conditions: { priority: ['High'] }, targets: { first_response_minutes: 10 }, calendar_id: null }, { token: admin.token });
  await ta.api.post('/api/sla/policies/', { name: 'Slow', conditions: { priority: ['Low'] }, targets: { first_response_minutes: 600 }, calendar_id: null }, { token: admin.token });

  const tk = await staffTicket(ta, coord.token, { priority: 'Low' });
  const first = await timerJobs(ta, tk.id);
  t.same(first.map((j) => [j.kind, j.state, j.due]), [['warning', 'created', tk.sla.first_response_due_at], ['breach', 'created', tk.sla.first_response_due_at]], 'a warning and a breach job for the due time');

  // the ticket has been waiting 9 min 56 s; raising the priority moves it to the 10-minute policy
  await dueIn(ta, tk.id, 'first_response', 10, 4);
  const high = await ta.api.patch(`/api/tickets/${tk.ticket_number}/`, { priority: 'High' }, { token: coord.token });
  t.equal(high.body.sla.policy.name, 'Fast');
  const due = high.body.sla.first_response_due_at as string;
  t.ok(Date.parse(due) > Date.now() - 60_000 && Date.parse(due) < Date.now() + 60_000, 'due in seconds');
  await waitFor(async () => (await alerts(ta, tk.id)).length === 2, 'warning and breach fired', 30_000);
  const jobs = await timerJobs(ta, tk.id);
  t.same(jobs.slice(0, 2).map((j) => j.state), ['cancelled', 'cancelled'], 'the old timers were cancelled');
  t.same(jobs.slice(2).map((j) => [j.kind, j.due]), [['warning', due], ['breach', due]], 'new timers for the new due time');

  // the same jobs again (a retry, a second worker): nothing more happens
  for (const kind of ['warning', 'breach'] as const) for (let i = 0; i < 2; i++) await ta.app.jobs.enqueue(ta.db, QUEUES.slaTimer, { ticketId: tk.id, target: 'first_response', kind, due });
  await waitFor(async () => (await timerJobs(ta, tk.id)).every((j) => j.state === 'completed' || j.state === 'cancelled'), 'all timer jobs done', 30_000);
  t.same((await alerts(ta, tk.id)).map((a) => [a.target, a.kind, new Date(a.due_at).toISOString()]), [['first_response', 'warning', due], ['first_response', 'breach', due]], 'once per target and kind');
  const mails = await ta.db('notifications').where({ template: 'sla_alert', recipient: coord.user.email }).select('data');
  t.same(await ta.db('notifications').where({ template: 'sla_alert', recipient: quiet.user.email }).select('id'), [], 'a coordinator who turned sla_warnings off gets nothing');
  const events = await ta.db('events').whereIn('type', ['sla.warning', 'sla.breached']).where({ object_id: tk.ticket_number }).orderBy('seq').select('type', 'visibility', 'data');
  t.same(events.map((e) => [e.type, e.visibility, e.data.target, e.data.due_at]), [['sla.warning', 'staff', 'first_response', due], ['sla.breached', 'staff', 'first_response', due]], 'one staff-only event per alert');
  t.same(mails.map((m) => m.data.kind).sort(), ['breach', 'warning'], 'the coordinators were emailed (nobody assigned)');
  t.match(mails[0].data.due, /UTC$/, 'a 24/7 due time is written in UTC');
  const hist = await ta.api.get(`/api/tickets/${tk.ticket_number}/history/`, { token: coord.token });
  t.same(hist.body.data.filter((h: { event: string; field: string }) => h.event === 'sla' && /_(breached|warning)$/.test(h.field)).map((h: { field: string; actor: { kind: string } }) => [h.field, h.actor.kind]), [['first_response_warning', 'system'], ['first_response_breached', 'system']]);
  const list = await ta.api.get('/api/tickets/', { token: coord.token, query: { sla_state: 'breached' } });
  t.same(list.body.data.map((x: { ticket_number: string }) => x.ticket_number), [tk.ticket_number]);

  // met before due: the timers are cancelled and a stray copy does nothing
  const tk2 = await staffTicket(ta, coord.token, { priority: 'High' });
  await dueIn(ta, tk2.id, 'first_response', 10, 90);
  await ta.api.patch(`/api/tickets/${tk2.ticket_number}/`, { category: 'Network' }, { token: coord.token }); // recomputes: warning point passed
  await waitFor(async () => (await alerts(ta, tk2.id)).length === 1, 'warning fired', 30_000);
  const atRisk = await ta.api.get('/api/tickets/', { token: coord.token, query: { sla_state: 'at_risk' } });
  t.same(atRisk.body.data.map((x: { ticket_number: string }) => x.ticket_number), [tk2.ticket_number], 'past the warning point, not due yet');
  t.equal(atRisk.body.data[0].sla.at_risk, true);
  const reply = await ta.api.post(`/api/tickets/${tk2.ticket_number}/comments/`, { comment: 'Looking at it now.' }, { token: coord.token });
  t.equal(reply.status, 201);
  const after = await ta.api.get(`/api/tickets/${tk2.ticket_number}/`, { token: coord.token });
  t.equal(after.body.sla.targets.first_response.state, 'met');
  const dueBreach = (await timerJobs(ta, tk2.id)).filter((j) => j.kind === 'breach');
  t.same(dueBreach.map((j) => j.state), ['cancelled', 'cancelled'], 'breach timers cancelled when the target was met');
  await ta.app.jobs.enqueue(ta.db, QUEUES.slaTimer, { ticketId: tk2.id, target: 'first_response', kind: 'breach', due: after.body.sla.first_response_due_at });
  await waitFor(async () => (await timerJobs(ta, tk2.id)).every((j) => j.state === 'completed' || j.state === 'cancelled'), 'stray job done', 30_000);
  t.same((await alerts(ta, tk2.id)).map((a) => a.kind), ['warning'], 'no breach after the target was met');
  t.same((await ta.api.get('/api/tickets/', { token: coord.token, query: { sla_state: 'at_risk' } })).body.data, []);
});

t.test('next response: the owner asks again, a public staff reply answers', async (t) => {
  const ta = await startTestApp(t);
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await signedIn(ta);
  await ta.api.post('/api/sla/policies/', { name: 'Replies', targets: { first_response_minutes: 60, next_response_minutes: 30 }, calendar_id: null }, { token: admin.token });
  const tk = await staffTicket(ta, coord.token, { employee_id: owner.user.id });
  await ta.api.post(`/api/tickets/${tk.ticket_number}/comments/`, { comment: 'internal note', is_internal: true }, { token: coord.token });
  t.equal((await ta.api.get(`/api/tickets/${tk.ticket_number}/`, { token: coord.token })).body.sla.targets.first_response.state, 'running', 'an internal note is no response');
  await ta.api.post(`/api/tickets/${tk.ticket_number}/comments/`, { comment: 'On it.' }, { token: coord.token });
  await ta.api.post(`/api/tickets/${tk.ticket_number}/comments/`, { comment: 'Any news?' }, { token: owner.token });
  const asked = await ta.api.get(`/api/tickets/${tk.ticket_number}/`, { token: coord.token });
  t.equal(asked.body.sla.targets.first_response.state, 'met');
  t.equal(asked.body.sla.targets.next_response.state, 'running');
  t.equal(Date.parse(asked.body.sla.next_response_due_at) - Date.parse(asked.body.sla.targets.next_response.started_at), 30 * 60_000);
  await ta.api.post(`/api/tickets/${tk.ticket_number}/comments/`, { comment: 'Replaced the disk.' }, { token: coord.token });
  const answered = await ta.api.get(`/api/tickets/${tk.ticket_number}/`, { token: coord.token });
  t.equal(answered.body.sla.targets.next_response.state, 'met');
  t.equal(answered.body.sla.next_response_due_at, null);
});

t.test('SLA report: compliance and business-time percentiles per group', async (t) => {
  const ta = await startTestApp(t);
  const admin = await signedIn(ta, { role: 'System Admin' });
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  await ta.api.post('/api/sla/policies/', { name: 'Quick', conditions: { priority: ['High'] }, targets: { first_response_minutes: 30, resolution_minutes: 120 }, calendar_id: null }, { token: admin.token });
  await ta.api.post('/api/sla/policies/', { name: 'Normal', targets: { first_response_minutes: 240 }, calendar_id: null }, { token: admin.token });
  // three High tickets answered after 10, 20 and 50 minutes (the last one late); one Normal ticket unanswered
  for (const minutes of [10, 20, 50]) {
    const tk = await staffTicket(ta, coord.token, { priority: 'High' });
    await ta.db('ticket_sla').where({ ticket_id: tk.id }).update({ first_response_start: ta.db.raw(`now() - make_interval(mins => ?)`, [minutes]), resolution_start: ta.db.raw(`now() - make_interval(mins => ?)`, [minutes]) });
    await ta.api.post(`/api/tickets/${tk.ticket_number}/comments/`, { comment: 'Hello' }, { token: coord.token });
  }
  await staffTicket(ta, coord.token, { priority: 'Low' });
  const r = await ta.api.get('/api/reports/sla/', { token: coord.token, query: { since: '1d' } });
  t.equal(r.status, 200);
  t.same(r.body.groups.map((g: { key: string; tickets: number }) => [g.key, g.tickets]), [['Normal', 1], ['Quick', 3]]);
  const quick = r.body.groups.find((g: { key: string }) => g.key === 'Quick');
  t.same(quick.first_response, { met: 2, breached: 1, compliance_percent: 66.7, p50_business_minutes: 20, p90_business_minutes: 44 });
  t.same(quick.resolution, { met: 0, breached: 0, compliance_percent: null, p50_business_minutes: null, p90_business_minutes: null }, 'still running: in neither count');
  const byPriority = await ta.api.get('/api/reports/sla/', { token: coord.token, query: { since: '1d', group_by: 'priority' } });
  t.same(byPriority.body.groups.map((g: { key: string }) => g.key), ['High', 'Low']);
  t.equal((await ta.api.get('/api/reports/sla/', { token: coord.token, query: { since: 'yesterday' } })).status, 400);
  const old = await ta.api.get('/api/reports/sla/', { token: coord.token, query: { since: '2020-01-01T00:00:00Z', until: '2021-01-01T00:00:00Z' } });
  t.same(old.body.groups, []);
});
