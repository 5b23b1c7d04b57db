/**
 * Ours vs the minimal Koa + pg app (bench/minimal-app.ts), single process, side by side in the same
 * run — issue 17's view, next to the same-table baselines of ticket-create / ticket-list / health:
 *
 * - create-vs-minimal: authenticated POST /api/tickets/ (session check, validation, insert + history
 *   + event, full presentation; creates batched as in production, docs/operations.md) vs an
 *   INSERT … RETURNING of a minimal row.                                           target ≥ 0.45
 * - list-vs-minimal: an employee's own GET /api/tickets/?limit=20 vs SELECT … WHERE owner ORDER BY id
 *   DESC LIMIT 20 (10k rows of that owner and 10k of 1,000 others on both sides). target ≥ 0.7
 * - health-vs-minimal: GET /healthz (answered before Koa: the front door) vs the minimal app's;
 *   the note also gives the same probe through the Koa pipeline.                  target ≥ 0.8
 *
 * The two sides alternate BENCH_ROUNDS times (default 2) and each keeps its best round, so a burst of
 * load from elsewhere on a shared machine hits one round of one side, not the whole comparison.
 */
import { readdir, readFile } from 'node:fs/promises';
import { DURATION_SECONDS, load, ratioResult, type BenchEnv, type Benchmark, type BenchResult, type LoadOptions } from './lib.js';
import { startMinimalApp, type MinimalApp } from './minimal-app.js';
import { benchEmployee } from './ticket-fixtures.js';
import { ticketCreateBatcher } from '../src/features/tickets/ticket-store.js';
import { features } from '../src/app/features.js';
import { createApp, listen } from '../src/app/server.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

let minimal: Promise<MinimalApp> | undefined;
let closeHookSet = false;
function minimalApp(env: BenchEnv): Promise<MinimalApp> {
  minimal ??= startMinimalApp(env.databaseUrl);
  if (!closeHookSet) {
    closeHookSet = true;
    const close = env.close.bind(env);
    env.close = async () => {
      await (await minimal)?.close();
      await close();
    };
  }
  return minimal;
}

export const loadavg = async (): Promise<string> => (await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ');

/** CPU ticks (user + system) per PostgreSQL backend of this database, from /proc. */
async function pgTicks(dbName: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const d of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8');
      if (!cmd.startsWith('postgres:') || !cmd.includes(` ${dbName} `)) continue;
      const stat = await readFile(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(d, Number(f[11]) + Number(f[12]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Ticks spent between two samples by backends alive at the second (a backend that exited is lost: a lower bound). */
const pgDelta = (a: Map<string, number>, b: Map<string, number>) => [...b].reduce((s, [pid, t]) => s + t - (a.get(pid) ?? 0), 0);

/**
 * Alternate baseline and ours; the best round of each. Also the CPU each side spent per request —
 * this process's (both apps run in it; the load generator is a child) and this database's
 * PostgreSQL backends' — which a loaded machine distorts far less than the request rate.
 */
async function sideBySide(env: BenchEnv, base: LoadOptions, ours: LoadOptions, extra?: { label: string; opts: LoadOptions }): Promise<{ b: number; o: number; x: number; load: string; cpu: string }> {
  const dbName = new URL(env.databaseUrl).pathname.slice(1);
  let b = 0;
  let o = 0;
  let x = 0;
  const loads: string[] = [];
  const cpu = { b: { node: 0, pg: 0, n: 0 }, o: { node: 0, pg: 0, n: 0 }, x: { node: 0, pg: 0, n: 0 } };
  const measure = async (side: 'b' | 'o' | 'x', opts: LoadOptions) => {
    const c0 = process.cpuUsage();
    const p0 = await pgTicks(dbName);
    const r = await load(opts);
    const c1 = process.cpuUsage(c0);
    cpu[side].node += (c1.user + c1.system) / 1000;
    cpu[side].pg += pgDelta(p0, await pgTicks(dbName)) * 10;
    cpu[side].n += r.rps * DURATION_SECONDS;
    return r.rps;
  };
  for (let i = 0; i < ROUNDS; i++) {
    loads.push(await loadavg());
    b = Math.max(b, await measure('b', base));
    o = Math.max(o, await measure('o', ours));
    if (extra) x = Math.max(x, await measure('x', extra.opts));
  }
  loads.push(await loadavg());
  const per = (x: { node: number; pg: number; n: number }) => `node ${Math.round((1000 * x.node) / x.n)} µs + pg ≥ ${Math.round((1000 * x.pg) / x.n)} µs`;
  return { b, o, x, load: `loadavg ${loads.join(' → ')}`, cpu: `CPU per request: ours ${per(cpu.o)}, minimal ${per(cpu.b)}${extra ? `, ${extra.label} ${per(cpu.x)}` : ''}` };
}

const note = (what: string, r: { load: string; cpu: string }) => `${what}; ${r.cpu}; ${ROUNDS}×${DURATION_SECONDS}s alternating, best each; ${r.load}`;

export const createVsMinimal: Benchmark = {
  name: 'create-vs-minimal',
  async run(env): Promise<BenchResult> {
    const m = await minimalApp(env);
    const emp = await benchEmployee(env);
    const ours = {
      url: `${env.server.url}/api/tickets/`,
      method: 'POST' as const,
      body: JSON.stringify({ subject: 'Bench ticket', category: 'Hardware', sub_category: 'Laptop', description: 'Created by the benchmark.' }),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${emp.token}` },
    };
    const base = { url: `${m.server.url}/api/tickets/`, method: 'POST' as const, body: JSON.stringify({ subject: 'Bench ticket', description: 'Created by the benchmark.' }), headers: { 'Content-Type': 'application/json' } };
    const batches = ticketCreateBatcher(env.app.db).stats;
    const s0 = { ...batches };
    const r = await sideBySide(env, base, ours);
    const perStatement = (batches.tickets - s0.tickets) / Math.max(1, batches.statements - s0.statements);
    return ratioResult('create-vs-minimal', 'req/s', r.o, r.b, 0.45, note(`minimal: INSERT … RETURNING of (id, number, owner, subject, description, status, date); ours ${perStatement.toFixed(1)} tickets per statement (largest ${batches.largest})`, r));
  },
};

export const listVsMinimal: Benchmark = {
  name: 'list-vs-minimal',
  async run(env): Promise<BenchResult> {
    const m = await minimalApp(env);
    const emp = await benchEmployee(env);
    // the other 10k tickets come from 1,000 other employees, as in a company: with one or two other
    // owners PostgreSQL's statistics make every owner a most-common value, the plan cache keeps
    // planning the list afresh for each request (custom plans) and the list pays its planning
    // (~250 µs of PostgreSQL CPU) on every request — a table shape no helpdesk has
    const others = (
      await env.app.db.raw(
        `INSERT INTO employees (first_name, last_name, email, department, role, status)
         SELECT 'Other', 'Owner ' || g, 'bench-other-' || g || '-' || ?::text || '@example.com', 'IT Department', 'Employee', 'Approved' FROM generate_series(1, 1000) g RETURNING id`,
        [String(emp.id)],
      )
    ).rows.map((r: { id: number }) => Number(r.id));
    await env.app.db.raw(
      `INSERT INTO tickets (employee_id, subject, category, sub_category, description)
       SELECT CASE WHEN g % 2 = 0 THEN ?::bigint ELSE (?::bigint[])[1 + g % 1000] END, 'Bench ' || g, 'Hardware', 'Laptop', 'Generated' FROM generate_series(1, 20000) g`,
      [emp.id, others],
    );
    await env.app.db.raw(
      `INSERT INTO bench_minimal_tickets (owner, subject, description) SELECT CASE WHEN g % 2 = 0 THEN ?::bigint ELSE ?::bigint + 1 + g % 1000 END, 'Bench ' || g, 'Generated' FROM generate_series(1, 20000) g`,
      [m.owner, m.owner],
    );
    await env.app.db.raw('ANALYZE tickets; ANALYZE bench_minimal_tickets');
    const r = await sideBySide(env, { url: `${m.server.url}/api/tickets/` }, { url: `${env.server.url}/api/tickets/?limit=20`, headers: { Authorization: `Bearer ${emp.token}` } });
    return ratioResult('list-vs-minimal', 'req/s', r.o, r.b, 0.7, note("an employee's own 20 newest of 10k (20k in table, the other 10k from 1,000 owners)", r));
  },
};

export const healthVsMinimal: Benchmark = {
  name: 'health-vs-minimal',
  async run(env): Promise<BenchResult> {
    const m = await minimalApp(env);
    // also measured in the same rounds: the same app without the front door, so the probe takes the
    // Koa pipeline every other request takes (docs/deployment.md, "The probe and its headers")
    const koaPath = await listen(createApp(env.app, features, { frontDoor: false }), 0, '127.0.0.1');
    try {
      const r = await sideBySide(env, { url: `${m.server.url}/healthz` }, { url: `${env.server.url}/healthz` }, { label: 'koa path', opts: { url: `${koaPath.url}/healthz` } });
      return ratioResult('health-vs-minimal', 'req/s', r.o, r.b, 0.8, note(`GET /healthz, answered at the front door; through the Koa pipeline instead ${(r.x / r.b).toFixed(3)} of minimal`, r));
    } finally {
      await koaPath.close(1000);
    }
  },
};
