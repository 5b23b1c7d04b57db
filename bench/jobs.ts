/**
 * 5,000 queued no-op jobs drained by the worker wiring (src/app/worker.ts) — jobs/s from the first
 * fetch to the last completion. Target from quality.md: ≥ 555 jobs/s (pg-boss's own test floor).
 */
import type { Feature } from '../src/app/feature.js';
import { startWorkers } from '../src/app/worker.js';
import { round, type Benchmark } from './lib.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const TARGET = 555;
const QUEUE = 'bench.noop';

export const jobs: Benchmark = {
  name: 'jobs',
  async run(env) {
    const boss = env.app.boss;
    await boss.deleteQueue(QUEUE).catch(() => undefined);
    await boss.createQueue(QUEUE);
    for (let i = 0; i < JOBS; i += 500) {
      await boss.insert(Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => ({ name: QUEUE, data: { n: i + k } })));
    }
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const feature: Feature = {
      name: 'bench',
      workers: () => [{ queue: QUEUE as never, batchSize: 100, handler: async () => { if (++done === JOBS) finished(); } }],
    };
    const t0 = process.hrtime.bigint();
    const workers = await startWorkers(env.app, [feature]);
    await all;
    // the last batch is completed after its handler returns: wait until the queue is empty
    while ((await boss.getQueueSize(QUEUE, { before: 'completed' })) > 0) await new Promise((r) => setTimeout(r, 10));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await workers.stop(5_000);
    const rate = JOBS / seconds;
    process.stderr.write(`jobs: ${JOBS} no-op jobs drained in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} jobs/s\n`);
    return { name: 'jobs', metric: 'jobs/s', ours: round(rate), baseline: TARGET, ratio: round(rate / TARGET, 3), target: `≥ ${TARGET} jobs/s`, pass: rate >= TARGET, note: `${JOBS} jobs, batch 100` };
  },
};
