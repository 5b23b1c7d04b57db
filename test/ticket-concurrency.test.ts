/**
 * Races: parallel claims (one winner), parallel creations (distinct numbers), and Idempotency-Key
 * (one ticket for 50 identical POSTs, identical responses; reuse with another body 422; in flight 409).
 */
import t from 'tap';
import { callerKey } from '../src/http/auth.js';
import { purgeExpired } from '../src/http/idempotency.js';
import { signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const api = ta.api;
const owner = await signedIn(ta, { role: 'Employee' });
const NEW = { subject: 'Race', category: 'c', sub_category: 's', description: 'd' };

t.test('20 parallel claims of one ticket: exactly one winner, the rest 409 already_claimed', async (t) => {
  const tk = (await api.post('/api/tickets/', NEW, { token: owner.token })).body;
  await ta.db('tickets').where({ id: tk.id }).update({ status: 'Open', approved_at: ta.db.fn.now() });
  const staff = await Promise.all(Array.from({ length: 20 }, (_, i) => signedIn(ta, { role: i % 2 ? 'System Admin' : 'Ticket Coordinator' })));
  const results = await Promise.all(staff.map((s) => api.post(`/api/tickets/${tk.id}/claim/`, undefined, { token: s.token })));
  const winners = results.filter((r) => r.status === 200);
  t.equal(winners.length, 1, 'one winner');
  t.equal(results.filter((r) => r.status === 409 && r.body.code === 'already_claimed').length, 19, 'everyone else: already_claimed');
  const row = await ta.db('tickets').where({ id: tk.id }).first();
  t.equal(Number(row.assigned_to), winners[0].body.assigned_to.id);
  t.equal(Number((await ta.db('ticket_history').where({ ticket_id: tk.id, event: 'assigned' }).count({ n: '*' }))[0].n), 1);
});

t.test('200 parallel creations get 200 distinct numbers', async (t) => {
  const results = await Promise.all(Array.from({ length: 200 }, () => api.post('/api/tickets/', NEW, { token: owner.token })));
  t.ok(results.every((r) => r.status === 201));
  const numbers = new Set(results.map((r) => r.body.ticket_number));
  t.equal(numbers.size, 200);
});

t.test('50 POSTs with the same Idempotency-Key: one ticket, identical responses', async (t) => {
  const before = Number((await ta.db('tickets').count({ n: '*' }))[0].n);
  const headers = { 'Idempotency-Key': 'burst-1' };
  const results = await Promise.all(Array.from({ length: 50 }, () => api.post('/api/tickets/', { ...NEW, subject: 'once' }, { token: owner.token, headers })));
  t.same([...new Set(results.map((r) => r.status))], [201]);
  t.equal(new Set(results.map((r) => r.text)).size, 1, 'identical bodies');
  t.equal(new Set(results.map((r) => `${r.headers.get('etag')} ${r.headers.get('location')}`)).size, 1, 'identical headers');
  t.equal(results.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 49);
  t.equal(Number((await ta.db('tickets').count({ n: '*' }))[0].n), before + 1, 'one ticket');
  const later = await api.post('/api/tickets/', { ...NEW, subject: 'once' }, { token: owner.token, headers });
  t.equal(later.text, results[0].text, 'a later retry replays too');
});

t.test('Idempotency-Key: per caller, different body 422, in flight 409, purge', async (t) => {
  const headers = { 'Idempotency-Key': 'k-2' };
  const first = await api.post('/api/tickets/', NEW, { token: owner.token, headers });
  t.equal(first.status, 201);
  const other = await api.post('/api/tickets/', { ...NEW, subject: 'different' }, { token: owner.token, headers });
  t.equal(other.status, 422);
  t.equal(other.body.code, 'idempotency_key_reused');
  const someoneElse = await signedIn(ta, { role: 'Employee' });
  const theirs = await api.post('/api/tickets/', NEW, { token: someoneElse.token, headers });
  t.equal(theirs.status, 201);
  t.not(theirs.body.id, first.body.id, 'keys are per caller');

  // a failed request releases its key
  const bad = await api.post('/api/tickets/', { ...NEW, priority: 'High' }, { token: owner.token, headers: { 'Idempotency-Key': 'k-3' } });
  t.equal(bad.status, 422);
  t.equal(Number((await ta.db('idempotency_keys').where({ key: 'k-3' }).count({ n: '*' }))[0].n), 0);

  // still running: the retry waits, then gives up with 409
  const { requestHash } = await import('../src/http/idempotency.js');
  await ta.db('idempotency_keys').insert({ caller: callerKey({ kind: 'user', id: owner.user.id, employeeId: owner.user.id, role: 'Employee', sessionId: undefined }, ''), key: 'k-4', request_hash: requestHash('POST', '/api/tickets/', NEW) });
  const busy = await api.post('/api/tickets/', NEW, { token: owner.token, headers: { 'Idempotency-Key': 'k-4' } });
  t.equal(busy.status, 409);
  t.equal(busy.body.code, 'idempotency_in_progress');

  await ta.db('idempotency_keys').update({ expires_at: ta.db.raw(`now() - interval '1 minute'`) }).where({ key: 'k-2' });
  t.ok((await purgeExpired(ta.db)) >= 2);
  t.equal(Number((await ta.db('idempotency_keys').where({ key: 'k-2' }).count({ n: '*' }))[0].n), 0);
});
