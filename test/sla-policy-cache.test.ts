/**
 * The per-process copy of the SLA policies (src/features/sla/policy-cache.ts): creating tickets
 * reads no policy rows, and every way a policy can change — the API on this instance, the API on
 * another instance, plain SQL — reaches the next ticket's match; while the LISTEN connection is down
 * the copy is not trusted. Two instances = two app contexts on one database, each with its own
 * cache and its own LISTEN connection.
 */
import t from 'tap';
import pg from 'pg';
import { createContext } from '../src/app/context.js';
import { features as allFeatures } from '../src/app/features.js';
import { createApp, listen } from '../src/app/server.js';
import { policyCacheOf } from '../src/features/sla/policy-cache.js';
import { Api, signedIn, startTestApp } from './helpers/harness.js';

const A = await startTestApp(t);
const appB = await createContext(A.config, { migrate: false, supervise: false });
const httpB = await listen(createApp(appB, allFeatures), 0, '127.0.0.1');
t.teardown(async () => {
  await httpB.close(1000);
  await appB.close();
});
const B = new Api(httpB.url, t);
const admin = await signedIn(A, { role: 'System Admin' });
const coord = await signedIn(A, { role: 'Ticket Coordinator' });

const newTicket = async (api: Api, over: Record<string, unknown> = {}) => {
  const r = await api.post('/api/tickets/', { subject: 'Printer', category: 'Hardware', sub_category: 'Printer', description: 'It jams.', ...over }, { token: coord.token });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
  return r.body as { sla: { policy: { id: number; name: string } } | null };
};

/** Poll until `fn` holds (a notification is asynchronous); fails the test after 10 s. */
async function until(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > 10_000) throw new Error(`${what}: not seen within 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cacheA = policyCacheOf(A.app);
const cacheB = policyCacheOf(appB);

t.test('a policy created through the API applies to the next ticket at once', async (t) => {
  t.equal((await newTicket(A.api)).sla, null, 'no policies yet');
  t.equal((await newTicket(B)).sla, null);
  const seenByB = cacheB.stats.invalidations;
  const p = await A.api.post('/api/sla/policies/', { name: 'Hardware 24/7', conditions: { category: ['Hardware'] }, targets: { resolution_minutes: 240 }, calendar_id: null }, { token: admin.token });
  t.equal(p.status, 201);
  // the changing process flushes its copies when the change commits (both instances live in this
  // process here; the notification path between processes is what the plain-SQL test below proves)
  t.equal((await newTicket(A.api)).sla?.policy.name, 'Hardware 24/7');
  await until('instance B flushed', () => cacheB.stats.invalidations > seenByB);
  t.equal((await newTicket(B)).sla?.policy.name, 'Hardware 24/7');
  t.equal((await newTicket(B, { category: 'Software', sub_category: 'Other' })).sla, null, 'conditions still apply');
});

t.test('creating tickets reads no policy rows while the copy is current', async (t) => {
  await newTicket(A.api); // fills the copy
  const policyReads: string[] = [];
  const onQuery = (q: { sql: string }) => {
    if (/sla_policies/.test(q.sql)) policyReads.push(q.sql);
  };
  A.db.on('query', onQuery);
  try {
    for (let i = 0; i < 5; i++) t.equal((await newTicket(A.api)).sla?.policy.name, 'Hardware 24/7');
  } finally {
    A.db.off('query', onQuery);
  }
  t.same(policyReads, [], 'matched from the copy');
  t.ok(cacheA.stats.hits >= 5);
});

t.test('a change made with plain SQL reaches both instances through the trigger', async (t) => {
  const seenA = cacheA.stats.invalidations;
  const seenB = cacheB.stats.invalidations;
  await A.db('sla_policies').update({ name: 'Renamed by SQL', conditions: JSON.stringify({ category: ['Software'] }) });
  await until('both notified', () => cacheA.stats.invalidations > seenA && cacheB.stats.invalidations > seenB);
  t.equal((await newTicket(A.api)).sla, null, 'Hardware no longer matches');
  t.equal((await newTicket(B, { category: 'Software', sub_category: 'Other' })).sla?.policy.name, 'Renamed by SQL');
  const seenA2 = cacheA.stats.invalidations;
  await A.db.raw('DELETE FROM sla_policies');
  await until('delete notified', () => cacheA.stats.invalidations > seenA2);
  t.equal((await newTicket(A.api, { category: 'Software', sub_category: 'Other' })).sla, null, 'deleted policy no longer applies');
});

t.test('while the LISTEN connection is down the copy is not used', async (t) => {
  await A.api.post('/api/sla/policies/', { name: 'Everything', targets: { resolution_minutes: 60 }, calendar_id: null }, { token: admin.token });
  await until('B notified of the new policy', async () => (await newTicket(B)).sla?.policy.name === 'Everything');
  // cut B's LISTEN connection; once B has noticed (its copy is flushed on the way down), a change
  // made before it has listened again is not heard — B must read the table instead of a copy
  const c = new pg.Client({ connectionString: appB.directUrl });
  await c.connect();
  try {
    const flushes = cacheB.stats.invalidations;
    await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'smartsupport-listen' AND datname = current_database() AND pid <> pg_backend_pid()");
    await until('B noticed its LISTEN connection dropped', () => cacheB.stats.invalidations > flushes);
    const missesBefore = cacheB.stats.misses;
    await c.query("UPDATE sla_policies SET name = 'Changed while B was deaf'");
    t.equal((await newTicket(B)).sla?.policy.name, 'Changed while B was deaf', 'read from the database, not the copy');
    t.ok(cacheB.stats.misses > missesBefore, 'a miss: the copy was flushed or untrusted');
    // and B listens again by itself, after which the copy is used again
    await until('B listening again and caching', async () => {
      await newTicket(B);
      const hits = cacheB.stats.hits;
      await newTicket(B);
      return cacheB.stats.hits > hits;
    });
  } finally {
    await c.end();
  }
});
