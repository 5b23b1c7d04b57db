/**
 * POST /api/workflow/status/: API key scope, Standard Webhooks signature (bad, stale, missing),
 * unknown ticket, invalid transition, repeats return the first result, history + owner email,
 * and never an outbound push.
 */
import t from 'tap';
import { sign } from '../src/lib/webhooks.js';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';

const SECRET = 'whsec_' + Buffer.from('workflow-test-secret-0123456789').toString('base64');
const ta = await startTestApp(t, { env: { WORKFLOW_SIGNING_SECRET: SECRET } });
const api = ta.api;
const owner = await signedIn(ta, { role: 'Employee' });
const key = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['workflow:callback'] });

async function openTicket(): Promise<{ id: number; ticket_number: string }> {
  const tk = (await api.post('/api/tickets/', { subject: 's', category: 'c', sub_category: 'x', description: 'd' }, { token: owner.token })).body;
  await ta.db('tickets').where({ id: tk.id }).update({ status: 'Open', approved_at: ta.db.fn.now() });
  return tk;
}

function signed(body: unknown, opts: { id?: string; ts?: number; secret?: string; apiKey?: string } = {}) {
  const text = JSON.stringify(body);
  const id = opts.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  return api.post('/api/workflow/status/', undefined, {
    apiKey: opts.apiKey ?? key.key,
    raw: text,
    headers: { 'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sign(opts.secret ?? SECRET, id, ts, text) },
  });
}

const deliveries = async () => Number((await ta.db('workflow_deliveries').count({ n: '*' }))[0].n);

t.test('a signed callback moves the ticket, writes history, emails the owner, pushes nothing', async (t) => {
  const tk = await openTicket();
  const before = await deliveries();
  const r = await signed({ ticket_number: tk.ticket_number, status: 'Resolved', comment: 'done upstream' });
  t.equal(r.status, 200);
  t.match(r.body, { ticket_id: tk.id, ticket_number: tk.ticket_number, from_status: 'Open', status: 'Resolved' });
  const row = await ta.db('tickets').where({ id: tk.id }).first();
  t.equal(row.status, 'Resolved');
  t.ok(row.resolution_time !== null);
  const h = await ta.db('ticket_history').where({ ticket_id: tk.id, event: 'status_changed' }).first();
  t.equal(h.actor_kind, 'workflow');
  t.equal((await ta.db('notifications').where({ template: 'ticket_status_changed', recipient: owner.user.email }).whereRaw(`data->>'ticket_number' = ?`, [tk.ticket_number])).length, 1);
  t.equal(await deliveries(), before, 'no outbound push');
  // ticket_id may be the numeric id or (as in the outbound payload) the number
  t.equal((await signed({ ticket_id: tk.ticket_number, status: 'Closed' })).status, 200);
});

t.test('a repeat (same webhook-id or event_id) returns the first result and changes nothing', async (t) => {
  const tk = await openTicket();
  const first = await signed({ ticket_id: tk.id, status: 'On Hold' }, { id: 'msg_repeat' });
  const again = await signed({ ticket_id: tk.id, status: 'On Hold' }, { id: 'msg_repeat' });
  t.equal(again.status, 200);
  t.same(again.body, first.body);
  t.equal(again.headers.get('idempotent-replayed'), 'true');
  t.equal(Number((await ta.db('ticket_history').where({ ticket_id: tk.id, event: 'status_changed' }).count({ n: '*' }))[0].n), 1);
  const parallel = await Promise.all(Array.from({ length: 5 }, () => signed({ ticket_id: tk.id, status: 'Pending', event_id: 'evt-par' }, { id: 'msg_par' })));
  t.same([...new Set(parallel.map((r) => r.status))], [200]);
  t.equal(new Set(parallel.map((r) => JSON.stringify(r.body))).size, 1);
});

t.test('rejections: key, scope, signature, timestamp, unknown ticket, invalid transition', async (t) => {
  const tk = await openTicket();
  const body = { ticket_id: tk.id, status: 'Pending' };
  const noKey = await api.post('/api/workflow/status/', body);
  t.equal(noKey.status, 401);
  const bad = await signed(body, { apiKey: 'ssk_nope' });
  t.equal(bad.status, 401);
  const wrongScope = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['tickets:write'] });
  t.equal((await signed(body, { apiKey: wrongScope.key })).body.code, 'insufficient_scope');
  const user = await signedIn(ta, { role: 'System Admin' });
  t.equal((await api.post('/api/workflow/status/', body, { token: user.token })).status, 403, 'people cannot call it');
  const badSig = await signed(body, { secret: 'whsec_' + Buffer.from('wrong').toString('base64') });
  t.equal(badSig.status, 401);
  t.equal(badSig.body.code, 'invalid_signature');
  const stale = await signed(body, { ts: Math.floor(Date.now() / 1000) - 301 });
  t.equal(stale.status, 401);
  t.equal(stale.body.code, 'stale_timestamp');
  const unsigned = await api.post('/api/workflow/status/', body, { apiKey: key.key });
  t.equal(unsigned.status, 401);
  const tampered = await api.post('/api/workflow/status/', undefined, {
    apiKey: key.key,
    raw: JSON.stringify({ ...body, status: 'Resolved' }),
    headers: { 'Content-Type': 'application/json', 'webhook-id': 'm1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': sign(SECRET, 'm1', Math.floor(Date.now() / 1000), JSON.stringify(body)) },
  });
  t.equal(tampered.status, 401);
  t.equal((await ta.db('tickets').where({ id: tk.id }).first()).status, 'Open', 'nothing applied');

  const unknown = await signed({ ticket_number: 'TX999999', status: 'Pending' });
  t.equal(unknown.status, 404);
  const invalid = await signed({ ticket_id: tk.id, status: 'New' });
  t.equal(invalid.status, 409);
  t.match(invalid.body, { code: 'invalid_transition', current_status: 'Open' });
  t.ok(invalid.body.allowed.includes('In Progress'));
  const reopen = await signed({ ticket_id: tk.id, status: 'Withdrawn' });
  t.equal(reopen.status, 409);
});

t.test('without a signing secret only the API key is checked', async (t) => {
  const t2 = await startTestApp(t);
  const k = await createApiKey(t2.db, { role: 'Ticket Coordinator', scopes: ['workflow:callback'] });
  const o = await signedIn(t2, { role: 'Employee' });
  const tk = (await t2.api.post('/api/tickets/', { subject: 's', category: 'c', sub_category: 'x', description: 'd' }, { token: o.token })).body;
  await t2.db('tickets').where({ id: tk.id }).update({ status: 'Open', approved_at: t2.db.fn.now() });
  const r = await t2.api.post('/api/workflow/status/', { ticket_id: tk.id, status: 'In Progress', event_id: 'e1' }, { apiKey: k.key });
  t.equal(r.status, 200);
  const again = await t2.api.post('/api/workflow/status/', { ticket_id: tk.id, status: 'In Progress', event_id: 'e1' }, { apiKey: k.key });
  t.same(again.body, r.body, 'idempotent by event_id');
});
