/**
 * Crash test: the real `smartsupport worker` process is killed with SIGKILL several times while
 * tickets and their deliveries keep being committed. Afterwards every ticket has reached the
 * workflow stub, exactly once after de-duplicating by Idempotency-Key, and no delivery is stuck.
 * Needs the build (`npm run build`).
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { queueWorkflowDelivery } from '../src/features/workflow/workflow-outbox.js';
import { createEmployee, startTestApp, TEST_JWT_SECRET } from './helpers/harness.js';
import { spawnSmartsupport } from './helpers/processes.js';
import { insertTicket, startWorkflowStub, waitFor } from './helpers/outbound.js';

if (!existsSync('dist/src/cli/main.js')) t.fail('dist/ is missing: run `npm run build` before `npm test`');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// short leases and retries so a killed worker's job comes back within seconds
const JOB_ENV = { JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1', WORKFLOW_RETRY_BASE_MS: '100', WORKFLOW_RETRY_MAX_MS: '500', WORKFLOW_TIMEOUT_MS: '1000' };

t.test('SIGKILLed workers lose nothing and double nothing', async (t) => {
  let served = 0;
  // slow-ish answers so kills land mid-request; some 503s so retries are in flight too
  const stub = await startWorkflowStub(t, () => (++served % 7 === 0 ? 503 : 200));
  const ta = await startTestApp(t, { env: { ...JOB_ENV, WORKFLOW_API_URL: stub.url } });
  const owner = await createEmployee(ta.db);
  const env = {
    ...process.env,
    ...JOB_ENV,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    DATABASE_URL: ta.app.databaseUrl,
    DATABASE_DIRECT_URL: ta.app.directUrl,
    SMARTSUPPORT_DATA_DIR: ta.dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    WORKFLOW_API_URL: stub.url,
    SMTP_URL: '',
  };
  // a real `smartsupport worker`; any still running at teardown is SIGKILLed
  const startWorker = () => spawnSmartsupport(t, ['worker'], env);

  const openJobs = async (): Promise<number> =>
    (await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'workflow.deliver' AND state IN ('created', 'retry', 'active')`)).rows[0].n;

  const tickets: number[] = [];
  let creating = true;
  const producer = (async () => {
    while (creating) {
      const id = await ta.db.transaction(async (trx) => {
        const ticket = await insertTicket(trx, owner.id);
        await queueWorkflowDelivery(trx, ta.app.jobs, ticket.id, 'approved');
        return ticket.id;
      });
      tickets.push(id);
      await sleep(40);
    }
  })();

  const KILLS = 4;
  for (let i = 0; i < KILLS; i++) {
    const w = startWorker();
    // let it start and work for a while (it needs ~1 s to start), then kill it mid-flight
    await sleep(1500 + Math.floor(Math.random() * 1000));
    w.child.kill('SIGKILL');
    t.equal(await w.exited, null, `worker ${i + 1} was killed`);
    await sleep(200);
  }
  creating = false;
  await producer;
  t.ok(tickets.length >= 40, `${tickets.length} tickets created while workers were killed`);

  const last = startWorker();
  try {
    // A worker killed between recording a delivery and completing its job leaves that job active
    // until its lease expires; pg-boss then retries it and the retry is a no-op. So wait for both
    // the rows and the queue to drain before stopping the last worker.
    await waitFor(async () => {
      const pending = (await ta.db('workflow_deliveries').whereNot({ status: 'delivered' }).count({ n: '*' }))[0]!.n;
      return Number(pending) === 0 && (await openJobs()) === 0;
    }, 'every delivery delivered and no workflow job left', 120_000, 250);
  } catch (err) {
    t.comment(last.stderr());
    const stuck = await ta.db('workflow_deliveries').whereNot({ status: 'delivered' });
    t.comment(JSON.stringify(stuck.slice(0, 5)));
    const jobs = await ta.db.raw(`SELECT id, state, retry_count, start_after, data FROM pgboss.job WHERE name = 'workflow.deliver' AND state IN ('created', 'retry', 'active') LIMIT 5`);
    t.comment(JSON.stringify(jobs.rows));
    throw err;
  }
  last.child.kill('SIGTERM');
  t.equal(await last.exited, 0, 'the last worker stops gracefully');

  const rows = await ta.db('workflow_deliveries').select('ticket_id', 'event_id', 'status');
  t.equal(rows.length, tickets.length, 'one delivery per committed ticket');
  // de-duplicate by Idempotency-Key, as the receiver does; a key always carries the same ticket
  const byKey = new Map<string, number>();
  for (const r of stub.requests) {
    const key = r.headers['idempotency-key'] as string;
    const ticket = Number(JSON.parse(r.body).id);
    if (byKey.has(key) && byKey.get(key) !== ticket) t.fail(`key ${key} was used for two tickets`);
    byKey.set(key, ticket);
  }
  const deliveredKeys = new Set(byKey.keys());
  t.same([...byKey.values()].sort((a, b) => a - b), [...tickets].sort((a, b) => a - b), 'every ticket reached the stub, each exactly once after de-duplicating by Idempotency-Key');
  t.same(new Set(rows.map((r) => r.event_id)), deliveredKeys, 'the keys the stub saw are exactly the deliveries');
  t.comment(`${stub.requests.length} requests for ${tickets.length} tickets (${stub.requests.length - tickets.length} repeats: retries after 503 and after kills)`);
  t.equal(await openJobs(), 0, 'no workflow job left waiting or running after the last worker stopped');
});
