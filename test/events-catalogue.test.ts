/**
 * Done-when of issue 14: every type of the catalogue in docs/events.md is emitted by a real change
 * (API calls, inbound mail through the SMTP receiver, SLA timers, a workflow push that gives up, a
 * webhook receiver answering 410) and appears in the feed, on a live stream and at a subscribed
 * receiver (a real HTTP server checking the Standard Webhooks signature) exactly once, each event
 * valid against the Event schema of openapi.yaml and carrying the `data` keys docs/events.md lists
 * for its type. A second test fails when docs/events.md and the tested catalogue disagree.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { EVENT_TYPES } from '../src/features/events/events.js';
import { exerciseCatalogue, exerciseEverything, FULL_CATALOGUE } from './helpers/catalogue.js';
import { createEmployee, tokenFor } from './helpers/harness.js';
import { HELPDESK, startMailKit } from './helpers/mail.js';
import { startWorkflowStub, waitFor } from './helpers/outbound.js';
import { startReceiver } from './helpers/receiver.js';
import { openSse, signatureValid } from './helpers/sse.js';

// the receiver answers at once: a long timeout, so a slow machine never turns one delivery into a retried duplicate
const FAST = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WORKFLOW_RETRY_BASE_MS: '50', WORKFLOW_RETRY_MAX_MS: '200', WEBHOOK_TIMEOUT_MS: '30000', EVENT_STREAM_HEARTBEAT_MS: '200' };

/** The catalogue tables of docs/events.md: type → the extra `data` keys listed for it. */
function documentedCatalogue(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let extraCol = -1;
  for (const line of readFileSync('docs/events.md', 'utf8').split('\n')) {
    if (!line.startsWith('|')) {
      extraCol = -1;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'type') {
      extraCol = cells.findIndex((c) => c.startsWith('extra'));
      continue;
    }
    const types = [...cells[0]!.matchAll(/`([a-z_]+\.[a-z_]+)`/g)].map((m) => m[1]!);
    const extra = extraCol >= 0 ? [...cells[extraCol]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!) : [];
    for (const ty of types) out.set(ty, extra);
  }
  return out;
}

t.test('docs/events.md, the code\'s EVENT_TYPES and the tested catalogue list the same types', async (t) => {
  const documented = [...documentedCatalogue().keys()].sort();
  t.ok(documented.length >= 35, `the catalogue tables were found (${documented.length} types)`);
  t.same([...FULL_CATALOGUE].sort(), documented, 'every documented type is exercised below, and nothing undocumented');
  t.same([...EVENT_TYPES].sort(), documented, 'EVENT_TYPES (what recordEvent accepts) is the documented catalogue');
});

t.test('each change: once in the feed, once on the stream, once at the receiver, signed', async (t) => {
  const receiver = await startReceiver(t, () => 204);
  const gone = await startReceiver(t, () => 410);
  const workflow = await startWorkflowStub(t, () => 500);
  const kit = await startMailKit(t, { ...FAST, WORKFLOW_API_URL: `${workflow.url}/workflow`, WORKFLOW_MAX_ATTEMPTS: '1' });
  const ta = kit.ta;
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

  const base = await exerciseCatalogue(ta);
  const more = await exerciseEverything(ta, {
    send: (m) => kit.send(m),
    processed: (id) => kit.processed(id),
    helpdesk: HELPDESK,
    goneUrl: `${gone.url}/gone`,
    waitFor,
  }, base.approved);
  const expected = [...base.expected, ...more];
  // a marker after everything: once it has arrived, anything extra would have arrived before it
  const marker = await ta.api.post('/api/faqs/', { question: 'marker?', answer: 'marker.' }, { token });
  const all = [...expected.map((e) => `${e.type} ${e.object_id}`), `faq.created ${marker.body.id}`];
  const sorted = (l: string[]) => [...l].sort();

  // the feed (every page checked against openapi.yaml's Event schema by the test client)
  const feed: { id: string; type: string; object: { id: string }; data: Record<string, unknown> }[] = [];
  let after = startId;
  await waitFor(async () => {
    for (;;) {
      const page = await ta.api.get('/api/events/', { token, query: { after, limit: 50 } });
      feed.push(...page.body.data);
      if (page.body.last_id) after = page.body.last_id;
      if (!page.body.next_cursor) break;
    }
    return feed.some((e) => e.type === 'faq.created' && e.object.id === String(marker.body.id));
  }, 'feed complete', 60_000);
  t.same(sorted(feed.map((e) => `${e.type} ${e.object.id}`)), sorted(all), 'feed: every change once');
  t.same(feed.map((e) => e.id), [...feed.map((e) => e.id)].sort(), 'feed: in id order');
  t.same([...new Set(feed.map((e) => e.type))].sort(), [...FULL_CATALOGUE].sort(), 'every catalogue type went through');

  // each event carries the data keys docs/events.md lists for its type
  const docs = documentedCatalogue();
  for (const e of feed) {
    for (const k of docs.get(e.type) ?? []) t.ok(k in e.data, `${e.type} ${e.object.id}: data.${k} (documented)`);
    // the snapshot (docs/events.md: SLA events carry the documented keys but no snapshot yet)
    t.ok(e.data.object && typeof e.data.object === 'object', `${e.type} ${e.object.id}: data.object (the snapshot)`);
    if (e.type.startsWith('sla.')) t.equal((e.data.object as { ticket_number?: string }).ticket_number, e.object.id, `${e.type}: the snapshot is the ticket's`);
  }

  // the stream
  await waitFor(async () => stream.events().length >= all.length, 'stream complete', 60_000);
  t.same(stream.messages.filter((m) => !m.event).map((m) => m.id), feed.map((e) => e.id), 'stream: the feed\'s ids, in order, once each');
  t.same(stream.events(), feed, 'the stream carries the same events as the feed');

  // the receiver
  await waitFor(async () => receiver.requests.length >= all.length, 'receiver got everything', 90_000);
  const got = receiver.requests.map((r) => JSON.parse(r.body));
  t.same(sorted(got.map((e) => `${e.type} ${e.object.id}`)), sorted(all), 'receiver: every change once');
  for (const r of receiver.requests) {
    t.ok(signatureValid(secret, r.headers, r.body), `signature of ${r.headers['webhook-id']}`);
    t.equal(r.headers['webhook-id'], JSON.parse(r.body).id, 'webhook-id is the event id');
    t.equal(r.url, '/hook');
  }
  t.same(got.sort((a, b) => (a.id < b.id ? -1 : 1)), feed, 'the receiver got the feed\'s events byte for byte');
  // the receiver answers before the worker records the attempt: wait until none is still pending
  type Delivery = { status: string; attempts: number; last_status_code: number };
  const readLog = async () => {
    const log: Delivery[] = [];
    let cursor: string | undefined;
    do {
      const page = await ta.api.get(`/api/webhooks/${hook.body.id}/deliveries/`, { token, query: { limit: 100, ...(cursor ? { cursor } : {}) } });
      log.push(...page.body.data);
      cursor = page.body.next_cursor ?? undefined;
    } while (cursor);
    return log;
  };
  let log = await readLog();
  await waitFor(async () => {
    log = await readLog();
    return log.length >= all.length && log.every((d) => d.status !== 'pending');
  }, 'every delivery recorded', 60_000);
  t.equal(log.length, all.length);
  t.ok(log.every((d) => d.status === 'delivered' && d.attempts === 1 && d.last_status_code === 204), 'each delivered at the first attempt');
  t.equal(gone.requests.length, 1, 'the 410 receiver got one delivery, then its endpoint was disabled');
});
