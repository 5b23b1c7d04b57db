/**
 * `npm run bench [name…]`: each benchmark runs ours and a bare baseline in the same process run and
 * reports the ratio (absolute numbers on shared machines are noise; ratios are signal).
 * Prints a table and writes bench/results/latest.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cliStart } from './cli-start.js';
import { eventSubscriptions, sseStreams } from './events.js';
import { emailIntake } from './email-intake.js';
import { health } from './health.js';
import { jobs } from './jobs.js';
import { soak } from './soak.js';
import { reports } from './reports.js';
import { ticketCreate } from './ticket-create.js';
import { ticketList } from './ticket-list.js';
import { slaAtRisk, slaReport } from './sla.js';
import { deepPage, search } from './ticket-volume.js';
import { startBenchEnv, type Benchmark, type BenchResult } from './lib.js';

const ALL: Benchmark[] = [health, ticketCreate, ticketList, deepPage, search, slaAtRisk, slaReport, jobs, cliStart, reports, emailIntake, eventSubscriptions, sseStreams, soak];

const wanted = process.argv.slice(2);
const selected = wanted.length ? ALL.filter((b) => wanted.includes(b.name)) : ALL;
if (wanted.length && selected.length !== wanted.length) {
  console.error(`unknown benchmark(s); available: ${ALL.map((b) => b.name).join(', ')}`);
  process.exit(2);
}

const env = await startBenchEnv();
const results: BenchResult[] = [];
try {
  for (const b of selected) {
    process.stderr.write(`running ${b.name}…\n`);
    try {
      results.push(await b.run(env));
    } catch (err) {
      results.push({ name: b.name, metric: 'error', ours: NaN, baseline: NaN, ratio: NaN, target: '', pass: false, note: (err as Error).message });
    }
  }
} finally {
  await env.close();
}
console.table(results.map((r) => ({ benchmark: r.name, metric: r.metric, ours: r.ours, baseline: r.baseline, ratio: r.ratio, target: r.target, pass: r.pass ? 'yes' : 'NO', note: r.note ?? '' })));
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/latest.json', JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
process.exit(results.every((r) => r.pass) ? 0 : 1);
