/**
 * Chaos: SIGTERM under load.
 *
 * - keep-alive clients creating tickets non-stop: no request is cut. Each client's requests either
 *   get their answer or (once the server stopped accepting) are refused at connect; after the
 *   signal each connection is answered with `Connection: close`; every ticket a client was told
 *   about exists, and none exists that a client was not told about.
 * - a job in flight at SIGTERM (its delivery held by the receiver) finishes and is recorded before
 *   the worker exits.
 * - a SIGTERM in the middle of start-up waits for start-up, then drains (exit 0, not killed).
 * Needs the build.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createKnex } from '../../src/db/knex.js';
import { createBoss, createJobs } from '../../src/jobs/boss.js';
import { queueWorkflowDelivery } from '../../src/features/workflow/workflow-outbox.js';
import { createEmployee, createTestDatabase, databaseEnv } from '../helpers/harness.js';
import { insertTicket, waitFor } from '../helpers/outbound.js';
import { built, spawnService, tokenFor } from './lib.js';

if (!built) t.fail('dist/ is missing: run `npm run build` before `npm test`');

interface Outcome {
  subject: string;
  status?: number;
  connection?: string;
  id?: number;
  error?: string;
}

function post(agent: http.Agent, url: string, token: string, subject: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ subject, category: 'Hardware', sub_category: 'Laptop', description: 'drain' });
    const req = http.request(`${url}/api/tickets/`, { method: 'POST', agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ subject, status: res.statusCode, connection: String(res.headers.connection), id: res.statusCode === 201 ? (JSON.parse(text) as { id: number }).id : undefined }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ subject, error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ subject, error: err.code ?? err.message }));
    req.end(body);
  });
}

t.test('SIGTERM under keep-alive load cuts no request', async (t) => {
  const { url: databaseUrl } = await createTestDatabase(t);
  const db = createKnex(databaseUrl, 2);
  t.teardown(() => db.destroy());
  const owner = await createEmployee(db);
  const token = await tokenFor(owner);
  const s = spawnService(t, ['serve'], { ...databaseEnv(databaseUrl), SMARTSUPPORT_DATA_DIR: os.tmpdir(), SHUTDOWN_TIMEOUT_MS: '20000' });
  const url = await s.url;

  const CLIENTS = 8;
  let signalled = false;
  let sent = 0;
  const perClient = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const outcomes: Outcome[] = [];
      for (let i = 0; ; i++) {
        const o = await post(agent, url, token, `drain-${c}-${i}`);
        outcomes.push(o);
        sent++;
        if (o.error) break; // refused (or cut): the server is gone for this client
        if (sent >= 200 && !signalled) {
          signalled = true;
          s.child.kill('SIGTERM');
        }
      }
      agent.destroy();
      return outcomes;
    }),
  );
  t.same(await s.exited, { code: 0, signal: null }, 'clean exit');
  t.match(s.output(), /shutting down/);

  const all = perClient.flat();
  const errors = all.filter((o) => o.error);
  t.same([...new Set(errors.map((o) => o.error))], ['ECONNREFUSED'], 'the only failures are refused new connections');
  t.same(all.filter((o) => !o.error && o.status !== 201).map((o) => o.status), [], 'every answered request succeeded');
  for (const [c, outcomes] of perClient.entries()) {
    const answered = outcomes.filter((o) => !o.error);
    const firstClose = answered.findIndex((o) => o.connection === 'close');
    t.ok(firstClose >= 0, `client ${c}: told Connection: close once draining`);
    t.equal(firstClose, answered.length - 1, `client ${c}: no request served after its Connection: close`);
  }
  const created = new Map(all.filter((o) => o.status === 201).map((o) => [o.subject, o.id]));
  const rows = await db('tickets').where('subject', 'like', 'drain-%').select('id', 'subject');
  t.same(new Map(rows.map((r) => [r.subject, r.id])), created, 'the tickets in the database are exactly those the clients were told about');
  t.comment(`${all.length} requests, ${created.size} created, ${errors.length} refused at connect`);
});

t.test('a job in flight at SIGTERM finishes and is recorded before the worker exits', async (t) => {
  const { url: databaseUrl } = await createTestDatabase(t);
  const db = createKnex(databaseUrl, 2);
  t.teardown(() => db.destroy());
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const received: string[] = [];
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      received.push(String(req.headers['idempotency-key']));
      await released;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => (receiver.closeAllConnections(), receiver.close(() => r()))));

  const boss = createBoss(databaseUrl, { supervise: false, max: 2 });
  await boss.start();
  t.teardown(() => boss.stop({ graceful: false, wait: true }));
  const owner = await createEmployee(db);
  const delivery = await db.transaction(async (trx) => queueWorkflowDelivery(trx, createJobs(boss), (await insertTicket(trx, owner.id)).id, 'approved'));

  const w = spawnService(t, ['worker'], { ...databaseEnv(databaseUrl), SMARTSUPPORT_DATA_DIR: os.tmpdir(), WORKFLOW_API_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`, WORKFLOW_TIMEOUT_MS: '60000', SHUTDOWN_TIMEOUT_MS: '60000' });
  await waitFor(async () => received.length === 1, 'the delivery reached the receiver (and is held there)', 60_000);
  const state = async () => (await db.raw(`SELECT state FROM pgboss.job WHERE name = 'workflow.deliver' AND data->>'deliveryId' = ?`, [String(delivery.id)])).rows.map((r: { state: string }) => r.state);
  t.same(await state(), ['active'], 'its job is active when the signal comes');
  w.child.kill('SIGTERM');
  await w.waitOutput(/shutting down/, 'the worker began its shutdown');
  t.ok(w.alive(), 'the worker waits for the job in hand');
  release();
  t.same(await w.exited, { code: 0, signal: null }, 'then exits cleanly');
  t.equal((await db('workflow_deliveries').where({ id: delivery.id }).first()).status, 'delivered', 'the delivery was recorded');
  t.same(await state(), ['completed'], 'and its job completed, not left to its lease');
  t.equal(received.length, 1, 'one request: nothing to redo');
});

t.test('a SIGTERM during start-up drains once start-up is done instead of killing the process', async (t) => {
  // the first System Admin is created while the worker starts (an onStart hook, after migrations
  // and before the job loops are all registered): the signal lands in the middle of start-up, when
  // workers may already hold jobs. Before the handlers were installed first, it killed the process.
  const { url: databaseUrl } = await createTestDatabase(t);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ss-sigterm-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const w = spawnService(t, ['worker'], { ...databaseEnv(databaseUrl), SMARTSUPPORT_DATA_DIR: dataDir });
  await w.waitOutput(/created the first System Admin/, 'start-up reached the first-admin hook');
  w.child.kill('SIGTERM');
  t.same(await w.exited, { code: 0, signal: null }, 'the worker finished starting, then stopped cleanly');
  t.match(w.output(), /shutting down/, 'and said so');
});
