/**
 * Who sees which event — feed and stream, every catalogue type, every caller kind. The rule is
 * written out here (docs/events.md, Visibility), not read from the code: an employee sees only their
 * own tickets and account and never an internal note; a coordinator everything but admin-only
 * events; an API key needs events:read and sees the events whose scope it holds (per its role).
 */
import t from 'tap';
import { exerciseCatalogue, type Expected } from './helpers/catalogue.js';
import { createApiKey, createEmployee, signedIn, startTestApp, tokenFor } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { openSse } from './helpers/sse.js';

const ta = await startTestApp(t);

const scopeOf = (type: string): string | null => {
  if (/^(ticket|comment|attachment|chat)\./.test(type)) return 'tickets:read';
  if (/^employee\./.test(type)) return 'employees:read';
  return null;
};

type Caller = { name: string; auth: { token?: string; apiKey?: string }; sees: (e: Expected) => boolean };

const other = await signedIn(ta, { role: 'Employee' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const admin = await createEmployee(ta.db, { role: 'System Admin' });
const adminToken = await tokenFor(ta.app, admin);
const keyAll = await createApiKey(ta.db, { role: 'System Admin', scopes: ['events:read', 'tickets:read', 'employees:read'] });
const keyTickets = await createApiKey(ta.db, { role: 'System Admin', scopes: ['events:read', 'tickets:read'] });
const keyCoord = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['events:read', 'tickets:read', 'employees:read'] });
const keyNoEvents = await createApiKey(ta.db, { role: 'System Admin', scopes: ['tickets:read'] });

// streams opened before the changes (live), for an employee and for a coordinator
const otherStream = await openSse(`${ta.url}/api/events/stream/`, { Authorization: `Bearer ${other.token}` });
const coordStream = await openSse(`${ta.url}/api/events/stream/`, { Authorization: `Bearer ${coord.token}` });
t.teardown(() => {
  otherStream.close();
  coordStream.close();
});
await waitFor(async () => otherStream.comments > 0 && coordStream.comments > 0, 'streams connected');

const { expected, owner } = await exerciseCatalogue(ta);
const ownerId = owner.id;

const callers: Caller[] = [
  { name: 'the owner (employee)', auth: { token: owner.token }, sees: (e) => e.audience === ownerId && !e.staff_only && !e.admin_only },
  { name: 'another employee', auth: { token: other.token }, sees: () => false },
  { name: 'ticket coordinator', auth: { token: coord.token }, sees: (e) => !e.admin_only },
  { name: 'system admin', auth: { token: adminToken }, sees: () => true },
  { name: 'admin key: tickets + employees', auth: { apiKey: keyAll.key }, sees: (e) => scopeOf(e.type) !== 'x' },
  { name: 'admin key: tickets only', auth: { apiKey: keyTickets.key }, sees: (e) => scopeOf(e.type) === 'tickets:read' || scopeOf(e.type) === null },
  { name: 'coordinator key', auth: { apiKey: keyCoord.key }, sees: (e) => scopeOf(e.type) !== null && !e.admin_only },
];

// every employee whose account had an event sees exactly their own account's events
for (const e of expected.filter((x) => x.type.startsWith('employee.') && x.audience !== ownerId)) {
  if (callers.some((c) => c.name === `employee ${e.audience}`)) continue;
  const id = e.audience!;
  callers.push({ name: `employee ${id}`, auth: { token: await tokenFor(ta.app, { id, role: 'Employee' }) }, sees: (x) => x.audience === id && !x.staff_only && !x.admin_only });
}

const key = (e: { type: string; object_id?: string; object?: { id: string } }) => `${e.type} ${e.object_id ?? e.object!.id}`;

async function feedOf(auth: Caller['auth']) {
  const out: { type: string; object: { id: string } }[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await ta.api.get('/api/events/', { ...auth, query: { limit: 200, ...(after ? { after } : {}) } });
    if (r.status !== 200) throw new Error(`feed answered ${r.status}`);
    out.push(...r.body.data);
    if (!r.body.next_cursor) return out;
    after = r.body.next_cursor;
  }
}

// wait until the whole run is below the commit horizon (the admin sees every event)
await waitFor(async () => (await feedOf({ token: adminToken })).length >= expected.length, 'every event served');

for (const c of callers) {
  t.test(`feed: ${c.name}`, async (t) => {
    const want = expected.filter(c.sees).map(key);
    const got = (await feedOf(c.auth)).map(key);
    t.same(got, want);
    if (/^(the owner|another employee|employee \d)/.test(c.name)) t.notOk(got.some((g) => g.startsWith('api_key.') || g.startsWith('faq.')), 'no staff data');
  });
}

t.test('an employee never sees an internal note, not even on their own ticket', async (t) => {
  const notes = expected.filter((e) => e.staff_only);
  t.equal(notes.length, 1, 'the run has one internal note');
  const got = (await feedOf({ token: owner.token })).map(key);
  t.notOk(got.includes(key(notes[0]!)));
  const feed = await ta.api.get('/api/events/', { token: owner.token, query: { object: String((await ta.db('tickets').orderBy('id').first('ticket_number')).ticket_number), limit: 200 } });
  t.notOk(JSON.stringify(feed.body).includes('check the concentrator'), 'the note text is nowhere in the owner\'s feed');
});

t.test('an API key without events:read is refused', async (t) => {
  const r = await ta.api.get('/api/events/', { apiKey: keyNoEvents.key });
  t.equal(r.status, 403);
  t.equal(r.body.code, 'insufficient_scope');
  const s = await openSse(`${ta.url}/api/events/stream/`, { 'X-API-Key': keyNoEvents.key });
  t.equal(s.status, 403);
});

t.test('streams carry the same visibility as the feed', async (t) => {
  // a marker each stream must see last: everything before it has arrived
  const m1 = await ta.api.post('/api/tickets/', { subject: 'other marker', category: 'Other', sub_category: 'Other', description: 'x' }, { token: other.token });
  await waitFor(async () => otherStream.events().some((e) => e.object.id === m1.body.ticket_number), 'employee stream got its marker');
  t.same(otherStream.events().map(key), [`ticket.created ${m1.body.ticket_number}`], 'another employee\'s stream: only their own ticket');
  await waitFor(async () => coordStream.events().some((e) => e.object.id === m1.body.ticket_number), 'coordinator stream got the marker');
  t.same(coordStream.events().map(key), [...expected.filter((e) => !e.admin_only).map(key), `ticket.created ${m1.body.ticket_number}`]);
});
