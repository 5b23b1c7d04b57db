/**
 * `node --import tsx bench/profile.ts health|create|list|minimal-health|minimal-list [seconds]`: runs one of the single-process
 * scenarios under load and prints where the API process spends its CPU (self time by function and by
 * package, from a V8 CPU profile). For finding what the side-by-side ratios in bench/minimal.ts lose to.
 */
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { load, startBenchEnv } from './lib.js';
import { benchEmployee } from './ticket-fixtures.js';
import { startMinimalApp } from './minimal-app.js';

const what = process.argv[2] ?? 'health';
const seconds = Number(process.argv[3] ?? 5);
const env = await startBenchEnv();
const minimal = what.startsWith('minimal-') ? await startMinimalApp(env.databaseUrl) : undefined;
try {
  const emp = await benchEmployee(env);
  const auth = { Authorization: `Bearer ${emp.token}` };
  const opts =
    what === 'create'
      ? { url: `${env.server.url}/api/tickets/`, method: 'POST' as const, headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ subject: 'Bench ticket', category: 'Hardware', sub_category: 'Laptop', description: 'Created by the benchmark.' }) }
      : what === 'list'
        ? { url: `${env.server.url}/api/tickets/?limit=20`, headers: auth }
        : minimal
          ? { url: `${minimal.server.url}${what === 'minimal-list' ? '/api/tickets/' : '/healthz'}` }
          : { url: `${env.server.url}/healthz` };
  if (what === 'list') {
    await env.app.db.raw(`INSERT INTO tickets (employee_id, subject, category, sub_category, description) SELECT ?::bigint, 'Bench ' || g, 'Hardware', 'Laptop', 'Generated' FROM generate_series(1, 10000) g`, [emp.id]);
    await env.app.db.raw('ANALYZE tickets');
  }
  if (what === 'minimal-list') {
    await env.app.db.raw(`INSERT INTO bench_minimal_tickets (owner, subject, description) SELECT ?::bigint, 'Bench ' || g, 'Generated' FROM generate_series(1, 10000) g`, [minimal!.owner]);
    await env.app.db.raw('ANALYZE bench_minimal_tickets');
  }
  await load({ ...opts, duration: 2 }); // warm up
  // the SQL one request runs (knex's query events), with how often each statement ran
  const sqls = new Map<string, number>();
  const onQuery = (q: { sql: string }) => sqls.set(q.sql, (sqls.get(q.sql) ?? 0) + 1);
  env.app.db.on('query', onQuery);
  const one = await load({ ...opts, connections: 1, duration: 1 });
  env.app.db.off('query', onQuery);
  const n = Math.max(1, Math.round(one.rps));
  console.log(`--- SQL per request (knex; ${n} requests) ---`);
  await writeFile(`/tmp/${what}.sql`, [...sqls.keys()].join(';\n\n'));
  for (const [sql, c] of [...sqls].sort((a, b) => b[1] - a[1])) console.log(`${(c / n).toFixed(2)}  ${sql.replace(/\s+/g, ' ').slice(0, 300)}`);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const c0 = process.cpuUsage();
  const r = await load({ ...opts, duration: seconds });
  const c1 = process.cpuUsage(c0);
  const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
  await writeFile(`/tmp/${what}.cpuprofile`, JSON.stringify(profile));
  console.log(`${what}: ${Math.round(r.rps)} req/s, node ${Math.round((c1.user + c1.system) / (r.rps * seconds))} µs/request`);
  summarize(profile);
} finally {
  await minimal?.close();
  await env.close();
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

function summarize(p: Profile): void {
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    const u = n.callFrame.url.replace(/^file:\/\//, '').replace(process.cwd(), '.');
    const fn = `${n.callFrame.functionName || '(anon)'} ${u}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
    const pkg = m ? m[1] : u.startsWith('./src') ? u.split('/').slice(0, 4).join('/') : u.startsWith('node:') ? 'node:' + u.slice(5).split('/')[0] : n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : u || '(native)';
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
  }
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${n}`).join('\n');
  console.log('--- by package/file ---\n' + top(byPkg, 25));
  console.log('--- by function ---\n' + top(byFn, 40));
}
