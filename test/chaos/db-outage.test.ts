/**
 * Chaos: the database stops while the combined `serve` (API + workers) and a separate `worker`
 * are under API load with jobs in flight — held on purpose inside the SMTP server and the workflow
 * receiver, so each job's outcome has to be recorded while PostgreSQL is away (pg-boss 10's own
 * loop left that rejection unhandled and the process died). Then PostgreSQL comes back: every
 * process is still alive, every email and delivery completes, every create with an Idempotency-Key
 * made exactly one ticket. Needs the build.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import t from 'tap';
import { createJobs } from '../../src/jobs/boss.js';
import { queueEmail } from '../../src/features/notifications/notification-outbox.js';
import { queueWorkflowDelivery } from '../../src/features/workflow/workflow-outbox.js';
import { createEmployee } from '../helpers/harness.js';
import { insertTicket, waitFor } from '../helpers/outbound.js';
import { built, dedicatedPg, retrying, sleep, spawnService, tokenFor } from './lib.js';

if (!built) t.fail('dist/ is missing: run `npm run build` before `npm test`');

/** A gate the test opens: until then, everything that waits on it is held. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

t.test('workers and the combined serve ride out a database outage with jobs in flight', async (t) => {
  const pg = await dedicatedPg(t, 'outage');
  const hold = gate();

  // workflow receiver: holds every request until the gate opens
  let deliveriesHeld = 0;
  const deliveryKeys: string[] = [];
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      deliveryKeys.push(String(req.headers['idempotency-key']));
      deliveriesHeld++;
      await hold.opened;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => (receiver.closeAllConnections(), receiver.close(() => r()))));

  // SMTP server: holds every message until the gate opens
  let mailsHeld = 0;
  const mailIds: string[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c));
      stream.on('end', async () => {
        mailIds.push(/^Message-ID:\s*(\S+)/im.exec(raw)?.[1] ?? '?');
        mailsHeld++;
        await hold.opened;
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => smtp.close(() => r())));

  const env = {
    DATABASE_URL: pg.url,
    SMARTSUPPORT_DATA_DIR: pg.tmp,
    SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
    WORKFLOW_API_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    JOB_MAINTENANCE_SECONDS: '1',
    WORKFLOW_RETRY_BASE_MS: '100',
    WORKFLOW_RETRY_MAX_MS: '500',
    DATABASE_POOL_MAX: '4',
    LOG_LEVEL: 'warn',
  };
  const serve = spawnService(t, ['serve'], { ...env, LOG_LEVEL: 'info' });
  const url = await serve.url;
  const worker = spawnService(t, ['worker'], { ...env, LOG_LEVEL: 'info' });
  // wait until the worker has started (its loops poll): counting pg-boss connections is not enough,
  // since serve alone may hold several (one per concurrent job loop), and a worker still starting
  // when the database stops exits like any process that cannot reach its database at start-up
  await worker.waitOutput(/SmartSupport worker is running/, 'the worker started', 60_000);

  const owner = await createEmployee(pg.db);
  const token = await tokenFor(owner);
  // a pg-boss client only for enqueueing in the test's transactions
  const { createBoss } = await import('../../src/jobs/boss.js');
  const boss = createBoss(pg.url, { supervise: false, max: 2 });
  boss.on('error', () => undefined);
  await boss.start();
  t.teardown(() => boss.stop({ graceful: false, wait: true }).catch(() => undefined));
  const jobs = createJobs(boss);

  const DELIVERIES = 20;
  const EMAILS = 20;
  for (let i = 0; i < DELIVERIES; i++) {
    await pg.db.transaction(async (trx) => queueWorkflowDelivery(trx, jobs, (await insertTicket(trx, owner.id)).id, 'approved'));
  }
  for (let i = 0; i < EMAILS; i++) {
    await pg.db.transaction((trx) => queueEmail(trx, jobs, { template: 'account_pending', to: `user${i}@example.com`, data: { first_name: 'A', last_name: 'B', company_id: `MA${i}` } }));
  }

  // API load: creates with Idempotency-Keys, each retried with its key until it gets 201
  let loading = true;
  const created = new Map<string, number>();
  const statuses = new Map<number, number>();
  const clients = Array.from({ length: 3 }, async (_, c) => {
    for (let i = 0; loading; i++) {
      const key = `chaos-${c}-${i}`;
      for (;;) {
        const r = await fetch(`${url}/api/tickets/`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
          body: JSON.stringify({ subject: key, category: 'Hardware', sub_category: 'Laptop', description: 'chaos' }),
        }).catch(() => undefined);
        const status = r?.status ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const body = r ? ((await r.json().catch(() => ({}))) as { id?: number }) : {};
        if (status === 201) {
          created.set(key, body.id!);
          break;
        }
        await sleep(100);
      }
    }
  });

  // jobs in flight in both processes: their SMTP sends and deliveries are held
  await waitFor(async () => deliveriesHeld >= 2 && mailsHeld >= 2, 'deliveries and emails held in flight in both processes', 60_000);
  const active = (await pg.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'active' AND name IN ('email.send', 'workflow.deliver')`)).rows[0].n;
  t.ok(active >= 4, `${active} jobs active when the database stops`);
  const createdBefore = created.size;

  await pg.stop();
  hold.open(); // the held jobs finish now, and must record their outcome with the database away
  await serve.waitOutput(/could not record the job outcome/, 'serve hit a job outcome during the outage');
  await worker.waitOutput(/could not record the job outcome/, 'worker hit a job outcome during the outage');
  await sleep(3_000); // a few more seconds of outage: polls, retries and API 503s keep failing
  t.ok(serve.alive() && worker.alive(), 'both processes survived the outage');
  await pg.start();

  await waitFor(
    async () => {
      const r = await retrying(async () => ({
        deliveries: Number((await pg.db('workflow_deliveries').whereNot({ status: 'delivered' }).count({ n: '*' }))[0]!.n),
        emails: Number((await pg.db('notifications').whereNot({ status: 'sent' }).count({ n: '*' }))[0]!.n),
        open: (await pg.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name IN ('email.send', 'workflow.deliver') AND state IN ('created', 'retry', 'active')`)).rows[0].n as number,
      }));
      return r.deliveries === 0 && r.emails === 0 && r.open === 0 && created.size >= createdBefore + 10;
    },
    'every delivery delivered, every email sent, no job left, and new tickets created',
    120_000,
    250,
  );
  loading = false;
  await Promise.all(clients);

  t.ok(serve.alive() && worker.alive(), 'both processes are still running after the outage');
  t.equal(Number((await pg.db('workflow_deliveries').count({ n: '*' }))[0]!.n), DELIVERIES, 'all deliveries exist');
  t.equal(new Set(deliveryKeys).size, DELIVERIES, 'the receiver saw every delivery');
  t.equal(Number((await pg.db('notifications').where({ status: 'sent' }).count({ n: '*' }))[0]!.n), EMAILS, 'every email is sent');
  t.ok((statuses.get(503) ?? 0) > 0, 'API callers saw 503 during the outage');
  t.same([...statuses.keys()].filter((s) => ![201, 503, 409].includes(s)), [], 'callers saw nothing but 201, 503 or 409 (a key still running)');
  // exactly one ticket per Idempotency-Key, and it is the one its caller was told about
  const rows = await pg.db('tickets').where('subject', 'like', 'chaos-%').select('id', 'subject');
  const bySubject = new Map<string, number[]>();
  for (const r of rows) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r.id]);
  t.same([...bySubject].filter(([, ids]) => ids.length !== 1), [], 'no key made two tickets');
  t.same([...created].filter(([key, id]) => bySubject.get(key)?.[0] !== id), [], 'every 201 names the ticket in the database');
  t.comment(`${created.size} tickets created, ${mailIds.length} SMTP sends for ${EMAILS} emails, ${deliveryKeys.length} requests for ${DELIVERIES} deliveries; statuses ${JSON.stringify([...statuses])}`);

  serve.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  t.same(await serve.exited, { code: 0, signal: null }, 'serve stops cleanly');
  t.same(await worker.exited, { code: 0, signal: null }, 'worker stops cleanly');
});
