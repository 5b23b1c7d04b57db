/**
 * The delivery engine — one for every outbound push: webhook subscriptions and the built-in workflow
 * subscriber (src/features/workflow/delivery-worker.ts). A delivery is a row (its log); each HTTP
 * attempt is one pg-boss job that names the row and the attempt number it is for.
 *
 * - 2xx → `delivered`; 410 → `stopped` (never retried); 408/425/429/5xx, timeouts and network
 *   errors → retried with exponential backoff and jitter until the attempt limit or the retry window
 *   (then `dead` and a dead-letter job); other answers (3xx — redirects are never followed — and
 *   4xx) and blocked targets → `failed`.
 * - Exactly one copy of an attempt sends: before sending, the job takes a short LEASE on the row
 *   (compare-and-set on `attempts` and `lease_until`). A copy that finds the attempt already made
 *   does nothing; one that finds the lease held by a running copy throws, so pg-boss retries it later
 *   (if the holder died, the lease has run out by then). The result is recorded with a
 *   compare-and-set on `attempts`, and the follow-up job is sent in the same transaction.
 * - Bounded concurrency: at most DELIVERY_CONCURRENCY attempts in flight per process, and at most
 *   DELIVERY_CONCURRENCY_PER_DESTINATION to one destination (URL origin). A job for a destination
 *   that is busy is put back a second later without taking a turn, so one slow receiver cannot hold
 *   the others back.
 */
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { deadLetterOf, type QueueName } from '../../jobs/queues.js';
import { postOnce, type PostResult } from '../../lib/outbound-http.js';

export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'stopped'; status: number }
  | { kind: 'retry'; status: number | null; error: string }
  | { kind: 'failed'; status: number | null; error: string };

export const FINISHED = new Set(['delivered', 'stopped', 'skipped', 'failed', 'dead']);

export const clip = (s: string, n = 500) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function classify(status: number): 'delivered' | 'stopped' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'stopped';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** Exponential backoff with "equal jitter": half the delay is fixed, half random. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export interface DeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface DeliveryJob {
  deliveryId: number;
  /** the row's `attempts` when this job was queued; a job whose attempt is stale is a no-op */
  attempt?: number;
  trigger?: 'auto' | 'manual';
}

export interface AttemptInfo {
  n: number;
  trigger: 'auto' | 'manual';
  durationMs: number;
  response: string | null;
  outcome: AttemptOutcome;
  /** the final status written (pending while retrying) */
  status: string;
}

export interface Destination {
  name: string;
  table: 'workflow_deliveries' | 'webhook_deliveries';
  queue: QueueName;
  timeoutMs(app: AppContext): number;
  allowPrivate(app: AppContext): boolean;
  retry(app: AppContext): { baseMs: number; maxMs: number; maxAttempts: number; windowHours: number };
  /** build the request, or finish the delivery without sending */
  prepare(app: AppContext, row: Record<string, any>): Promise<{ request: DeliveryRequest } | { finish: 'skipped' | 'failed'; error: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** extra writes in the transaction that records an attempt (attempt log, endpoint health, events) */
  recorded?(app: AppContext, trx: Knex.Transaction, row: Record<string, any>, info: AttemptInfo): Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

// ─── concurrency ─────────────────────────────────────────────────────────────

class Limiter {
  private inFlight = 0;
  private readonly perKey = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];

  /** null: this destination is at its limit (put the job back) */
  async acquire(key: string, total: number, perKey: number): Promise<(() => void) | null> {
    if ((this.perKey.get(key) ?? 0) >= perKey) return null;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    while (this.inFlight >= total) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      const n = (this.perKey.get(key) ?? 1) - 1;
      if (n <= 0) this.perKey.delete(key);
      else this.perKey.set(key, n);
      this.waiters.shift()?.();
    };
  }

  stats() {
    return { inFlight: this.inFlight, destinations: Object.fromEntries(this.perKey) };
  }
}

const limiters = new WeakMap<AppContext, Limiter>();
export const limiterOf = (app: AppContext): Limiter => {
  let l = limiters.get(app);
  if (!l) limiters.set(app, (l = new Limiter()));
  return l;
};

const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
};

// ─── one attempt ─────────────────────────────────────────────────────────────

async function send(app: AppContext, d: Destination, req: DeliveryRequest): Promise<{ outcome: AttemptOutcome; response: string | null; durationMs: number }> {
  const started = Date.now();
  let r: PostResult;
  try {
    r = await postOnce(req.url, req.headers, req.body, { timeoutMs: d.timeoutMs(app), allowPrivate: d.allowPrivate(app) });
  } catch (err) {
    const e = err as Error & { code?: string };
    const durationMs = Date.now() - started;
    if (e.code === 'blocked_target') return { outcome: { kind: 'failed', status: null, error: clip(`blocked: ${e.message}`) }, response: null, durationMs };
    const timedOut = e.name === 'TimeoutError';
    const msg = timedOut ? `timed out after ${d.timeoutMs(app)} ms` : `network error: ${e.code ?? e.message}`;
    return { outcome: { kind: 'retry', status: null, error: clip(msg) }, response: null, durationMs };
  }
  const kind = classify(r.status);
  const response = r.body ? clip(r.body, 1000) : null;
  if (kind === 'delivered' || kind === 'stopped') return { outcome: { kind, status: r.status }, response, durationMs: r.durationMs };
  const detail = r.status >= 300 && r.status < 400 ? `redirect to ${r.location ?? '?'} not followed` : r.body.slice(0, 200);
  return { outcome: { kind, status: r.status, error: clip(`HTTP ${r.status}${detail ? `: ${detail}` : ''}`) }, response, durationMs: r.durationMs };
}

/** The job handler for destination `d`. */
export function deliveryHandler(app: AppContext, d: Destination) {
  return async (data: DeliveryJob): Promise<void> => {
    const expected = data.attempt ?? 0;
    const trigger = data.trigger ?? 'auto';
    const row = await app.db(d.table).where({ id: data.deliveryId }).first();
    if (!row || FINISHED.has(row.status) || row.attempts !== expected) return; // done, or a stale copy
    const cas = (db: Knex | Knex.Transaction = app.db) => db(d.table).where({ id: row.id, attempts: expected });

    const prepared = await d.prepare(app, row);
    if ('finish' in prepared) {
      await cas().where({ status: 'pending' }).update({ status: prepared.finish, last_error: prepared.error, next_attempt_at: null, lease_until: null });
      return;
    }
    const release = await limiterOf(app).acquire(originOf(prepared.request.url), app.config.deliveryConcurrency, app.config.deliveryConcurrencyPerDestination);
    if (!release) {
      // this destination already has its share in flight: come back shortly, without taking a turn
      await app.boss.send(d.queue, data as object, { startAfter: 1 });
      return;
    }
    try {
      // the lease: only one copy of this attempt may send
      const leaseMs = d.timeoutMs(app) + 5_000;
      const claimed = await cas()
        .where({ status: 'pending' })
        .where((w) => w.whereNull('lease_until').orWhere('lease_until', '<', app.db.fn.now()))
        .update({ lease_until: app.db.raw(`now() + make_interval(secs => ?)`, [leaseMs / 1000]) });
      if (!claimed) {
        const now = await app.db(d.table).where({ id: row.id }).first('attempts', 'status');
        if (!now || FINISHED.has(now.status) || now.attempts !== expected) return; // made meanwhile by another copy
        throw new Error('this attempt is being made by another copy of the job; retrying later');
      }
      const { outcome, response, durationMs } = await send(app, d, prepared.request);
      await record(app, d, row, expected, trigger, outcome, response, durationMs);
    } finally {
      release();
    }
  };
}

async function record(app: AppContext, d: Destination, row: Record<string, any>, expected: number, trigger: 'auto' | 'manual', outcome: AttemptOutcome, response: string | null, durationMs: number): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const n = expected + 1;
  const base = { attempts: n, last_status_code: outcome.status, lease_until: null };
  const policy = d.retry(app);
  let next: Date | null = null;
  let exhausted = false;
  let update: Record<string, unknown>;
  if (outcome.kind === 'delivered') update = { ...base, status: 'delivered', last_error: null, next_attempt_at: null, delivered_at: app.db.fn.now() };
  else if (outcome.kind === 'stopped') update = { ...base, status: 'stopped', last_error: `the receiver answered 410 Gone: not retried`, next_attempt_at: null };
  else if (outcome.kind === 'failed') update = { ...base, status: 'failed', last_error: outcome.error, next_attempt_at: null };
  else {
    next = new Date(Date.now() + backoffMs(n, policy.baseMs, policy.maxMs));
    const windowEnd = new Date(row.created_at).getTime() + policy.windowHours * 3_600_000;
    // a manual redelivery is one attempt: it does not start a new retry ladder
    exhausted = trigger === 'manual' || n >= policy.maxAttempts || next.getTime() > windowEnd;
    update = exhausted
      ? { ...base, status: trigger === 'manual' ? 'failed' : 'dead', last_error: clip(trigger === 'manual' ? outcome.error : `gave up after ${n} attempts: ${outcome.error}`), next_attempt_at: null }
      : { ...base, last_error: outcome.error, next_attempt_at: next };
  }
  if (d.table === 'webhook_deliveries') update.last_response = response;
  await app.db.transaction(async (trx) => {
    const updated = await trx(d.table).where({ id: row.id, attempts: expected }).update(update);
    if (!updated) return; // another copy recorded this attempt first
    const status = (update.status as string | undefined) ?? 'pending';
    await d.recorded?.(app, trx, { ...row, ...update, status }, { n, trigger, durationMs, response, outcome, status });
    if (outcome.kind !== 'retry') return;
    if (exhausted && trigger === 'auto') await app.jobs.enqueue(trx, deadLetterOf(d.queue) as never, { deliveryId: row.id } as never);
    else if (!exhausted) await app.jobs.enqueue(trx, d.queue, { deliveryId: row.id, attempt: n } as never, { startAfter: next! });
  });
}
