/** Outbound workflow deliveries against a real local HTTP server playing the workflow system. */
import { createHmac, randomBytes } from 'node:crypto';
import t from 'tap';
import { backoffMs } from '../src/features/workflow/delivery-worker.js';
import { verifyResource } from '../src/lib/signed-urls.js';
import { queueWorkflowDelivery } from '../src/features/workflow/workflow-outbox.js';
import { createApiKey, createEmployee, signedIn, startTestApp, TEST_JWT_SECRET, type T as HarnessT, type TestApp } from './helpers/harness.js';
import { insertTicket, startWorkflowStub, waitFor, type StubBehaviour } from './helpers/outbound.js';

const SECRET_BYTES = randomBytes(24);
const SECRET = `whsec_${SECRET_BYTES.toString('base64')}`;
const FAST = { WORKFLOW_RETRY_BASE_MS: '50', WORKFLOW_RETRY_MAX_MS: '200', WORKFLOW_TIMEOUT_MS: '300', WORKFLOW_API_KEY: 'wf-key-123', WORKFLOW_SIGNING_SECRET: SECRET, PUBLIC_URL: 'https://help.example.com' };

async function setup(t: HarnessT, behaviour: StubBehaviour, env: Record<string, string> = {}) {
  const stub = await startWorkflowStub(t, behaviour);
  const ta = await startTestApp(t, { env: { ...FAST, WORKFLOW_API_URL: stub.url, ...env } });
  await ta.startWorkers();
  return { stub, ta };
}

async function newDelivery(ta: TestApp, over: Record<string, unknown> = {}) {
  const owner = await createEmployee(ta.db, { first_name: 'Mia', last_name: 'Cruz', middle_name: 'Q', department: 'IT Department' } as never);
  return ta.db.transaction(async (trx) => {
    const ticket = await insertTicket(trx, owner.id, over);
    const d = await queueWorkflowDelivery(trx, ta.app.jobs, ticket.id, 'approved');
    return { owner, ticket, delivery: d };
  });
}
const finished = (ta: TestApp, id: number) =>
  waitFor(async () => {
    const r = await ta.db('workflow_deliveries').where({ id }).first();
    return r && r.status !== 'pending' ? r : undefined;
  }, `delivery ${id} finished`);

t.test('a delivery carries the payload, the key, an idempotency key and a valid signature', async (t) => {
  const { stub, ta } = await setup(t, () => 201);
  const { owner, ticket, delivery } = await newDelivery(ta, { scheduled_date: '2026-12-01', assigned_to: null });
  const [att] = await ta.db('ticket_attachments').insert({ ticket_id: ticket.id, storage_key: `k/${randomBytes(4).toString('hex')}`, file_name: 'screen.png', file_type: 'image/png', file_size: 1234, uploaded_by: owner.id }).returning('id');
  const row = await finished(ta, delivery.id);
  t.match(row, { status: 'delivered', attempts: 1, last_status_code: 201, last_error: null });
  t.ok(row.delivered_at);
  t.equal(stub.requests.length, 1);
  const req = stub.requests[0]!;
  t.equal(req.method, 'POST');
  t.equal(req.url, '/tickets/');
  t.equal(req.headers['x-api-key'], 'wf-key-123');
  t.equal(req.headers['idempotency-key'], delivery.event_id);
  t.equal(req.headers['webhook-id'], delivery.event_id);
  const ts = req.headers['webhook-timestamp'] as string;
  t.match(ts, /^\d+$/);
  t.ok(Math.abs(Number(ts) - Date.now() / 1000) < 300, 'timestamp is now');
  // verify as a receiver would: HMAC-SHA256 over id.timestamp.body with the decoded whsec_ key
  const expected = createHmac('sha256', SECRET_BYTES).update(`${delivery.event_id}.${ts}.${req.body}`).digest('base64');
  t.equal(req.headers['webhook-signature'], `v1,${expected}`, 'Standard Webhooks signature verifies');

  const body = JSON.parse(req.body);
  t.same(Object.keys(body).sort(), ['assigned_to', 'attachments', 'category', 'customer', 'department', 'description', 'id', 'priority', 'rejection_reason', 'resolution_time', 'response_time', 'scheduled_date', 'status', 'subcategory', 'subject', 'submit_date', 'ticket_id', 'time_closed', 'update_date'].sort(), 'exactly the fields api.md lists');
  t.match(body, { id: ticket.id, ticket_id: ticket.ticket_number, subject: 'Laptop will not boot', category: 'Hardware', subcategory: 'Laptop', scheduled_date: '2026-12-01', priority: 'High', department: 'IT Department', status: 'Open', assigned_to: null });
  t.same(body.customer, { id: owner.id, first_name: 'Mia', last_name: 'Cruz', middle_name: 'Q', suffix: null, email: owner.email, company_id: owner.company_id, department: 'IT Department' });
  t.equal(body.attachments.length, 1);
  t.match(body.attachments[0], { id: att.id, file_name: 'screen.png', file_type: 'image/png', file_size: 1234 });
  const url = new URL(body.attachments[0].url);
  t.equal(url.origin + url.pathname, `https://help.example.com/api/attachments/${att.id}/download/`);
  t.same(verifyResource(TEST_JWT_SECRET, url.searchParams.get('signature')!)?.resource, `attachment:${att.id}`, 'a signed link to exactly that file');
  t.notOk(req.body.includes('wf-key-123'), 'the API key is never in the payload');
});

t.test('500, 429 and a timeout are retried with the same event id, then delivered', async (t) => {
  const plan: (number | 'hang')[] = [500, 429, 'hang', 503];
  const { stub, ta } = await setup(t, (_req, n) => plan[n] ?? 200);
  const { delivery } = await newDelivery(ta);
  const row = await finished(ta, delivery.id);
  t.match(row, { status: 'delivered', attempts: 5, last_status_code: 200, last_error: null, next_attempt_at: null });
  t.equal(stub.requests.length, 5);
  t.same(new Set(stub.requests.map((r) => r.headers['idempotency-key'])), new Set([delivery.event_id]), 'same Idempotency-Key on every attempt');
});

t.test('410 stops; other 4xx fail without retry; a redirect is not followed', async (t) => {
  const { stub, ta } = await setup(t, (req) => (req.headers['x-test'] ? 200 : 410));
  const { delivery } = await newDelivery(ta);
  const row = await finished(ta, delivery.id);
  t.match(row, { status: 'stopped', attempts: 1, last_status_code: 410, next_attempt_at: null }, 'no next attempt scheduled');

  stub.setBehaviour(() => 302);
  const d2 = (await newDelivery(ta)).delivery;
  const r2 = await finished(ta, d2.id);
  t.match(r2, { status: 'failed', attempts: 1, last_status_code: 302 });
  t.match(r2.last_error, /not followed/);
  stub.setBehaviour(() => 422);
  const d3 = (await newDelivery(ta)).delivery;
  t.match(await finished(ta, d3.id), { status: 'failed', attempts: 1, last_status_code: 422 });
  // two later deliveries went through the same worker since: a retry of any of them would be here by now
  t.same(stub.requests.map((r) => r.headers['idempotency-key']), [delivery.event_id, d2.event_id, d3.event_id], 'none was retried');
});

t.test('retries give up after the attempt limit: dead, and dead-lettered', async (t) => {
  const { stub, ta } = await setup(t, () => 503, { WORKFLOW_MAX_ATTEMPTS: '3' });
  const { delivery } = await newDelivery(ta);
  const row = await finished(ta, delivery.id);
  t.match(row, { status: 'dead', attempts: 3, last_status_code: 503 });
  t.equal(stub.requests.length, 3);
  const admin = await signedIn(ta, { role: 'System Admin' });
  const jobs = await ta.api.get('/api/admin/jobs/', { token: admin.token });
  t.equal(jobs.status, 200);
  const q = jobs.body.queues.find((x: { name: string }) => x.name === 'workflow.deliver');
  t.equal(q.dead_lettered, 1);
  const dead = jobs.body.recent_failed.find((j: { queue: string }) => j.queue === 'workflow.deliver.dead');
  t.same(dead.data, { deliveryId: delivery.id });

  // retrying the dead-lettered job revives the same delivery (same event id) and sends it again
  stub.setBehaviour(() => 200);
  const retried = await ta.api.post(`/api/admin/jobs/workflow.deliver.dead/${dead.id}/retry/`, undefined, { token: admin.token });
  t.equal(retried.status, 202);
  t.equal(retried.body.queue, 'workflow.deliver');
  const again = await finished(ta, delivery.id);
  t.match(again, { status: 'delivered', attempts: 4 });
  t.equal(stub.requests.at(-1)!.headers['idempotency-key'], delivery.event_id);
  t.equal((await ta.api.post(`/api/admin/jobs/workflow.deliver.dead/${dead.id}/retry/`, undefined, { token: admin.token })).status, 404, 'already moved');
  t.equal((await ta.api.post(`/api/admin/jobs/nope/${dead.id}/retry/`, undefined, { token: admin.token })).status, 404);
  const coordinator = await signedIn(ta, { role: 'Ticket Coordinator' });
  t.equal((await ta.api.get('/api/admin/jobs/', { token: coordinator.token })).status, 403);
});

t.test('no WORKFLOW_API_URL: deliveries are skipped, not failed', async (t) => {
  const ta = await startTestApp(t, { env: FAST });
  await ta.startWorkers();
  const { delivery } = await newDelivery(ta);
  const row = await finished(ta, delivery.id);
  t.match(row, { status: 'skipped', attempts: 0 });
});

t.test('a rolled-back transaction sends nothing', async (t) => {
  const { stub, ta } = await setup(t, () => 200);
  const owner = await createEmployee(ta.db);
  await t.rejects(ta.db.transaction(async (trx) => {
    const ticket = await insertTicket(trx, owner.id);
    await queueWorkflowDelivery(trx, ta.app.jobs, ticket.id, 'approved');
    throw new Error('approval failed');
  }), /approval failed/);
  const { delivery } = await newDelivery(ta); // a committed one, to know the worker has run
  await finished(ta, delivery.id);
  t.equal(stub.requests.length, 1, 'only the committed delivery reached the workflow system');
  t.equal((await ta.db('workflow_deliveries')).length, 1);
});

t.test('a job that runs twice does not send twice', async (t) => {
  const { stub, ta } = await setup(t, () => 200);
  const { delivery } = await newDelivery(ta);
  await finished(ta, delivery.id);
  await ta.db.transaction((trx) => ta.app.jobs.enqueue(trx, 'workflow.deliver', { deliveryId: delivery.id }));
  await ta.db.transaction((trx) => ta.app.jobs.enqueue(trx, 'workflow.deliver', { deliveryId: delivery.id, attempt: 0 }));
  const { delivery: d2 } = await newDelivery(ta);
  await finished(ta, d2.id);
  await waitFor(async () => (await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'workflow.deliver' AND state IN ('created','active','retry')`)).rows[0].n === 0, 'queue drained');
  t.equal(stub.requests.filter((r) => r.headers['idempotency-key'] === delivery.event_id).length, 1);
});

t.test('two copies of one attempt while the delivery is still pending: one request, attempts = 1', async (t) => {
  // the receiver holds the first request for 3 s: the second copy runs while the attempt is in flight
  const stub = await startWorkflowStub(t, () => 'hang');
  const ta = await startTestApp(t, { env: { ...FAST, WORKFLOW_TIMEOUT_MS: '10000', WORKFLOW_API_URL: stub.url } });
  const { delivery } = await newDelivery(ta);
  await ta.db.transaction((trx) => ta.app.jobs.enqueue(trx, 'workflow.deliver', { deliveryId: delivery.id, attempt: 0 }));
  await ta.startWorkers();
  const row = await finished(ta, delivery.id);
  await waitFor(async () => (await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'workflow.deliver' AND state IN ('created','active','retry')`)).rows[0].n === 0, 'queue drained');
  t.equal(stub.requests.filter((r) => r.headers['idempotency-key'] === delivery.event_id).length, 1, 'one request');
  t.match(row, { status: 'delivered', attempts: 1 });
  const copies = (await ta.db.raw(`SELECT retry_count FROM pgboss.job WHERE name = 'workflow.deliver' AND (data->>'deliveryId')::bigint = ?`, [delivery.id])).rows;
  t.equal(copies.length, 2, 'both copies ran');
  t.ok(copies.some((c: { retry_count: number }) => c.retry_count >= 1), 'one copy met the attempt in flight (the lease) and was put back');
});

t.test('list and redeliver', async (t) => {
  const { stub, ta } = await setup(t, () => 200);
  const a = await newDelivery(ta);
  const b = await newDelivery(ta);
  await finished(ta, a.delivery.id);
  await finished(ta, b.delivery.id);
  const staff = await signedIn(ta, { role: 'Ticket Coordinator' });
  const list = await ta.api.get('/api/workflow/deliveries/', { token: staff.token });
  t.equal(list.status, 200);
  t.same(list.body.data.map((d: { id: number }) => d.id), [b.delivery.id, a.delivery.id]);
  t.equal(list.body.data[0].ticket_number, b.ticket.ticket_number);
  const page = await ta.api.get('/api/workflow/deliveries/', { token: staff.token, query: { limit: 1 } });
  t.equal(page.body.data.length, 1);
  const page2 = await ta.api.get('/api/workflow/deliveries/', { token: staff.token, query: { limit: 1, cursor: page.body.next_cursor } });
  t.equal(page2.body.data[0].id, a.delivery.id);
  const byTicket = await ta.api.get('/api/workflow/deliveries/', { token: staff.token, query: { ticket: a.ticket.ticket_number, status: 'delivered' } });
  t.same(byTicket.body.data.map((d: { id: number }) => d.id), [a.delivery.id]);
  const byId = await ta.api.get('/api/workflow/deliveries/', { token: staff.token, query: { ticket: String(a.ticket.id) } });
  t.same(byId.body.data.map((d: { id: number }) => d.id), [a.delivery.id]);

  const re = await ta.api.post(`/api/workflow/deliveries/${a.delivery.id}/redeliver/`, undefined, { token: staff.token });
  t.equal(re.status, 202);
  t.match(re.body, { ticket_id: a.ticket.id, reason: 'redelivery', status: 'pending', attempts: 0 });
  t.not(re.body.event_id, a.delivery.event_id, 'a new event');
  await finished(ta, re.body.id);
  t.equal(stub.requests.at(-1)!.headers['idempotency-key'], re.body.event_id);
  t.equal((await ta.api.post('/api/workflow/deliveries/999999/redeliver/', undefined, { token: staff.token })).status, 404);
  const huge = await ta.api.post('/api/workflow/deliveries/99999999999999999999999/redeliver/', undefined, { token: staff.token });
  t.equal(huge.status, 400, 'an id past bigint is a validation error, not a 500');
  t.match(huge.body.errors, [{ field: 'path.id' }]);
  const emp = await signedIn(ta);
  t.equal((await ta.api.get('/api/workflow/deliveries/', { token: emp.token })).status, 403);
  t.equal((await ta.api.post(`/api/workflow/deliveries/${a.delivery.id}/redeliver/`, undefined, { token: emp.token })).status, 403);
  const readKey = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['tickets:read'] });
  t.equal((await ta.api.get('/api/workflow/deliveries/', { apiKey: readKey.key })).status, 200);
  t.equal((await ta.api.post(`/api/workflow/deliveries/${a.delivery.id}/redeliver/`, undefined, { apiKey: readKey.key })).status, 403, 'needs tickets:write');
});

t.test('backoff grows exponentially, is capped, and is jittered', async (t) => {
  t.equal(backoffMs(1, 1000, 60_000, () => 0), 500);
  t.equal(backoffMs(1, 1000, 60_000, () => 1), 1000);
  t.equal(backoffMs(4, 1000, 60_000, () => 1), 8000);
  t.equal(backoffMs(30, 1000, 60_000, () => 1), 60_000, 'capped');
  const samples = new Set(Array.from({ length: 20 }, () => backoffMs(5, 1000, 60_000)));
  t.ok(samples.size > 1, 'jitter');
  // the default schedule spans about three days within 25 attempts
  let total = 0;
  for (let n = 1; n < 25; n++) total += backoffMs(n, 30_000, 6 * 3_600_000, () => 0.5);
  t.ok(total > 2 * 86_400_000 && total < 4 * 86_400_000, `about three days (${(total / 3_600_000).toFixed(1)} h)`);
});
