/**
 * pg-boss workers: each feature's handlers, bound to their queues. Runs inside `serve` or alone
 * (`smartsupport worker`), on as many machines as needed — pg-boss hands each job to one worker.
 */
import type PgBoss from 'pg-boss';
import type { AppContext } from './context.js';
import type { Feature } from './feature.js';

export async function startWorkers(app: AppContext, features: Feature[]): Promise<string[]> {
  const ids: string[] = [];
  for (const f of features) {
    for (const w of f.workers?.(app) ?? []) {
      const batchSize = w.batchSize ?? 1;
      // pg-boss waits a polling interval after every fetch; after a full batch there is probably
      // more, so fetch again at once (5,000 jobs drain in seconds, not in 5,000/batch half-seconds)
      const id: string = await app.boss.work(w.queue, { batchSize, pollingIntervalSeconds: 0.5, includeMetadata: true }, async (jobs: PgBoss.JobWithMetadata<object>[]) => {
        if (jobs.length >= batchSize) app.boss.notifyWorker(id);
        for (const job of jobs) {
          try {
            await w.handler(job.data as never, job as never);
          } catch (err) {
            app.log.warn({ queue: w.queue, job: job.id, err: (err as Error).message }, 'job failed; pg-boss will retry it');
            throw err;
          }
        }
      });
      ids.push(id);
    }
    const schedules = typeof f.schedules === 'function' ? f.schedules(app) : (f.schedules ?? []);
    for (const s of schedules) await app.boss.schedule(s.queue, s.cron, s.data ?? {}, { tz: 'UTC' });
    for (const q of f.unschedule ?? []) if (!schedules.some((s) => s.queue === q)) await app.boss.unschedule(q);
  }
  return ids;
}
