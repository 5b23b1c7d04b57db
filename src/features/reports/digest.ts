/**
 * The weekly digest: an hourly periodic job (one per slot for the whole cluster, however many
 * workers run; src/app/worker.ts) sends last week's figures, from Monday 07:00 UTC on, to the staff who opted in
 * (`weekly_digest` notification preference; off by default). The job claims its week in
 * `report_digests` in the same transaction that queues the mails, so a retried or duplicated job
 * never mails twice.
 */
import type { AppContext } from '../../app/context.js';
import { formatDuration } from '../../cli/output/charts.js';
import { queueEmail, type EmailData } from '../notifications/notification-outbox.js';
import { recipientsFor } from '../notifications/preferences.js';
import { unansweredQuestions, groupQuestions } from './chat-reports.js';
import { bucketStart, dayKey, resolvePeriod } from './period.js';
import { backlogReport, timesReport, volumeReport } from './ticket-reports.js';

/** how often the periodic job looks whether last week's digest is due */
export const DIGEST_CHECK_SECONDS = 3600;
/** the digest of a week goes out from this hour (UTC) of the following Monday */
export const DIGEST_HOUR_UTC = 7;
const DAY = 86_400_000;

/** Monday of the last full ISO week before `now`. */
export function lastFullWeek(now: Date): string {
  return dayKey(new Date(bucketStart(now, 'week').getTime() - 7 * DAY));
}

export type DigestFigures = Omit<EmailData['weekly_digest'], 'first_name'>;

export async function digestFigures(app: AppContext, weekStart: string): Promise<DigestFigures> {
  const start = new Date(`${weekStart}T00:00:00Z`);
  const end = new Date(start.getTime() + 7 * DAY);
  const week = resolvePeriod({ since: weekStart, until: end.toISOString(), interval: 'week' });
  // two weekly buckets: the week before ends where this one starts
  const around = resolvePeriod({ since: dayKey(new Date(start.getTime() - 7 * DAY)), until: end.toISOString(), interval: 'week' });
  const [volume, backlog, times, questions] = await Promise.all([
    volumeReport(app.db, week, 'none', {}),
    backlogReport(app.db, around, {}),
    timesReport(app.db, week, 'none', {}),
    unansweredQuestions(app.db, start, end),
  ]);
  const rate = times.overall.reopen_rate;
  return {
    week_start: weekStart,
    week_end: dayKey(new Date(end.getTime() - DAY)),
    created: volume.total,
    resolved: times.overall.resolution.count,
    backlog_start: backlog.values[0] ?? 0,
    backlog_end: backlog.values[1] ?? 0,
    first_response_p50: formatDuration(times.overall.first_response.p50),
    resolution_p50: formatDuration(times.overall.resolution.p50),
    reopen_rate: rate === null ? null : `${Math.round(rate * 1000) / 10}%`,
    top_questions: groupQuestions(questions, 5).map((g) => ({ question: g.question, count: g.count })),
  };
}

/** Send the digest for `weekStart` (default: the last full week) once. Returns the number of mails queued, or null when the week was already sent. */
export async function sendWeeklyDigest(app: AppContext, weekStart?: string, now = new Date()): Promise<number | null> {
  const week = weekStart ?? lastFullWeek(now);
  // the periodic run sends a week's digest from the following Monday at DIGEST_HOUR_UTC on
  if (!weekStart && now.getTime() < Date.parse(`${week}T00:00:00Z`) + 7 * DAY + DIGEST_HOUR_UTC * 3_600_000) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(week) || dayKey(bucketStart(new Date(`${week}T00:00:00Z`), 'week')) !== week) throw new Error(`week_start ${week} is not a Monday`);
  if (await app.db('report_digests').where({ week_start: week }).first()) return null;
  const figures = await digestFigures(app, week);
  return app.db.transaction(async (trx) => {
    const claimed = await trx.raw('INSERT INTO report_digests (week_start) VALUES (?) ON CONFLICT DO NOTHING RETURNING week_start', [week]);
    if (!claimed.rows.length) return null;
    const people = await recipientsFor(trx, 'weekly_digest');
    for (const p of people) await queueEmail(trx, app.jobs, { template: 'weekly_digest', to: p.email, data: { first_name: p.first_name, ...figures } });
    await trx('report_digests').where({ week_start: week }).update({ recipients: people.length });
    app.log.info({ week_start: week, recipients: people.length }, 'weekly digest queued');
    return people.length;
  });
}
