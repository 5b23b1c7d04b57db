/**
 * Ours vs the minimal Koa + pg app (bench/minimal-app.ts), single process, side by side in the same
 * run — issue 17's view, next to the same-table baselines of ticket-create / ticket-list / health:
 *
 * - create-vs-minimal: authenticated POST /api/tickets/ (session check, validation, insert + history
 *   + event, full presentation) vs an INSERT … RETURNING of a minimal row.       target ≥ 0.45
 * - list-vs-minimal: an employee's own GET /api/tickets/?limit=20 vs SELECT … WHERE owner ORDER BY id
 *   DESC LIMIT 20 (10k rows of that owner and 10k of another on both sides).    target ≥ 0.7
 * - health-vs-minimal: GET /healthz vs the minimal app's.                         target ≥ 0.8
 *
 * The two sides alternate BENCH_ROUNDS times (default 2) and each keeps its best round, so a burst of
 * load from elsewhere on a shared machine hits one round of one side, not the whole comparison.
 */
import { readFile } from 'node:fs/promises';
import { DURATION_SECONDS, load, ratioResult, type BenchEnv, type Benchmark, type BenchResult, type LoadOptions } from './lib.js';
import { startMinimalApp, type MinimalApp } from './minimal-app.js';
import { benchEmployee } from './ticket-fixtures.js';

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

/** Alternate baseline and ours; the best round of each. */
async function sideBySide(base: LoadOptions, ours: LoadOptions): Promise<{ b: number; o: number; load: string }> {
  let b = 0;
  let o = 0;
  const loads: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    loads.push(await loadavg());
    b = Math.max(b, (await load(base)).rps);
    o = Math.max(o, (await load(ours)).rps);
  }
  loads.push(await loadavg());
  return { b, o, load: `loadavg ${loads.join(' → ')}` };
}

const note = (what: string, load: string) => `${what}; ${ROUNDS}×${DURATION_SECONDS}s alternating, best each; ${load}`;

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
    const r = await sideBySide(base, ours);
    return ratioResult('create-vs-minimal', 'req/s', r.o, r.b, 0.45, note('minimal: INSERT … RETURNING of (id, number, owner, subject, description, status, date)', r.load));
  },
};

export const listVsMinimal: Benchmark = {
  name: 'list-vs-minimal',
  async run(env): Promise<BenchResult> {
    const m = await minimalApp(env);
    const emp = await benchEmployee(env);
    const other = await benchEmployee(env);
    await env.app.db.raw(
      `INSERT INTO tickets (employee_id, subject, category, sub_category, description)
       SELECT CASE WHEN g % 2 = 0 THEN ?::bigint ELSE ?::bigint END, 'Bench ' || g, 'Hardware', 'Laptop', 'Generated' FROM generate_series(1, 20000) g`,
      [emp.id, other.id],
    );
    await env.app.db.raw(
      `INSERT INTO bench_minimal_tickets (owner, subject, description) SELECT CASE WHEN g % 2 = 0 THEN ?::bigint ELSE ?::bigint END, 'Bench ' || g, 'Generated' FROM generate_series(1, 20000) g`,
      [m.owner, m.owner + 1],
    );
    await env.app.db.raw('ANALYZE tickets; ANALYZE bench_minimal_tickets');
    const r = await sideBySide({ url: `${m.server.url}/api/tickets/` }, { url: `${env.server.url}/api/tickets/?limit=20`, headers: { Authorization: `Bearer ${emp.token}` } });
    return ratioResult('list-vs-minimal', 'req/s', r.o, r.b, 0.7, note("an employee's own 20 newest of 10k (20k in table)", r.load));
  },
};

export const healthVsMinimal: Benchmark = {
  name: 'health-vs-minimal',
  async run(env): Promise<BenchResult> {
    const m = await minimalApp(env);
    const r = await sideBySide({ url: `${m.server.url}/healthz` }, { url: `${env.server.url}/healthz` });
    return ratioResult('health-vs-minimal', 'req/s', r.o, r.b, 0.8, note('GET /healthz', r.load));
  },
};
