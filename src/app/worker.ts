/**
 * Job workers: each feature's handlers, bound to their queues, and the features' periodic jobs.
 * Runs inside `serve` or alone (`smartsupport worker`), on as many machines as needed — pg-boss
 * hands each job to one worker.
 *
 * The loops are ours (src/jobs/work-loop.ts), not `boss.work()`: pg-boss 10's own loop leaves
 * complete/fail rejections unhandled, which ended the process during a database outage.
 * Periodic jobs are sent by every worker once per period slot (pg-boss `singletonSeconds`, so one
 * job per slot whatever the number of workers) instead of pg-boss's cron, whose internal queue runs
 * on that same unsafe loop.
 */
import type { AppContext } from './context.js';
import type { Feature } from './feature.js';
import { startWorkLoop, type WorkLoop } from '../jobs/work-loop.js';

export interface Workers {
  loops: WorkLoop[];
  /** stop fetching, let jobs in hand finish (bounded), stop the periodic senders */
  stop(timeoutMs?: number): Promise<void>;
}

/** How often each worker checks that the current slot of a periodic job was sent. */
export const SCHEDULE_CHECK_MS = 30_000;

export async function startWorkers(app: AppContext, features: Feature[]): Promise<Workers> {
  const loops: WorkLoop[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (const f of features) {
    for (const w of f.workers?.(app) ?? []) {
      for (let i = 0; i < Math.max(1, w.concurrency ?? 1); i++) {
        loops.push(startWorkLoop(app.boss, { queue: w.queue, batchSize: w.batchSize ?? 1, pollingIntervalMs: 500, handler: w.handler as never, log: app.log }));
      }
    }
    for (const s of typeof f.schedules === 'function' ? f.schedules(app) : (f.schedules ?? [])) {
      const send = () =>
        app.boss
          .send(s.queue, s.data ?? {}, { singletonKey: `schedule:${s.queue}`, singletonSeconds: s.everySeconds })
          .catch((err: Error) => app.log.warn({ queue: s.queue, err: err.message }, 'could not send the periodic job; trying again later'));
      await send();
      const timer = setInterval(send, Math.min(SCHEDULE_CHECK_MS, s.everySeconds * 1000));
      timer.unref();
      timers.push(timer);
    }
    if (f.background) app.onClose(await f.background(app));
  }
  let stopped: Promise<void> | undefined;
  const workers: Workers = {
    loops,
    stop(timeoutMs = app.config.shutdownTimeoutMs) {
      stopped ??= (async () => {
        for (const t of timers) clearInterval(t);
        await Promise.all(loops.map((l) => l.stop(timeoutMs)));
      })();
      return stopped;
    },
  };
  // app.close() stops the workers before pg-boss and the pool
  app.onClose(() => workers.stop());
  return workers;
}
