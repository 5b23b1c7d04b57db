/**
 * `smartsupport serve --processes 2` vs `--processes 1` (both under the supervisor, `--workers 0`,
 * dist/ build): ticket-create and an employee's own ticket-list throughput, load from a separate
 * autocannon process (20 connections). Target ≥ 1.6×.
 *
 * On a 2-core machine PostgreSQL and the load generator share the cores with the API, so the note
 * also shows where the CPU went during each run, from /proc: the API processes (supervisor tree),
 * this benchmark database's PostgreSQL backends, the load generator, and the rest of the machine
 * (everything else, including other tenants of a shared machine), as a share of all cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DURATION_SECONDS, round, type BenchEnv, type Benchmark, type BenchResult } from './lib.js';
import { loadavg } from './minimal.js';
import { benchEmployee } from './ticket-fixtures.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const TICKS = 100; // USER_HZ

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface ProcInfo { pid: number; ppid: number; cpu: number; cmd: string }

async function processes(): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = (await readFile(`/proc/${d}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      out.push({ pid: Number(d), ppid: Number(rest[1]), cpu: Number(rest[11]) + Number(rest[12]), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const descendants = (all: ProcInfo[], root: number): Set<number> => {
  const set = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (!set.has(p.pid) && set.has(p.ppid)) (set.add(p.pid), (grew = true));
  }
  return set;
};

async function machineTicks(): Promise<number> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return cpu.reduce((s, n) => s + n, 0) - cpu[3]! - (cpu[4] ?? 0); // busy = all − idle − iowait
}

interface Split { api: number; pg: number; load: number; other: number }

/** CPU seconds per group over the run: samples before the load starts and just before it ends. */
async function loadWithCpu(args: object, serverPid: number, dbName: string): Promise<{ rps: number; sampled: number; switches: number; split: Split; wall: number }> {
  const snap = async (loadPid: number) => {
    const all = await processes();
    const tree = descendants(all, serverPid);
    const sum = (f: (p: ProcInfo) => boolean) => all.filter(f).reduce((s, p) => s + p.cpu, 0);
    // the API processes' main threads (their event loops): how often they went to sleep and woke
    let switches = 0;
    for (const pid of tree) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) switches += Number(m[1]);
    }
    return {
      at: Date.now(),
      switches,
      api: sum((p) => tree.has(p.pid)),
      pg: sum((p) => p.cmd.startsWith('postgres:') && p.cmd.includes(` ${dbName} `)),
      load: sum((p) => p.pid === loadPid),
      machine: await machineTicks(),
    };
  };
  const child: ChildProcess = spawn(process.execPath, [new URL('./load-child.mjs', import.meta.url).pathname, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  const t0 = Date.now();
  const before = await snap(child.pid!);
  // the last sample shortly before autocannon stops (it then only prints)
  const last = new Promise<Awaited<ReturnType<typeof snap>>>((resolve) => setTimeout(() => resolve(snap(child.pid!)), DURATION_SECONDS * 1000 - 300));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const after = await last;
  const wall = (Date.now() - t0) / 1000;
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  const r = JSON.parse(text) as { non2xx: number; errors: number; timeouts: number; total: number; rps: number };
  if (r.non2xx + r.errors + r.timeouts > 0) throw new Error(`${r.non2xx + r.errors + r.timeouts} of ${r.total} requests failed`);
  const d = (k: 'api' | 'pg' | 'load' | 'machine') => (after[k] - before[k]) / TICKS;
  const machine = d('machine');
  // requests between the two samples (autocannon's rate over the sampled time, its start-up included:
  // a slight overcount, the same for both runs)
  const sampled = (r.rps * (after.at - before.at)) / 1000;
  return {
    rps: r.rps,
    sampled,
    switches: after.switches - before.switches,
    wall,
    split: { api: d('api'), pg: d('pg'), load: d('load'), other: Math.max(0, machine - d('api') - d('pg') - d('load')) },
  };
}

async function startServe(env: BenchEnv, n: number): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/smartsupport'), 'serve', '--processes', String(n), '--workers', '0', '--port', String(port)], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: env.databaseUrl,
      JWT_SECRET: env.app.config.jwtSecret!,
      WORKFLOW_SIGNING_SECRET: env.app.config.workflowSigningSecret!,
      // production refuses to start without it; the same key as the bench's own app
      SECRETS_KEY: env.app.config.secretsKey!.toString('base64'),
      SMARTSUPPORT_DATA_DIR: path.join(os.tmpdir(), `ss-bench-serve-${port}`),
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_POOL_MAX: '10',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr.slice(-500)}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    // every API process up: wait until n distinct pids answer is not observable over HTTP; give the
    // other children the time the first one needed, then warm up all of them
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`serve did not become ready: ${stderr.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // the first answer comes from one child: wait until all n exist and have settled (start-up done,
  // CPU idle for half a second) so the measured run does not land on a half-started cluster
  for (;;) {
    const kids = () => processes().then((all) => all.filter((p) => p.ppid === child.pid));
    const before = await kids();
    await new Promise((r) => setTimeout(r, 500));
    const after = await kids();
    const busy = after.reduce((s, p) => s + p.cpu - (before.find((b) => b.pid === p.pid)?.cpu ?? 0), 0);
    if (after.length >= n && busy <= 2) break;
    if (Date.now() > deadline) throw new Error(`serve --processes ${n}: ${after.length} children, still busy`);
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('exit', r)));
    },
  };
}

const share = (s: Split, wall: number) => {
  const cap = wall * os.cpus().length;
  const pct = (x: number) => `${Math.round((100 * x) / cap)}%`;
  return `api ${pct(s.api)} pg ${pct(s.pg)} load ${pct(s.load)} other ${pct(s.other)}`;
};

function processesBench(name: string, kind: 'create' | 'list'): Benchmark {
  return {
    name,
    async run(env): Promise<BenchResult> {
      const emp = await benchEmployee(env);
      if (kind === 'list') {
        await env.app.db.raw(`INSERT INTO tickets (employee_id, subject, category, sub_category, description) SELECT ?, 'Bench ' || g, 'Hardware', 'Laptop', 'Generated' FROM generate_series(1, 10000) g`, [emp.id]);
        await env.app.db.raw('ANALYZE tickets');
      }
      const dbName = new URL(env.databaseUrl).pathname.slice(1);
      const headers = { Authorization: `Bearer ${emp.token}`, 'Content-Type': 'application/json' };
      const req = (url: string) =>
        kind === 'create'
          ? { url: `${url}/api/tickets/`, method: 'POST', headers, body: JSON.stringify({ subject: 'Bench ticket', category: 'Hardware', sub_category: 'Laptop', description: 'Created by the benchmark.' }), connections: 20, pipelining: 1, duration: DURATION_SECONDS }
          : { url: `${url}/api/tickets/?limit=20`, headers, connections: 20, pipelining: 1, duration: DURATION_SECONDS };
      const results: Record<number, { rps: number; sampled: number; switches: number; split: Split; wall: number; load: string }> = {};
      for (const n of [1, 2]) {
        const s = await startServe(env, n);
        try {
          // warm-up (JIT, pools) on every process, then the measured run
          await loadWithCpu({ ...req(s.url), duration: 2 }, s.pid, dbName);
          const l = await loadavg();
          results[n] = { ...(await loadWithCpu(req(s.url), s.pid, dbName)), load: l };
        } finally {
          await s.stop();
        }
      }
      const ratio = results[2]!.rps / results[1]!.rps;
      // CPU per request, API processes and PostgreSQL backends: the second process's cost shows here
      // when it buys no throughput (smaller create batches, fewer requests per event-loop wake-up)
      const perRequest = (n: number) => {
        const r = results[n]!;
        const us = (cpu: number) => Math.round((cpu * 1e6) / r.sampled);
        return `${us(r.split.api)} + ${us(r.split.pg)} µs per request, event-loop sleeps ${(r.switches / r.sampled).toFixed(2)} per request`;
      };
      const note = [1, 2].map((n) => `×${n}: ${round(results[n]!.rps)} req/s, CPU ${share(results[n]!.split, results[n]!.wall)}, api + pg ${perRequest(n)} (loadavg ${results[n]!.load})`).join('; ');
      return { name, metric: 'req/s ×2 vs ×1', ours: round(results[2]!.rps), baseline: round(results[1]!.rps), ratio: round(ratio, 3), target: '≥ 1.6', pass: ratio >= 1.6, note };
    },
  };
}

export const processesCreate = processesBench('processes-create', 'create');
export const processesList = processesBench('processes-list', 'list');
