/**
 * The event log: every change in the catalogue writes exactly one event per change, in the same
 * transaction (a refused change writes none), with the audience and visibility the feed filters on.
 */
import t from 'tap';
import { parseEventId, eventId } from '../src/features/events/events.js';
import { CATALOGUE, exerciseCatalogue } from './helpers/catalogue.js';
import { signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);

t.test('every catalogue change writes one event, in order, with its audience', async (t) => {
  const before = Number((await ta.db('events').count({ n: '*' }))[0]!.n);
  const { expected, secrets } = await exerciseCatalogue(ta);
  const rows = await ta.db('events').orderBy([{ column: 'txid' }, { column: 'seq' }]).offset(before);
  const got = rows.map((r) => ({ type: r.type, object_id: r.object_id, audience: r.audience_employee_id === null ? null : Number(r.audience_employee_id), staff_only: r.visibility === 'staff', admin_only: r.visibility === 'admin' }));
  // one request at a time: the log order is the order of the changes
  t.same(got, expected);
  t.same([...new Set(got.map((g) => g.type))].sort(), [...CATALOGUE].sort(), 'every catalogue type was emitted');
  const created = rows.find((r) => r.type === 'ticket.created')!;
  t.match(created.data.object, { ticket_number: created.object_id, status: 'New', subject: 'VPN drops', assigned_to: null, employee: { first_name: String } });
  t.match(created.data.object.submit_date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'timestamps as the API writes them');
  t.equal(created.actor_kind, 'employee');
  const status = rows.filter((r) => r.type === 'ticket.status_changed').map((r) => [r.data.from, r.data.to]);
  t.same(status, [['New', 'Open'], ['Open', 'In Progress']]);
  const key = rows.find((r) => r.type === 'api_key.created')!;
  t.equal(key.data.object.key, undefined);
  for (const secret of secrets) t.notOk(JSON.stringify(rows).includes(secret), 'no secret in any event');
  t.notOk(JSON.stringify(rows).includes('$argon2'), 'no password hash in any event');
  t.equal(key.scope, null);
  t.equal(rows.find((r) => r.type === 'comment.created')!.scope, 'tickets:read');
  t.equal(rows.find((r) => r.type === 'employee.approved')!.scope, 'employees:read');
});

t.test('a refused change writes no event', async (t) => {
  const n = async () => Number((await ta.db('events').count({ n: '*' }))[0]!.n);
  const before = await n();
  const r = await ta.api.post('/api/tickets/TX9999/approve/', { priority: 'High', department: 'IT Department' });
  t.equal(r.status, 401);
  const tk = await ta.db('tickets').where({ status: 'In Progress' }).first('ticket_number');
  const { token } = await signedIn(ta, { role: 'Ticket Coordinator' });
  const again = await ta.api.post(`/api/tickets/${tk.ticket_number}/approve/`, { priority: 'High', department: 'IT Department' }, { token });
  t.equal(again.status, 409, 'an invalid move is refused');
  t.equal(await n(), before);
});

t.test('event ids sort in log order and round-trip', async (t) => {
  t.equal(eventId(0x1f, 0x2a), 'evt_00000000001f00000000002a');
  t.same(parseEventId('evt_00000000001f00000000002a'), { txid: 31, seq: 42 });
  t.equal(parseEventId('evt_xyz'), null);
  t.ok(eventId(9, 1000) < eventId(10, 1), 'transaction id first');
});

t.test('the maintenance job purges events older than EVENT_RETENTION_DAYS and keeps newer ones', async (t) => {
  const { runMaintenance } = await import('../src/features/jobs/maintenance.js');
  const [old] = await ta.db('events').insert({ type: 'faq.created', object_type: 'faq', object_id: '1', data: {}, created_at: ta.db.raw(`now() - interval '31 days'`) }).returning('seq');
  const [recent] = await ta.db('events').insert({ type: 'faq.created', object_type: 'faq', object_id: '2', data: {}, created_at: ta.db.raw(`now() - interval '29 days'`) }).returning('seq');
  const r = await runMaintenance(ta.app, 'events');
  t.equal(r.events, 1);
  t.notOk(await ta.db('events').where({ seq: old.seq }).first());
  t.ok(await ta.db('events').where({ seq: recent.seq }).first());
});
