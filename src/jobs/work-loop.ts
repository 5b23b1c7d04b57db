/**
 * Our own job loop over pg-boss's `fetch` / `complete` / `fail` (instead of `boss.work()`).
 *
 * Why: pg-boss 10.4.2's `work()` calls `complete`/`fail` without awaiting or catching them
 * (manager.js `watch` → `onFetch`; upstream timgit/pg-boss#577). When the database goes away while
 * a job runs, that promise rejects unhandled and Node ends the process — the worker, or the whole
 * `serve` process, dies for good. Here every database call of the loop is awaited and caught:
 *
 * - fetching during an outage finds nothing (pg-boss's `fetch` itself swallows errors) and the
 *   loop polls again;
 * - a job's outcome (complete or fail) is retried with backoff until the database takes it, however
 *   long the outage lasts. If the job's lease (`expireInSeconds`) runs out meanwhile, pg-boss
 *   retries it elsewhere — handlers are idempotent, so at-least-once still holds;
 * - nothing here installs an `unhandledRejection` handler: a real bug still ends the process loudly.
 *
 * Each job gets its own outcome (a batch no longer fails as a whole) and at most its lease to run;
 * a handler still running when the lease ends counts as failed (pg-boss would retry it anyway).
 */
import type PgBoss from 'pg-boss';
import type { Logger } from '../lib/log.js';

export interface WorkLoopOptions<D = object> {
  queue: string;
  batchSize?: number;
  /** pause between polls when the queue was empty (default 500 ms) */
  pollingIntervalMs?: number;
  handler: (data: D, job: PgBoss.JobWithMetadata<D>) => Promise<void>;
  log: Logger;
}

export interface WorkLoop {
  /** wake the loop now (new jobs were sent) */
  notify(): void;
  /**
   * Stop fetching; wait for the job in hand to finish and its outcome to be recorded, at most
   * `timeoutMs` (after that the job's lease brings it back on another worker).
   */
  stop(timeoutMs: number): Promise<void>;
  /** jobs handled so far (for logs and tests) */
  readonly handled: number;
}

const OUTCOME_RETRY_MIN_MS = 200;
const OUTCOME_RETRY_MAX_MS = 5_000;

/** A sleep that `wake()` ends early. */
function sleeper() {
  let wake: (() => void) | undefined;
  return {
    sleep(ms: number) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    wake() {
      wake?.();
    },
  };
}

class LeaseExpired extends Error {
  constructor(seconds: number) {
    super(`job ran longer than its ${seconds} s lease`);
  }
}

function withinLease<T>(p: Promise<T>, seconds: number): Promise<T> {
  if (!seconds || seconds <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LeaseExpired(seconds)), seconds * 1000);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

export function startWorkLoop<D = object>(boss: PgBoss, opts: WorkLoopOptions<D>): WorkLoop {
  const batchSize = opts.batchSize ?? 1;
  const interval = opts.pollingIntervalMs ?? 500;
  const log = opts.log;
  const nap = sleeper();
  let stopping = false;
  let giveUp = false;
  let handled = 0;
  let outageLogged = false;

  /** complete/fail one job; retried until the database takes it (or we are stopping past our deadline) */
  async function settle(job: PgBoss.JobWithMetadata<D>, error: Error | undefined): Promise<void> {
    let delay = OUTCOME_RETRY_MIN_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        if (error) await boss.fail(opts.queue, job.id, { message: error.message });
        else await boss.complete(opts.queue, job.id);
        if (attempt > 1) log.info({ queue: opts.queue, job: job.id, attempts: attempt }, 'job outcome recorded after the database came back');
        return;
      } catch (err) {
        if (giveUp) {
          log.warn({ queue: opts.queue, job: job.id, err: (err as Error).message }, 'stopping before the job outcome could be recorded; its lease will bring it back');
          return;
        }
        if (attempt === 1) log.warn({ queue: opts.queue, job: job.id, err: (err as Error).message }, 'could not record the job outcome; retrying until the database answers');
        await nap.sleep(delay);
        delay = Math.min(delay * 2, OUTCOME_RETRY_MAX_MS);
      }
    }
  }

  async function fetchJobs(): Promise<PgBoss.JobWithMetadata<D>[]> {
    try {
      const jobs = (await boss.fetch<D>(opts.queue, { batchSize, includeMetadata: true })) as PgBoss.JobWithMetadata<D>[] | null;
      outageLogged = false;
      return jobs ?? [];
    } catch (err) {
      // pg-boss 10 returns [] on errors; should a version throw, treat it as "nothing now"
      if (!outageLogged) log.warn({ queue: opts.queue, err: (err as Error).message }, 'could not fetch jobs; polling again');
      outageLogged = true;
      return [];
    }
  }

  const running = (async () => {
    while (!stopping) {
      const jobs = await fetchJobs();
      for (const job of jobs) {
        let error: Error | undefined;
        try {
          await withinLease(opts.handler(job.data, job), Number((job as unknown as { expireInSeconds?: unknown }).expireInSeconds ?? 0));
        } catch (err) {
          error = err instanceof Error ? err : new Error(String(err));
          log.warn({ queue: opts.queue, job: job.id, err: error.message }, 'job failed; pg-boss will retry it');
        }
        await settle(job, error);
        handled++;
      }
      // a full batch means there is probably more: fetch again at once
      if (!stopping && jobs.length < batchSize) await nap.sleep(interval);
    }
  })();

  return {
    notify: () => nap.wake(),
    get handled() {
      return handled;
    },
    async stop(timeoutMs: number) {
      stopping = true;
      nap.wake();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          giveUp = true;
          nap.wake();
          resolve();
        }, timeoutMs);
      });
      await Promise.race([running, deadline]);
      clearTimeout(timer);
    },
  };
}
