/**
 * Who sees which event — feed and stream, EVERY documented type (FULL_CATALOGUE), every caller kind.
 * The rule per type is written out below from docs/events.md (the catalogue's "who sees it" column
 * and the Visibility section), not read from the code:
 *   - System Admin: everything.
 *   - Ticket Coordinator: everything but admin-only events (API keys, webhooks, inbound email).
 *   - Employee: only events about their own tickets and their own account, never an internal note
 *     or other staff-only data (SLA, workflow dead letters), never FAQ/announcement/admin events.
 *   - API key: needs events:read; sees a type only with its scope (tickets:read / employees:read),
 *     scope-less types only with the System Admin role; then filtered by the key's role as above.
 * One exercise run (exerciseCatalogue + exerciseEverything) is shared by every caller. Callers known
 * before the run hold live streams during it; the owner and the per-account employees (created by
 * the run) read the stream by replay (`?after=`), so both stream paths are checked.
 */
import t from 'tap';
import { exerciseCatalogue, exerciseEverything, FULL_CATALOGUE, type Expected } from './helpers/catalogue.js';
import { createApiKey, createEmployee, signedIn, tokenFor } from './helpers/harness.js';
import { HELPDESK, startMailKit } from './helpers/mail.js';
import { startWorkflowStub, waitFor } from './helpers/outbound.js';
import { startReceiver } from './helpers/receiver.js';
import { openSse, type SseClient } from './helpers/sse.js';

type Type = (typeof FULL_CATALOGUE)[number];
/**
 * person: the employee the event is about (ticket owner / account holder) sees it;
 * coordinator: a Ticket Coordinator (user or key role) sees it;
 * scope: the key scope that grants it (null: System Admin keys only).
 */
type Rule = { person: boolean; coordinator: boolean; scope: 'tickets:read' | 'employees:read' | null };
const ticketish: Rule = { person: true, coordinator: true, scope: 'tickets:read' };
const account: Rule = { person: true, coordinator: true, scope: 'employees:read' };
const staffTickets: Rule = { person: false, coordinator: true, scope: 'tickets:read' };
const adminOnly: Rule = { person: false, coordinator: false, scope: null };
const staffNoScope: Rule = { person: false, coordinator: true, scope: null };
const RULES: Record<Type, Rule> = {
  'ticket.created': ticketish, 'ticket.updated': ticketish, 'ticket.status_changed': ticketish, 'ticket.assigned': ticketish, 'ticket.deleted': ticketish,
  'comment.created': ticketish, // the owner, except internal notes (below)
  'attachment.added': ticketish,
  'chat.escalated': ticketish,
  'employee.registered': account, 'employee.created': account, 'employee.approved': account, 'employee.rejected': account,
  'employee.updated': account, 'employee.deactivated': account, 'employee.reactivated': account, 'employee.erased': account,
  'api_key.created': adminOnly, 'api_key.revoked': adminOnly,
  'faq.created': staffNoScope, 'faq.updated': staffNoScope, 'faq.deleted': staffNoScope,
  // employees read announcements through GET /api/announcements/ (which applies the audience), not the feed
  'announcement.created': staffNoScope, 'announcement.archived': staffNoScope,
  'workflow.delivery_dead_lettered': staffTickets,
  'sla.warning': staffTickets, 'sla.breached': staffTickets, 'sla.policy_changed': staffTickets,
  'email.received': adminOnly, 'email.processed': adminOnly, 'email.quarantined': adminOnly, 'email.ignored': adminOnly, 'email.released': adminOnly,
  'webhook.created': adminOnly, 'webhook.updated': adminOnly, 'webhook.secret_rotated': adminOnly, 'webhook.disabled': adminOnly, 'webhook.deleted': adminOnly,
};
const ruleOf = (e: Expected) => RULES[e.type as Type] ?? (() => { throw new Error(`no visibility rule for ${e.type}`); })();
/** an internal note: the one comment the run writes with is_internal */
const internal = (e: Expected) => e.type === 'comment.created' && e.staff_only;

type Who = { role: 'System Admin' | 'Ticket Coordinator' | 'Employee'; employeeId?: number; keyScopes?: string[] };
/** announcements addressed to a department or role: the feed cannot apply that audience, so System Admins only */
const targeted = new Set<string>();
function sees(w: Who, e: Expected): boolean {
  const r = e.type.startsWith('announcement.') && targeted.has(e.object_id) ? adminOnly : ruleOf(e);
  if (w.keyScopes) {
    if (r.scope === null ? w.role !== 'System Admin' : !w.keyScopes.includes(r.scope)) return false;
  }
  if (w.role === 'System Admin') return true;
  if (w.role === 'Ticket Coordinator') return r.coordinator;
  return r.person && !internal(e) && w.employeeId !== undefined && e.audience === w.employeeId;
}

// the environment of events-catalogue: workers, SMTP receiver, a workflow target answering 500, a 410 receiver
const FAST = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WORKFLOW_RETRY_BASE_MS: '50', WORKFLOW_RETRY_MAX_MS: '200', WEBHOOK_TIMEOUT_MS: '30000', EVENT_STREAM_HEARTBEAT_MS: '200' };
const gone = await startReceiver(t, () => 410);
const workflow = await startWorkflowStub(t, () => 500);
const kit = await startMailKit(t, { ...FAST, WORKFLOW_API_URL: `${workflow.url}/workflow`, WORKFLOW_MAX_ATTEMPTS: '1' });
const ta = kit.ta;

type Caller = { name: string; auth: { token?: string; apiKey?: string }; who: Who; stream?: SseClient; personId?: number };
const headersOf = (a: Caller['auth']): Record<string, string> => (a.token ? { Authorization: `Bearer ${a.token}` } : { 'X-API-Key': a.apiKey! });

const other = await signedIn(ta, { role: 'Employee' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const admin = await createEmployee(ta.db, { role: 'System Admin' });
const adminToken = await tokenFor(ta.app, admin);
const key = async (role: 'System Admin' | 'Ticket Coordinator', scopes: string[]) => ({ apiKey: (await createApiKey(ta.db, { role, scopes })).key });
const keyNoEvents = await createApiKey(ta.db, { role: 'System Admin', scopes: ['tickets:read', 'employees:read'] });

const callers: Caller[] = [
  { name: 'another employee', auth: { token: other.token }, who: { role: 'Employee', employeeId: other.user.id }, personId: other.user.id },
  { name: 'ticket coordinator', auth: { token: coord.token }, who: { role: 'Ticket Coordinator', employeeId: coord.user.id } },
  { name: 'system admin', auth: { token: adminToken }, who: { role: 'System Admin', employeeId: admin.id } },
];
for (const [name, role, scopes] of [
  ['admin key: tickets + employees', 'System Admin', ['tickets:read', 'employees:read']],
  ['admin key: tickets only', 'System Admin', ['tickets:read']],
  ['admin key: employees only', 'System Admin', ['employees:read']],
  ['admin key: events:read only', 'System Admin', []],
  ['coordinator key: tickets + employees', 'Ticket Coordinator', ['tickets:read', 'employees:read']],
  ['coordinator key: employees only', 'Ticket Coordinator', ['employees:read']],
  ['coordinator key: events:read only', 'Ticket Coordinator', []],
] as const) {
  callers.push({ name, auth: await key(role, ['events:read', ...scopes]), who: { role, keyScopes: [...scopes] } });
}

async function feedOf(auth: Caller['auth']) {
  const out: { id: string; type: string; object: { id: string } }[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await ta.api.get('/api/events/', { ...auth, query: { limit: 200, ...(after ? { after } : {}) } });
    if (r.status !== 200) throw new Error(`feed answered ${r.status}`);
    out.push(...r.body.data);
    if (!r.body.next_cursor) return { events: out, last_id: r.body.last_id as string };
    after = r.body.next_cursor;
  }
}
const k = (e: { type: string; object_id?: string; object?: { id: string } }) => `${e.type} ${e.object_id ?? e.object!.id}`;
const sorted = (l: string[]) => [...l].sort();

// where the run starts (replayed streams begin here), then live streams for every caller known now
const startId = (await feedOf({ token: adminToken })).last_id ?? `evt_${'0'.repeat(24)}`;
for (const c of callers) {
  c.stream = await openSse(`${ta.url}/api/events/stream/`, headersOf(c.auth));
  if (c.stream.status !== 200) throw new Error(`${c.name}: stream answered ${c.stream.status} ${c.stream.body}`);
}
t.teardown(() => callers.forEach((c) => c.stream?.close()));
await waitFor(async () => callers.every((c) => c.stream!.comments > 0), 'streams connected');

const base = await exerciseCatalogue(ta);
const more = await exerciseEverything(ta, { send: (m) => kit.send(m), processed: (id) => kit.processed(id), helpdesk: HELPDESK, goneUrl: `${gone.url}/gone`, waitFor }, base.approved);
const expected = [...base.expected, ...more];
const ownerId = base.owner.id;


// every person an event is about (ticket owners, account holders) is a caller too, with their real role
callers.push({ name: 'the owner (employee)', auth: { token: base.owner.token }, who: { role: 'Employee', employeeId: ownerId }, personId: ownerId });
// an erased person is no caller: erasure revokes their sessions and they cannot sign in again (lifecycle tests)
for (const id of [...new Set(expected.map((e) => e.audience).filter((a): a is number => a !== null))]) {
  if (callers.some((c) => c.who.employeeId === id)) continue;
  const row = await ta.db('employees').where({ id }).first('id', 'role', 'erased_at');
  if (row.erased_at) continue;
  callers.push({ name: `${row.role} ${id} (an event is about them)`, auth: { token: await tokenFor(ta.app, row) }, who: { role: row.role, employeeId: id }, personId: row.role === 'Employee' ? id : undefined });
}
// replayed streams for those who joined during the run
for (const c of callers.filter((x) => !x.stream)) {
  c.stream = await openSse(`${ta.url}/api/events/stream/?after=${startId}`, headersOf(c.auth));
  if (c.stream.status !== 200) throw new Error(`${c.name}: stream answered ${c.stream.status} ${c.stream.body}`);
}

// markers, so that every caller has a last event to wait for: an account change of each employee
// caller, a ticket of another employee, a FAQ entry (for keys without scopes)
const markers: Expected[] = [];
const mark = (type: string, object_id: string, audience: number | null) => markers.push({ type, object_id, audience, staff_only: false, admin_only: false });
for (const c of callers.filter((x) => x.personId !== undefined)) {
  const r = await ta.api.patch(`/api/employees/${c.personId}/`, { department: 'Budget Department' }, { token: adminToken });
  if (r.status !== 200) throw new Error(`marker for ${c.name}: ${r.status} ${r.text.slice(0, 200)}`);
  mark('employee.updated', r.body.company_id, c.personId!);
}
const m1 = await ta.api.post('/api/tickets/', { subject: 'marker', category: 'Other', sub_category: 'Other', description: 'x' }, { token: other.token });
mark('ticket.created', m1.body.ticket_number, other.user.id);
const m2 = await ta.api.post('/api/faqs/', { question: 'marker?', answer: 'marker.' }, { token: adminToken });
mark('faq.created', String(m2.body.id), null);
// an announcement for one department only (not the coordinator's): neither staff nor employees see its events
const ann = await ta.api.post('/api/announcements/', { title: 'Budget only', body: 'For the budget team.', audience: 'department', department: 'Budget Department' }, { token: adminToken });
if (ann.status !== 201) throw new Error(`targeted announcement: ${ann.status} ${ann.text.slice(0, 200)}`);
targeted.add(String(ann.body.id));
mark('announcement.created', String(ann.body.id), null);
if ((await ta.api.post(`/api/announcements/${ann.body.id}/archive/`, undefined, { token: adminToken })).status !== 200) throw new Error('archive');
mark('announcement.archived', String(ann.body.id), null);
const all = [...expected, ...markers];

// the admin sees every event: wait until the whole run is below the commit horizon
await waitFor(async () => (await feedOf({ token: adminToken })).events.length >= all.length, 'every event served', 60_000);

t.test('the run made every documented type, and each has a rule here', async (t) => {
  t.same([...new Set(expected.map((e) => e.type))].sort(), [...FULL_CATALOGUE].sort());
  t.same(Object.keys(RULES).sort(), [...FULL_CATALOGUE].sort());
});

t.test('every caller sees in the feed exactly what docs/events.md grants', async (t) => {
  for (const c of callers) {
    const want = all.filter((e) => sees(c.who, e)).map(k);
    const got = (await feedOf(c.auth)).events.map(k);
    t.same(sorted(got), sorted(want), `feed: ${c.name}`);
  }
});

t.test('every caller\'s stream carries exactly its feed (live and replayed)', async (t) => {
  // callers with nothing to see last: by then every event has reached every stream
  const order = [...callers].sort((a, b) => Number(!all.some((e) => sees(a.who, e))) - Number(!all.some((e) => sees(b.who, e))));
  for (const c of order) {
    const want = all.filter((e) => sees(c.who, e));
    if (!want.length) {
      t.same(c.stream!.events(), [], `stream: ${c.name} (nothing to see)`);
      t.same((await feedOf(c.auth)).events, [], `feed: ${c.name} (nothing to see)`);
      continue;
    }
    const last = markers.filter((m) => sees(c.who, m)).map(k);
    await waitFor(async () => last.every((m) => c.stream!.events().some((e) => k(e) === m)), `${c.name}: stream got its markers`, 60_000);
    const feed = (await feedOf(c.auth)).events;
    t.same(c.stream!.events().map((e) => e.id), feed.map((e) => e.id), `stream = feed, in order: ${c.name}`);
    t.same(sorted(c.stream!.events().map(k)), sorted(want.map(k)), `stream: ${c.name}`);
  }
});

t.test('an employee never sees staff data, not even about their own ticket', async (t) => {
  const notes = expected.filter(internal);
  t.equal(notes.length, 1, 'the run has one internal note');
  for (const c of callers.filter((x) => x.who.role === 'Employee')) {
    const got = (await feedOf(c.auth)).events;
    const types = got.map((e) => e.type);
    t.notOk(types.some((ty) => /^(api_key|faq|webhook|email|announcement|sla|workflow)\./.test(ty)), `${c.name}: no staff or admin types`);
    t.notOk(got.map(k).includes(k(notes[0]!)), `${c.name}: not the internal note`);
    t.notOk(JSON.stringify(got).includes('check the concentrator'), `${c.name}: the note text is nowhere in the feed`);
    t.notOk(JSON.stringify(c.stream!.messages).includes('check the concentrator'), `${c.name}: nor on the stream`);
  }
});

t.test('an API key without events:read is refused', async (t) => {
  const r = await ta.api.get('/api/events/', { apiKey: keyNoEvents.key });
  t.equal(r.status, 403);
  t.equal(r.body.code, 'insufficient_scope');
  const s = await openSse(`${ta.url}/api/events/stream/`, { 'X-API-Key': keyNoEvents.key });
  t.equal(s.status, 403);
});
