/**
 * Report periods: `since` (inclusive) to `until` (exclusive), cut into UTC day or ISO-week (Monday)
 * buckets. Pure; the SQL buckets with the same rule (`date_trunc(interval, ts AT TIME ZONE 'UTC')`).
 */
import { unprocessable } from '../../http/errors.js';

export type Interval = 'day' | 'week';

export interface Period {
  since: Date;
  until: Date;
  interval: Interval;
  /** bucket start dates, `YYYY-MM-DD` (UTC) */
  buckets: string[];
}

export const DEFAULT_DAYS = 30;
export const MAX_BUCKETS = 366;
const DAY = 86_400_000;

export const dayKey = (d: Date) => d.toISOString().slice(0, 10);

/** Start of the UTC day / ISO week containing `d`. */
export function bucketStart(d: Date, interval: Interval): Date {
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  if (interval === 'day') return day;
  const dow = (day.getUTCDay() + 6) % 7; // Monday = 0
  return new Date(day.getTime() - dow * DAY);
}

/** `2026-11-01` (midnight UTC) or a full ISO date-time; undefined when absent. */
export function parseInstant(v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v);
  const d = /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(`${s}T00:00:00Z`) : new Date(s);
  if (Number.isNaN(d.getTime())) throw unprocessable('invalid_period', `${field} is not a date.`, [{ field, message: 'is not a date' }]);
  return d;
}

export function resolvePeriod(q: { since?: unknown; until?: unknown; interval?: unknown }, now = new Date()): Period {
  const interval: Interval = q.interval === 'week' ? 'week' : 'day';
  const until = parseInstant(q.until, 'until') ?? now;
  const since = parseInstant(q.since, 'since') ?? new Date(bucketStart(until, 'day').getTime() - (DEFAULT_DAYS - 1) * DAY);
  if (since >= until) throw unprocessable('invalid_period', 'since must be before until.', [{ field: 'since', message: 'must be before until' }]);
  const buckets: string[] = [];
  const step = interval === 'day' ? DAY : 7 * DAY;
  for (let t = bucketStart(since, interval).getTime(); t < until.getTime(); t += step) {
    buckets.push(dayKey(new Date(t)));
    if (buckets.length > MAX_BUCKETS) {
      throw unprocessable('period_too_long', `At most ${MAX_BUCKETS} ${interval}s per report; use interval=week or a shorter period.`, [{ field: 'since', message: 'too far back' }]);
    }
  }
  return { since, until, interval, buckets };
}

/** Index of each bucket key, for filling SQL results into arrays. */
export const bucketIndex = (p: Period) => new Map(p.buckets.map((b, i) => [b, i]));
