/**
 * Webhook subscriptions against real HTTP receivers: signatures and secret rotation, 410 stops,
 * a receiver down then up gets everything, redirects are not followed, private targets refused
 * (also when a name resolves to one at connect time), auto-disable after continuous failure with an
 * email to the admins, ping and redeliver, and one slow receiver does not hold back the others.
 */
import dns from 'node:dns/promises';
import os from 'node:os';
import t from 'tap';
import { createEmployee, startTestApp, tokenFor, type T as HarnessT, type TestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { signatureValid } from './helpers/sse.js';

const FAST = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WORKFLOW_RETRY_BASE_MS: '50', WORKFLOW_RETRY_MAX_MS: '300', WEBHOOK_TIMEOUT_MS: '30000' };

async function setup(t: HarnessT, env: Record<string, string> = {}) {
  const ta = await startTestApp(t, { env: { ...FAST, ...env } });
  await ta.startWorkers();
  const admin = await createEmployee(ta.db, { role: 'System Admin' });
  const token = await tokenFor(ta.app, admin);
  return { ta, admin, token };
}

async function hook(ta: TestApp, token: string, r: Receiver, types = ['faq.*']) {
  const res = await ta.api.post('/api/webhooks/', { url: `${r.url}/in`, event_types: types }, { token });
  if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${res.text}`);
  return res.body as { id: number; secret: string };
}

let n = 0;
const faq = (ta: TestApp, token: string) => ta.api.post('/api/faqs/', { question: `Question ${++n}?`, answer: 'Answer.' }, { token });
const typesOf = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body).type as string);

t.test('secret rotation: two signatures during the overlap, then only the new one', async (t) => {
  const { ta, token } = await setup(t);
  const r = await startReceiver(t, () => 200);
  const h = await hook(ta, token, r);
  await faq(ta, token);
  await waitFor(async () => r.requests.length === 1, 'first delivery');
  t.ok(signatureValid(h.secret, r.requests[0]!.headers, r.requests[0]!.body));

  const rot = await ta.api.post(`/api/webhooks/${h.id}/rotate-secret/`, { overlap_hours: 2 }, { token });
  t.equal(rot.status, 200);
  t.not(rot.body.secret, h.secret);
  t.ok(rot.body.previous_secret_expires_at);
  await faq(ta, token);
  await waitFor(async () => r.requests.length === 2, 'second delivery');
  const second = r.requests[1]!;
  t.equal(String(second.headers['webhook-signature']).split(' ').length, 2, 'both signatures during the overlap');
  t.ok(signatureValid(rot.body.secret, second.headers, second.body), 'the new secret verifies');
  t.ok(signatureValid(h.secret, second.headers, second.body), 'the old secret still verifies');

  const rot2 = await ta.api.post(`/api/webhooks/${h.id}/rotate-secret/`, { overlap_hours: 0 }, { token });
  await faq(ta, token);
  await waitFor(async () => r.requests.length === 3, 'third delivery');
  const third = r.requests[2]!;
  t.ok(signatureValid(rot2.body.secret, third.headers, third.body));
  t.notOk(signatureValid(rot.body.secret, third.headers, third.body), 'no overlap: the previous secret no longer signs');
  const stored = await ta.db('webhook_endpoints').where({ id: h.id }).first();
  t.notOk(JSON.stringify(stored).includes(rot2.body.secret.slice(6)), 'the secret is not stored in the clear');
});

t.test('a receiver answering 410 is stopped: endpoint disabled, admins emailed, nothing more sent', async (t) => {
  const { ta, token, admin } = await setup(t);
  const gone = await startReceiver(t, () => 410);
  const ok = await startReceiver(t, () => 200);
  const h = await hook(ta, token, gone);
  await hook(ta, token, ok);
  await faq(ta, token);
  await waitFor(async () => (await ta.db('webhook_deliveries').where({ endpoint_id: h.id }).first())?.status === 'stopped', 'stopped');
  const ep = await ta.api.get(`/api/webhooks/${h.id}/`, { token });
  t.match(ep.body, { enabled: false, disabled_reason: /410/ });
  const mail = await ta.db('notifications').where({ template: 'webhook_disabled', recipient: admin.email }).first();
  t.ok(mail, 'the admin is emailed');
  t.equal(mail.data.endpoint_id, h.id);
  // one more event: the healthy endpoint gets it (proof it was dispatched), the stopped one does not
  await faq(ta, token);
  await waitFor(async () => ok.requests.length === 2, 'the other endpoint got both');
  t.equal(gone.requests.length, 1, 'a single request to the 410 endpoint, never retried');
  const d = await ta.db('webhook_deliveries').where({ endpoint_id: h.id });
  t.same(d.map((x) => x.status), ['stopped'], 'a disabled endpoint gets no new deliveries');
});

t.test('a receiver that is down for a while, then up, gets every event', async (t) => {
  const { ta, token } = await setup(t);
  const r = await startReceiver(t, () => 204);
  const h = await hook(ta, token, r);
  await r.down();
  for (let i = 0; i < 8; i++) await faq(ta, token);
  // every delivery has failed at least once (connection refused) while down
  await waitFor(async () => Number((await ta.db('webhook_attempts').count({ n: '*' }))[0]!.n) >= 8, 'attempts failed while down');
  const failed = await ta.db('webhook_attempts').whereNull('status_code').first();
  t.match(failed.error, /network error/);
  await r.up();
  await waitFor(async () => (await ta.db('webhook_deliveries').where({ endpoint_id: h.id, status: 'delivered' })).length === 8, 'all delivered after recovery', 60_000);
  const ok = r.requests.filter((q) => q.status === 204).map((q) => q.headers['webhook-id']);
  t.equal(new Set(ok).size, 8, 'each event accepted once');
  t.equal(ok.length, 8);
  const ep = await ta.db('webhook_endpoints').where({ id: h.id }).first();
  t.equal(ep.first_failure_at, null, 'a success ends the failure run');
});

t.test('redirects are not followed', async (t) => {
  const { ta, token } = await setup(t);
  const target = await startReceiver(t, () => 200);
  const r = await startReceiver(t, () => ({ status: 302, headers: { Location: `${target.url}/elsewhere` } }));
  const h = await hook(ta, token, r);
  await faq(ta, token);
  const d = await waitFor(async () => {
    const row = await ta.db('webhook_deliveries').where({ endpoint_id: h.id }).first();
    return row?.status === 'failed' ? row : undefined;
  }, 'failed');
  t.equal(d.last_status_code, 302);
  t.match(d.last_error, /redirect to .* not followed/);
  t.equal(target.requests.length, 0, 'the redirect target was never called');
});

t.test('private targets: refused on save, and refused at connect time for a name that resolves to one', async (t) => {
  const { ta, token } = await setup(t, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
  const r = await startReceiver(t, () => 200);
  for (const url of [`${r.url}/in`, `http://localhost:${r.port}/in`, 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'ftp://example.com/x', 'http://10.1.2.3/']) {
    const res = await ta.api.post('/api/webhooks/', { url }, { token });
    t.equal(res.status, 422, url);
    t.equal(res.body.code, 'invalid_url');
  }
  const host = os.hostname();
  const addr = (await dns.lookup(host)).address;
  t.match(addr, /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1|fe80)/, `${host} resolves to a private address here (${addr})`);
  const h = await ta.api.post('/api/webhooks/', { url: `http://${host}:${r.port}/in`, event_types: ['faq.*'] }, { token });
  t.equal(h.status, 201, 'a name passes the static check');
  await faq(ta, token);
  const d = await waitFor(async () => {
    const row = await ta.db('webhook_deliveries').where({ endpoint_id: h.body.id }).first();
    return row && row.status !== 'pending' ? row : undefined;
  }, 'finished');
  t.equal(d.status, 'failed');
  t.match(d.last_error, /blocked: .*private address/);
  t.equal(r.requests.length, 0, 'nothing reached the private address');
});

t.test('an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS is disabled and the admins emailed', async (t) => {
  const { ta, token, admin } = await setup(t, { WEBHOOK_DISABLE_AFTER_HOURS: '1', WORKFLOW_RETRY_BASE_MS: '400', WORKFLOW_RETRY_MAX_MS: '800' });
  const r = await startReceiver(t, () => 500);
  const h = await hook(ta, token, r);
  await faq(ta, token);
  await waitFor(async () => (await ta.db('webhook_endpoints').where({ id: h.id }).first()).first_failure_at !== null, 'failure run started');
  t.equal((await ta.db('webhook_endpoints').where({ id: h.id }).first()).enabled, true, 'one failure does not disable');
  // the run started two hours ago (as if it had)
  await ta.db('webhook_endpoints').where({ id: h.id }).update({ first_failure_at: ta.db.raw(`now() - interval '2 hours'`) });
  await waitFor(async () => !(await ta.db('webhook_endpoints').where({ id: h.id }).first()).enabled, 'disabled');
  const ep = (await ta.api.get(`/api/webhooks/${h.id}/`, { token })).body;
  t.match(ep.disabled_reason, /failed for 1 hours/);
  t.ok(await ta.db('notifications').where({ template: 'webhook_disabled', recipient: admin.email }).first(), 'admin emailed');
  const events = await ta.db('events').where({ type: 'webhook.disabled', object_id: String(h.id) });
  t.equal(events.length, 1, 'a webhook.disabled event');
  // enabling again restarts the clock
  const on = await ta.api.patch(`/api/webhooks/${h.id}/`, { enabled: true }, { token });
  t.match(on.body, { enabled: true, disabled_reason: null, failing_since: null });
});

t.test('ping, delivery log, redeliver (same webhook-id, manual attempt), 409 while pending', async (t) => {
  const { ta, token } = await setup(t);
  const r = await startReceiver(t, () => 200);
  const h = await hook(ta, token, r);
  const ping = await ta.api.post(`/api/webhooks/${h.id}/ping/`, undefined, { token });
  t.equal(ping.status, 202);
  await waitFor(async () => r.requests.length === 1, 'ping delivered');
  t.equal(JSON.parse(r.requests[0]!.body).type, 'webhook.ping');
  t.ok(signatureValid(h.secret, r.requests[0]!.headers, r.requests[0]!.body));

  r.setBehaviour(() => 'hold');
  await faq(ta, token);
  await waitFor(async () => r.held === 1, 'event in flight');
  const log = await ta.api.get(`/api/webhooks/${h.id}/deliveries/`, { token });
  const pending = log.body.data.find((d: { event_type: string }) => d.event_type === 'faq.created');
  t.equal(pending.status, 'pending');
  const early = await ta.api.post(`/api/webhooks/${h.id}/deliveries/${pending.id}/redeliver/`, undefined, { token });
  t.equal(early.status, 409);
  t.equal(early.body.code, 'delivery_pending');
  r.setBehaviour(() => 200);
  r.release(200);
  await waitFor(async () => (await ta.db('webhook_deliveries').where({ id: pending.id }).first()).status === 'delivered', 'delivered');
  const again = await ta.api.post(`/api/webhooks/${h.id}/deliveries/${pending.id}/redeliver/`, undefined, { token });
  t.equal(again.status, 202);
  await waitFor(async () => r.requests.length === 3, 'redelivered');
  t.equal(r.requests[2]!.headers['webhook-id'], r.requests[1]!.headers['webhook-id'], 'same webhook-id');
  t.equal(r.requests[2]!.body, r.requests[1]!.body, 'same message');
  await waitFor(async () => (await ta.db('webhook_deliveries').where({ id: pending.id }).first()).status === 'delivered', 'delivered again');
  const attempts = await ta.db('webhook_attempts').where({ delivery_id: pending.id }).orderBy('id');
  t.same(attempts.map((a) => [a.n, a.trigger, a.status_code]), [[1, 'auto', 200], [2, 'manual', 200]]);
  t.same(typesOf(r), ['webhook.ping', 'faq.created', 'faq.created']);
  const other = await ta.api.post(`/api/webhooks/${h.id}/deliveries/999999/redeliver/`, undefined, { token });
  t.equal(other.status, 404);
});

t.test('one slow receiver does not hold back the others (bounded per destination)', async (t) => {
  const { ta, token } = await setup(t, { DELIVERY_CONCURRENCY: '4', DELIVERY_CONCURRENCY_PER_DESTINATION: '2' });
  const slow = await startReceiver(t, () => 'hold');
  const fast = await startReceiver(t, () => 200);
  await hook(ta, token, slow);
  await hook(ta, token, fast);
  for (let i = 0; i < 6; i++) await faq(ta, token);
  await waitFor(async () => fast.requests.length === 6, 'the fast receiver got everything while the slow one holds');
  t.equal(slow.held, 2, 'exactly DELIVERY_CONCURRENCY_PER_DESTINATION requests in flight to the slow receiver');
  t.equal(slow.requests.length, 2, 'the others wait their turn instead of piling up');
  slow.setBehaviour(() => 200);
  slow.release(200);
  await waitFor(async () => slow.requests.filter((q) => q.status === 200 || q.status === undefined).length >= 6, 'the slow receiver catches up', 60_000);
  await waitFor(async () => (await ta.db('webhook_deliveries').where({ status: 'delivered' })).length === 12, 'all delivered');
});
