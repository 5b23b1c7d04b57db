/**
 * Done-when of issue 14: every catalogue change appears in the feed, on a live stream and at a
 * subscribed receiver (a real HTTP server checking the Standard Webhooks signature) exactly once.
 */
import t from 'tap';
import { CATALOGUE, exerciseCatalogue } from './helpers/catalogue.js';
import { createEmployee, startTestApp, tokenFor } from './helpers/harness.js';
import { startWorkflowStub, waitFor } from './helpers/outbound.js';
import { openSse, signatureValid } from './helpers/sse.js';

// the receiver answers at once: a long timeout, so a slow machine never turns one delivery into a retried duplicate
const FAST = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WORKFLOW_RETRY_BASE_MS: '50', WORKFLOW_RETRY_MAX_MS: '200', WEBHOOK_TIMEOUT_MS: '30000', EVENT_STREAM_HEARTBEAT_MS: '200' };

t.test('each change: once in the feed, once on the stream, once at the receiver, signed', async (t) => {
  const receiver = await startWorkflowStub(t, () => 204);
  const ta = await startTestApp(t, { env: FAST });
  await ta.startWorkers();
  const admin = await createEmployee(ta.db, { role: 'System Admin' });
  const token = await tokenFor(ta.app, admin);
  const hook = await ta.api.post('/api/webhooks/', { url: `${receiver.url}/hook`, event_types: ['*'], description: 'all of it' }, { token });
  t.equal(hook.status, 201);
  t.match(hook.body.secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  const secret = hook.body.secret as string;
  // served once every older transaction in the database has finished (the commit horizon)
  const start = await waitFor(async () => {
    const b = (await ta.api.get('/api/events/', { token, query: { limit: 200 } })).body;
    return b.data.length ? b : undefined;
  }, 'webhook.created in the feed');
  const startId = start.data[start.data.length - 1].id as string;
  t.equal(start.data[start.data.length - 1].type, 'webhook.created');

  const stream = await openSse(`${ta.url}/api/events/stream/`, { Authorization: `Bearer ${token}` });
  t.equal(stream.status, 200);
  t.teardown(() => stream.close());
  await waitFor(async () => stream.comments > 0, 'stream connected');

  const { expected } = await exerciseCatalogue(ta);
  // a marker after everything: once it has arrived, anything extra would have arrived before it
  const marker = await ta.api.post('/api/faqs/', { question: 'marker?', answer: 'marker.' }, { token });
  const all = [...expected.map((e) => `${e.type} ${e.object_id}`), `faq.created ${marker.body.id}`];

  // the feed
  const feed: { id: string; type: string; object: { id: string } }[] = [];
  let after = startId;
  await waitFor(async () => {
    for (;;) {
      const page = await ta.api.get('/api/events/', { token, query: { after, limit: 50 } });
      feed.push(...page.body.data);
      if (page.body.last_id) after = page.body.last_id;
      if (!page.body.next_cursor) break;
    }
    return feed.length >= all.length;
  }, 'feed complete');
  t.same(feed.map((e) => `${e.type} ${e.object.id}`), all, 'feed: every change once, in order');

  // the stream
  await waitFor(async () => stream.events().length >= all.length, 'stream complete');
  t.same(stream.events().map((e) => `${e.type} ${e.object.id}`), all, 'stream: every change once, in order');
  t.same(stream.messages.filter((m) => !m.event).map((m) => m.id), feed.map((e) => e.id), 'SSE ids are the event ids');
  t.same(stream.events(), feed, 'the stream carries the same events as the feed');

  // the receiver
  await waitFor(async () => receiver.requests.length >= all.length, 'receiver got everything', 60_000);
  const got = receiver.requests.map((r) => JSON.parse(r.body));
  t.same(got.map((e) => `${e.type} ${e.object.id}`).sort(), [...all].sort(), 'receiver: every change once');
  for (const r of receiver.requests) {
    t.ok(signatureValid(secret, r.headers, r.body), `signature of ${r.headers['webhook-id']}`);
    t.equal(r.headers['webhook-id'], JSON.parse(r.body).id, 'webhook-id is the event id');
    t.equal(r.url, '/hook');
  }
  t.same(got.sort((a, b) => (a.id < b.id ? -1 : 1)), feed, 'the receiver got the feed\'s events byte for byte');
  t.same([...new Set(feed.map((e) => e.type))].sort(), [...CATALOGUE].sort(), 'every catalogue type went through');
  // the receiver answers before the worker records the attempt: wait until none is still pending
  let log = await ta.api.get(`/api/webhooks/${hook.body.id}/deliveries/`, { token, query: { limit: 100 } });
  await waitFor(async () => {
    log = await ta.api.get(`/api/webhooks/${hook.body.id}/deliveries/`, { token, query: { limit: 100 } });
    return log.body.data.length >= all.length && log.body.data.every((d: { status: string }) => d.status !== 'pending');
  }, 'every delivery recorded', 60_000);
  t.equal(log.body.data.length, all.length);
  t.ok(log.body.data.every((d: { status: string; attempts: number; last_status_code: number }) => d.status === 'delivered' && d.attempts === 1 && d.last_status_code === 204));
});
