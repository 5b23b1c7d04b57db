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
import { createVsMinimal, healthVsMinimal, listVsMinimal } from './minimal.js';
import { jobs } from './jobs.js';
import { processesCreate, processesList } from './processes.js';
import { soak } from './soak.js';
import { volume } from './volume.js';
import { reports } from './reports.js';
import { ticketCreate } from './ticket-create.js';
import { ticketList } from './ticket-list.js';
import { slaAtRisk, slaReport } from './sla.js';
import { deepPage, search } from './ticket-volume.js';
import { startBenchEnv, type Benchmark, type BenchResult } from './lib.js';

const ALL: Benchmark[] = [health, ticketCreate, ticketList, healthVsMinimal, createVsMinimal, listVsMinimal, processesCreate, processesList, deepPage, search, slaAtRisk, slaReport, jobs, cliStart, reports, emailIntake, eventSubscriptions, sseStreams, soak];
/** by name only (`npm run bench volume`): seeds 1M tickets, minutes */
const OPT_IN: Benchmark[] = [volume];

/** Named sets: `npm run bench single` shows both views of the single-process cost side by side. */
const GROUPS: Record<string, string[]> = {
  single: ['health', 'health-vs-minimal', 'ticket-create', 'create-vs-minimal', 'ticket-list', 'list-vs-minimal'],
  processes: ['processes-create', 'processes-list'],
};
const wanted = process.argv.slice(2).flatMap((w) => GROUPS[w] ?? [w]);
const selected = wanted.length ? [...ALL, ...OPT_IN].filter((b) => wanted.includes(b.name)) : ALL;
if (wanted.length && selected.length !== new Set(wanted).size) {
  console.error(`unknown benchmark(s); available: ${[...ALL, ...OPT_IN].map((b) => b.name).join(', ')}; sets: ${Object.keys(GROUPS).join(', ')}`);
  process.exit(2);
}

const env = await startBenchEnv();
const results: BenchResult[] = [];
try {
  for (const b of selected) {
    process.stderr.write(`running ${b.name}…\n`);
    try {
      const r = await b.run(env);
      results.push(...(Array.isArray(r) ? r : [r]));
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
