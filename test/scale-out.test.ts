/**
 * Scale-out under failure: `smartsupport serve --processes 2 --workers 2` (2 API + 2 job-worker
 * processes under the node:cluster supervisor) on one database — through PgBouncer in transaction
 * mode when the suite runs with TEST_PGBOUNCER=1 — with shared file storage (postgres, then s3),
 * mixed load (create, approve → workflow delivery job, upload, list), and one API child and one
 * worker child SIGKILLed mid-run. Checks: no 5xx at all; a request fails only if it was in flight
 * when its process was killed (every request uses its own connection, so a failure is attributable);
 * the killed children are restarted; every approved ticket's delivery is done exactly once (after
 * de-duplicating by Idempotency-Key, as the receiver does); every uploaded file reads back
 * byte-identical through the cluster and from a second instance with its own data directory.
 * Needs the build (`npm run build`).
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createContext } from '../src/app/context.js';
import { features } from '../src/app/features.js';
import { createApp, listen } from '../src/app/server.js';
import { freePort } from '../src/db/embedded.js';
import { createEmployee, createTestDatabase, databaseEnv, TEST_JWT_SECRET, testConfig, tokenFor } from './helpers/harness.js';
import { startWorkflowStub, waitFor } from './helpers/outbound.js';
import { startS3 } from './helpers/s3.js';

const bin = path.resolve('bin/smartsupport');
const JOB_ENV = { JOB_EXPIRE_SECONDS: '2', JOB_MAINTENANCE_SECONDS: '1', WORKFLOW_RETRY_BASE_MS: '100', WORKFLOW_RETRY_MAX_MS: '500', WORKFLOW_TIMEOUT_MS: '1000' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  what: string;
  start: number;
  end: number;
  status?: number;
  error?: string;
  body?: Buffer;
}

/** One request on its own connection (no keep-alive), so a failure belongs to the process that had it. */
function request(port: number, method: string, p: string, opts: { token?: string; json?: unknown; raw?: { type: string; data: Buffer } } = {}): Promise<Outcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    let data: Buffer | undefined;
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) {
      data = Buffer.from(JSON.stringify(opts.json));
      headers['Content-Type'] = 'application/json';
    } else if (opts.raw) {
      data = opts.raw.data;
      headers['Content-Type'] = opts.raw.type;
    }
    if (data) headers['Content-Length'] = String(data.length);
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ what: `${method} ${p}`, start, end: performance.now(), status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ what: `${method} ${p}`, start, end: performance.now(), error: err.message }));
    });
    req.on('error', (err) => resolve({ what: `${method} ${p}`, start, end: performance.now(), error: err.message }));
    // a request that hangs is a lost request too: it shows up as an error, not as a stuck test
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.end(data);
  });
}

function multipartText(name: string, content: Buffer): { type: string; data: Buffer } {
  const b = `----ss${randomBytes(8).toString('hex')}`;
  return {
    type: `multipart/form-data; boundary=${b}`,
    data: Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="files[]"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`), content, Buffer.from(`\r\n--${b}--\r\n`)]),
  };
}

function childrenOf(pid: number): { pid: number; role: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0)
    .map((p) => {
      let role = '?';
      try {
        role = /SMARTSUPPORT_CHILD_ROLE=(\w+)/.exec(readFileSync(`/proc/${p}/environ`, 'latin1').replace(/\0/g, '\n'))?.[1] ?? '?';
      } catch {
        /* exited */
      }
      return { pid: p, role };
    });
}

for (const storage of ['postgres', 's3'] as const) {
  t.test(`2 API + 2 worker processes, ${storage} storage${process.env.SS_TEST_PGBOUNCER_URL ? ', through PgBouncer' : ''}: SIGKILL one of each mid-load`, { timeout: 400_000 }, async (t) => {
    const stub = await startWorkflowStub(t, () => 201);
    const { url: direct } = await createTestDatabase(t);
    const dbEnv = databaseEnv(direct);
    const storageEnv = storage === 's3' ? (await startS3(t)).env : { FILE_STORAGE: 'postgres' };
    const port = await freePort();
    const dirA = await mkdtemp(path.join(os.tmpdir(), 'ss-scale-a-'));
    const dirB = await mkdtemp(path.join(os.tmpdir(), 'ss-scale-b-'));
    t.teardown(() => Promise.all([rm(dirA, { recursive: true, force: true }), rm(dirB, { recursive: true, force: true })]));
    const env = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      ...dbEnv,
      ...storageEnv,
      ...JOB_ENV,
      SMARTSUPPORT_DATA_DIR: dirA,
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: String(port),
      HOST: '127.0.0.1',
      RATE_LIMIT_PER_MINUTE: '1000000',
      DATABASE_POOL_MAX: '3',
      WORKFLOW_API_URL: stub.url,
      SMTP_URL: '',
    };
    const sup = spawn(process.execPath, [bin, 'serve', '--processes', '2', '--workers', '2'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let supLog = '';
    sup.stderr.on('data', (c) => (supLog = (supLog + c).slice(-20_000)));
    const supExit = new Promise<number | null>((resolve) => sup.on('exit', (code) => resolve(code)));
    t.teardown(() => {
      for (const c of childrenOf(sup.pid!)) process.kill(c.pid, 'SIGKILL');
      sup.kill('SIGKILL');
    });
    await waitFor(async () => sup.exitCode === null && (await request(port, 'GET', '/readyz')).status === 200, `the cluster answers /readyz (${supLog.slice(-500)})`, 240_000, 200);
    t.match(supLog, /connection budget: 4 process\(es\) × \(3 pool \+ 5 pg-boss \+ 1 LISTEN\)/, 'the budget is reported at start-up');
    await waitFor(async () => childrenOf(sup.pid!).filter((c) => c.role === 'api').length === 2 && childrenOf(sup.pid!).filter((c) => c.role === 'worker').length === 2, 'two API and two worker children', 60_000, 200);

    // a second instance (another "machine"): same database and storage, its own data directory
    const configB = testConfig(dbEnv.DATABASE_URL!, dirB, { ...storageEnv, DATABASE_POOL_MAX: '3', ...(dbEnv.DATABASE_DIRECT_URL ? { DATABASE_DIRECT_URL: dbEnv.DATABASE_DIRECT_URL } : {}) });
    const appB = await createContext(configB, { migrate: false, supervise: false });
    const httpB = await listen(createApp(appB, features), 0, '127.0.0.1');
    t.teardown(async () => {
      await httpB.close(2_000);
      await appB.close();
    });
    const portB = Number(new URL(httpB.url).port);

    const employee = await createEmployee(appB.db, { role: 'Employee' });
    const coordinator = await createEmployee(appB.db, { role: 'Ticket Coordinator' });
    const empToken = await tokenFor(appB, employee);
    const coordToken = await tokenFor(appB, coordinator);

    const outcomes: Outcome[] = [];
    const uploads: { ticket: number; content: Buffer }[] = [];
    let running = true;
    const loop = async (n: number) => {
      for (let i = 0; running; i++) {
        const c = await request(port, 'POST', '/api/tickets/', { token: empToken, json: { subject: `load ${n}.${i}`, category: 'Hardware', sub_category: 'Printer', description: 'scale-out' } });
        outcomes.push(c);
        if (c.status !== 201) continue;
        const id = JSON.parse(c.body!.toString()).id as number;
        const content = Buffer.from(`ticket ${id} attachment ${randomBytes(12).toString('hex')}\n`);
        const u = await request(port, 'POST', `/api/tickets/${id}/attachments/`, { token: empToken, raw: multipartText(`note-${id}.txt`, content) });
        outcomes.push(u);
        if (u.status === 201) uploads.push({ ticket: id, content });
        outcomes.push(await request(port, 'POST', `/api/tickets/${id}/approve/`, { token: coordToken, json: { priority: 'High', department: 'IT Department' } }));
        outcomes.push(await request(port, 'GET', '/api/tickets/?limit=20', { token: empToken }));
      }
    };
    const loops = Array.from({ length: 4 }, (_, n) => loop(n));
    t.comment('load started');
    await waitFor(async () => outcomes.filter((o) => o.status === 201).length >= 20, 'load under way', 60_000, 50);
    const victims = childrenOf(sup.pid!);
    const api = victims.find((c) => c.role === 'api')!;
    const worker = victims.find((c) => c.role === 'worker')!;
    t.comment(`killing API ${api?.pid} and worker ${worker?.pid}`);
    const killedAt = performance.now();
    process.kill(api.pid, 'SIGKILL');
    process.kill(worker.pid, 'SIGKILL');
    // keep the load going while the supervisor restarts them
    await waitFor(async () => {
      const now = childrenOf(sup.pid!);
      return now.filter((c) => c.role === 'api' && c.pid !== api.pid).length === 2 && now.filter((c) => c.role === 'worker' && c.pid !== worker.pid).length === 2;
    }, 'the supervisor restarted the killed children', 60_000, 200);
    t.comment('children restarted');
    await waitFor(async () => outcomes.filter((o) => o.start > killedAt && o.status === 201).length >= 20, 'load continues after the kills', 60_000, 50);
    running = false;
    t.comment('load stopping');
    await Promise.all(loops);
    t.comment('load stopped');

    const fivexx = outcomes.filter((o) => (o.status ?? 0) >= 500);
    t.same(fivexx.map((o) => `${o.what} ${o.status}`), [], 'no 5xx');
    const failed = outcomes.filter((o) => o.error);
    const notInFlight = failed.filter((o) => !(o.start <= killedAt && o.end >= killedAt));
    t.same(notInFlight.map((o) => `${o.what}: ${o.error}`), [], 'only requests in flight at the kill failed');
    const unexpected = outcomes.filter((o) => o.status !== undefined && ![200, 201].includes(o.status));
    t.same(unexpected.map((o) => `${o.what} ${o.status} ${o.body?.toString().slice(0, 200)}`), [], 'every answered request succeeded');
    t.comment(`${outcomes.length} requests, ${failed.length} lost in flight on the killed API process`);

    // every approved ticket's workflow delivery done exactly once (by Idempotency-Key)
    t.comment('checking deliveries');
    const approved = (await appB.db('tickets').whereNotNull('approved_at').pluck('id')).map(Number).sort((a, b) => a - b);
    t.ok(approved.length >= 10, `${approved.length} approved tickets`);
    await waitFor(async () => Number((await appB.db('workflow_deliveries').whereNot({ status: 'delivered' }).count({ n: '*' }))[0]!.n) === 0 && Number((await appB.db('workflow_deliveries').count({ n: '*' }))[0]!.n) === approved.length, 'every delivery delivered', 120_000, 250);
    const byKey = new Map<string, number>();
    for (const r of stub.requests) byKey.set(r.headers['idempotency-key'] as string, Number(JSON.parse(r.body).id));
    t.same([...byKey.values()].sort((a, b) => a - b), approved, 'each approved ticket reached the workflow system exactly once after de-duplication');

    // every uploaded file: through the cluster (both API processes, round-robin) and from instance B
    const rows = await appB.db('ticket_attachments').whereIn('ticket_id', uploads.map((u) => u.ticket)).select('id', 'ticket_id', 'storage_key');
    t.equal(rows.length, uploads.length, 'one attachment row per successful upload');
    const want = new Map(uploads.map((u) => [u.ticket, u.content]));
    let readable = 0;
    for (const r of rows) {
      const content = want.get(Number(r.ticket_id))!;
      const reads = [await request(port, 'GET', `/api/attachments/${r.id}/download/`, { token: empToken }), await request(port, 'GET', `/api/attachments/${r.id}/download/`, { token: empToken }), await request(portB, 'GET', `/api/attachments/${r.id}/download/`, { token: empToken })];
      if (reads.every((x) => x.status === 200 && x.body!.equals(content))) readable++;
      else t.fail(`attachment ${r.id}: ${reads.map((x) => x.status ?? x.error).join(', ')}`);
      const stored = await appB.db('stored_files').where({ key: r.storage_key }).first('sha256');
      if (stored?.sha256 !== sha(content)) t.fail(`attachment ${r.id}: recorded checksum ${stored?.sha256} ≠ ${sha(content)}`);
    }
    t.equal(readable, rows.length, `all ${rows.length} files readable from both instances`);

    sup.kill('SIGTERM');
    t.equal(await supExit, 0, 'SIGTERM: the supervisor drains its children and exits 0');
    t.same(childrenOf(sup.pid!), [], 'no child left behind');
  });
}
