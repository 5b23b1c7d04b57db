/**
 * Periodic cleanup (`maintenance.run`, cron). Each task is `{name, run(app)}`; add one with a
 * single `registerMaintenanceTask({...})` call (or an entry in MAINTENANCE_TASKS). A job with
 * `{task}` runs only that task; without it, all of them — one failing task does not stop the others.
 * pg-boss archives and deletes its own job history (src/jobs/boss.ts); this covers our tables/files.
 */
import type { AppContext } from '../../app/context.js';
import { purgeExpired as purgeExpiredSessions } from '../auth/auth-store.js';
import { sweepStaleUploads } from '../files/sweep.js';
import { BOSS_SCHEMA } from '../../jobs/boss.js';
import { deadLetterOf, QUEUES } from '../../jobs/queues.js';
import { purgeExpired as purgeExpiredIdempotencyKeys } from '../../http/idempotency.js';
import { analyzeStale } from '../../db/migrate.js';

export interface MaintenanceTask {
  name: string;
  /** returns how many things it removed (for the log) */
  run(app: AppContext): Promise<number>;
}

export const NOTIFICATION_DATA_DAYS = 30;
/** A repeat of a workflow callback older than this is applied again (senders retry within hours). */
export const WORKFLOW_CALLBACK_DAYS = 30;

export const MAINTENANCE_TASKS: MaintenanceTask[] = [
  {
    // a worker that died during an email's last try leaves the row `queued` while pg-boss
    // dead-letters the job on expiry: record those as failed
    name: 'dead-lettered-emails',
    run: async (app) =>
      app.db('notifications')
        .where({ status: 'queued' })
        .whereRaw(`id IN (SELECT (data->>'notificationId')::bigint FROM ${BOSS_SCHEMA}.job WHERE name = ? AND state IN ('created', 'retry'))`, [deadLetterOf(QUEUES.email)])
        .update({ status: 'failed', last_error: app.db.raw(`coalesce(last_error, 'the job was lost and its retries are exhausted')`) }),
  },
  // abandoned upload temp dirs and half-written media files, as the start-up sweep does
  { name: 'tmp-files', run: (app) => sweepStaleUploads(app) },
  {
    // expired or revoked refresh-token families and used/expired password-reset tokens
    name: 'auth-tokens',
    run: async (app) => {
      const r = await purgeExpiredSessions(app.db);
      return r.sessions + r.reset_tokens;
    },
  },
  // stored POST responses older than their 24 h replay window
  { name: 'idempotency-keys', run: (app) => purgeExpiredIdempotencyKeys(app.db) },
  // applied workflow callbacks, kept so a repeat gets the first result
  {
    name: 'workflow-callbacks',
    run: (app) => app.db('workflow_callbacks').where('created_at', '<', app.db.raw(`now() - make_interval(days => ?)`, [WORKFLOW_CALLBACK_DAYS])).delete(),
  },
  // the event log beyond EVENT_RETENTION_DAYS (docs/events.md)
  {
    name: 'events',
    run: (app) => app.db('events').where('created_at', '<', app.db.raw(`now() - make_interval(days => ?)`, [app.config.eventRetentionDays])).delete(),
  },
  {
    // the log row stays (recipient, subject, status); the template data (names, comments) goes
    name: 'notification-data',
    run: async (app) =>
      app.db('notifications')
        .whereIn('status', ['sent', 'failed'])
        .where('created_at', '<', app.db.raw(`now() - interval '${NOTIFICATION_DATA_DAYS} days'`))
        .whereRaw(`data <> '{}'::jsonb`)
        .update({ data: '{}' }),
  },
  {
    // planner statistics without relying on autovacuum (src/db/migrate.ts analyzeStale)
    name: 'analyze',
    run: async (app) => (await analyzeStale(app.db)).length,
  },
];

export function registerMaintenanceTask(task: MaintenanceTask): void {
  if (MAINTENANCE_TASKS.some((t) => t.name === task.name)) throw new Error(`maintenance task "${task.name}" is already registered`);
  MAINTENANCE_TASKS.push(task);
}

export async function runMaintenance(app: AppContext, only?: string): Promise<Record<string, number | string>> {
  const results: Record<string, number | string> = {};
  for (const task of MAINTENANCE_TASKS) {
    if (only && task.name !== only) continue;
    try {
      results[task.name] = await task.run(app);
    } catch (err) {
      results[task.name] = `error: ${(err as Error).message}`;
      app.log.warn({ task: task.name, err: (err as Error).message }, 'maintenance task failed');
    }
  }
  app.log.info({ results }, 'maintenance done');
  return results;
}
