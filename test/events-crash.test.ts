/**
 * Crash test: real `smartsupport worker` processes (which run the webhook dispatcher and the
 * delivery loops) are SIGKILLed repeatedly while 200 events are delivered to two endpoints.
 * Afterwards every event reached each endpoint; a repeat (at-least-once: a worker killed after the
 * receiver answered but before the answer was recorded) carries the same webhook-id and the same
 * body. Needs the build (`npm run build`).
 */
import t from 'tap';
import { appDatabaseEnv, createEmployee, startTestApp, TEST_JWT_SECRET, tokenFor } from './helpers/harness.js';
import { spawnSmartsupport } from './helpers/processes.js';
import { waitFor } from './helpers/outbound.js';
import { startReceiver } from './helpers/receiver.js';
import { signatureValid } from './helpers/sse.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const JOB_ENV = { JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1', WORKFLOW_RETRY_BASE_MS: '100', WORKFLOW_RETRY_MAX_MS: '500', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' };
const EVENTS = 200;

t.test('SIGKILLed workers: every event reaches both endpoints; repeats keep their webhook-id', async (t) => {
  let served = 0;
  // slow-ish answers (kills land mid-request) and some 503s (retries in flight)
  const behaviour = () => ({ status: ++served % 7 === 0 ? 503 : 200, delayMs: 150 });
  const a = await startReceiver(t, behaviour);
  const b = await startReceiver(t, behaviour);
  const ta = await startTestApp(t, { env: JOB_ENV });
  const admin = await createEmployee(ta.db, { role: 'System Admin' });
  const token = await tokenFor(ta.app, admin);
  const hooks = [];
  for (const r of [a, b]) hooks.push((await ta.api.post('/api/webhooks/', { url: `${r.url}/hook`, event_types: ['faq.*'] }, { token })).body as { id: number; secret: string });

  const env = { ...process.env, ...JOB_ENV, NODE_ENV: 'test', LOG_LEVEL: 'error', ...appDatabaseEnv(ta.app), SMARTSUPPORT_DATA_DIR: ta.dataDir, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: '' };
  // a real `smartsupport worker`; any still running at teardown is SIGKILLed
  const startWorker = () => spawnSmartsupport(t, ['worker'], env);
  // attempts claimed (leased) and not yet recorded: requests in flight
  const inFlight = async () => Number((await ta.db('webhook_deliveries').where('lease_until', '>', ta.db.fn.now()).count({ n: '*' }))[0]!.n);

  const faqs: string[] = [];
  const producer = (async () => {
    for (let i = 0; i < EVENTS; i++) {
      const r = await ta.api.post('/api/faqs/', { question: `Crash question ${i}?`, answer: 'A.' }, { token });
      faqs.push(String(r.body.id));
      await sleep(60);
    }
  })();

  let killedMidFlight = 0;
  for (let i = 0; i < 4; i++) {
    const w = startWorker();
    // kill it while it has requests in flight (a claimed attempt whose answer is not recorded yet)
    await waitFor(async () => (await inFlight()) > 0, `worker ${i + 1} delivering`, 60_000, 20);
    await sleep(Math.floor(Math.random() * 100));
    if ((await inFlight()) > 0) killedMidFlight += 1;
    w.child.kill('SIGKILL');
    t.equal(await w.exited, null, `worker ${i + 1} was killed`);
  }
  await producer;
  t.ok(killedMidFlight >= 3, `${killedMidFlight} of 4 kills hit deliveries in flight`);

  const last = startWorker();
  try {
    await waitFor(async () => {
      const open = Number((await ta.db('webhook_deliveries').whereNot({ status: 'delivered' }).count({ n: '*' }))[0]!.n);
      const total = Number((await ta.db('webhook_deliveries').count({ n: '*' }))[0]!.n);
      return open === 0 && total === EVENTS * 2;
    }, 'every delivery delivered', 180_000, 250);
  } catch (err) {
    t.comment(last.stderr());
    t.comment(JSON.stringify(await ta.db('webhook_deliveries').whereNot({ status: 'delivered' }).limit(5)));
    throw err;
  }
  last.child.kill('SIGTERM');
  await last.exited;

  for (const [i, r] of [a, b].entries()) {
    const accepted = new Map<string, string>();
    for (const q of r.requests) {
      t.ok(signatureValid(hooks[i]!.secret, q.headers, q.body), 'signed');
      const id = String(q.headers['webhook-id']);
      const seen = accepted.get(id);
      if (seen !== undefined) t.equal(q.body, seen, `a repeat of ${id} carries the same body`);
      if (q.status === 200) accepted.set(id, q.body);
    }
    const objects = [...accepted.values()].map((body) => (JSON.parse(body) as { object: { id: string } }).object.id).sort();
    t.same(objects, [...faqs].sort(), `endpoint ${i + 1}: every event accepted`);
    const repeats = r.requests.filter((q) => q.status === 200).length - accepted.size;
    t.comment(`endpoint ${i + 1}: ${r.requests.length} requests, ${repeats} accepted repeats (at-least-once)`);
  }
});
