/**
 * EVENT_STREAM_MAX_PER_CALLER holds across instances (docs/events.md, "The live stream"): two real
 * `smartsupport serve` processes on one database share one count per caller; the next stream on
 * either is 429 problem+json with Retry-After. Heartbeats keep a live instance's slots counted past
 * the lease; after one process is SIGKILLed its slots come back once its heartbeat is older than
 * EVENT_STREAM_LEASE_SECONDS, and its rows are purged. Needs the build (`npm run build`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Api, createApiKey, startTestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startServe } from './helpers/processes.js';
import { openSse, type SseClient } from './helpers/sse.js';

const LEASE_SECONDS = 2;
const ENV = { EVENT_STREAM_MAX_PER_CALLER: '3', EVENT_STREAM_LEASE_SECONDS: String(LEASE_SECONDS), EVENT_STREAM_HEARTBEAT_MS: '200', RUN_WORKER: 'false' };

t.test('the per-caller stream limit is counted across two processes; a killed one frees its slots within the lease', async (t) => {
  const ta = await startTestApp(t, { env: ENV });
  const key = await createApiKey(ta.db, { role: 'System Admin', scopes: ['events:read'] });
  const other = await createApiKey(ta.db, { role: 'System Admin', scopes: ['events:read'] });
  const [p1, p2] = await Promise.all([startServe(t, ta, ENV), startServe(t, ta, ENV)]);
  const open: SseClient[] = [];
  t.teardown(() => open.forEach((s) => s.close()));
  const stream = async (base: string, apiKey = key.key) => {
    const s = await openSse(`${base}/api/events/stream/`, { 'X-API-Key': apiKey });
    if (s.status === 200) open.push(s);
    return s;
  };
  const refused = async (base: string, what: string) => {
    const r = await new Api(base, t).get('/api/events/stream/', { apiKey: key.key });
    t.equal(r.status, 429, `${what}: 429`);
    t.match(r.headers.get('content-type'), /^application\/problem\+json/, `${what}: problem+json`);
    t.equal(r.body.code, 'too_many_streams', what);
    t.equal(r.headers.get('retry-after'), '5', `${what}: Retry-After as documented`);
  };

  // three streams for one caller, spread over both processes: the limit is reached cluster-wide
  const onP1 = [await stream(p1.url), await stream(p1.url)];
  const onP2 = await stream(p2.url);
  t.same([...onP1, onP2].map((s) => s.status), [200, 200, 200]);
  await refused(p2.url, 'the next stream on the second process');
  await refused(p1.url, 'the next stream on the first process');
  t.equal((await stream(p2.url, other.key)).status, 200, 'another caller is counted apart');
  const rows = await ta.db('event_streams').select('caller', 'instance_id');
  t.equal(rows.filter((r) => r.caller === `api_key:${key.id}`).length, 3, 'one row per open stream');
  t.equal(new Set(rows.map((r) => r.instance_id)).size, 2, 'rows of both instances');

  // past the lease, the live instance's heartbeats keep its stream counted
  await sleep(LEASE_SECONDS * 1500);
  await refused(p2.url, 'still at the limit after the lease (heartbeats)');

  // SIGKILL the first process: no close handler runs, its rows stay until their heartbeat is stale
  // instance ids read <host>:<pid>:<random>
  const deadInstance = rows.map((r) => r.instance_id as string).find((id) => id.split(':').at(-2) === String(p1.child.pid));
  t.ok(deadInstance, 'the first process\'s rows');
  p1.child.kill('SIGKILL');
  await p1.exited;
  await Promise.all(onP1.map((s) => s.closed));
  const back = await waitFor(async () => {
    const s = await stream(p2.url);
    return s.status === 200 ? s : undefined;
  }, 'a slot again on the surviving process', 60_000, 250);
  t.equal(back.status, 200, 'the killed process\'s slots came back');
  t.equal((await stream(p2.url)).status, 200, 'both of them');
  await refused(p2.url, 'and the limit holds again');
  t.equal((await ta.db('event_streams').where({ instance_id: deadInstance }).count({ n: '*' }))[0]!.n, 0, 'the dead instance\'s rows were purged');

  // a stream closed by its client frees its slot at once (no lease wait)
  onP2.close();
  await waitFor(async () => {
    const s = await stream(p2.url);
    return s.status === 200 ? s : undefined;
  }, 'the slot of a closed stream', 20_000, 100);
});
