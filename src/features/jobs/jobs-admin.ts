/**
 * Admin view of the queues: counts per queue (queued, active, failed, dead-lettered), recent
 * failures, and retry. Reads pg-boss's own tables (schema `pgboss`), read-only except for retry.
 *
 * Retry:
 * - a `failed` job in a work queue → pg-boss `retry` (one more try);
 * - a job in a dead-letter queue (`<queue>.dead`) → its record is revived (notification back to
 *   `queued`, delivery back to `pending`) and a fresh job is sent to the work queue, in one
 *   transaction that also removes the dead-letter job.
 */
import type { BeforeCommit } from '../../http/idempotency.js';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { conflict, notFound } from '../../http/errors.js';
import { BOSS_SCHEMA } from '../../jobs/boss.js';
import { deadLetterOf, QUEUES, type QueueName } from '../../jobs/queues.js';

export interface QueueCounts {
  name: string;
  queued: number;
  active: number;
  failed: number;
  dead_lettered: number;
}

export interface FailedJob {
  id: string;
  queue: string;
  state: 'failed' | 'dead_lettered';
  error: string | null;
  data: Record<string, unknown>;
  retry_count: number;
  created_on: string;
  completed_on: string | null;
}

const WORK_QUEUES = Object.values(QUEUES) as QueueName[];
const DEAD_QUEUES = WORK_QUEUES.map(deadLetterOf);
const sourceOf = (dead: string) => WORK_QUEUES.find((q) => deadLetterOf(q) === dead);

const errorText = (output: unknown): string | null => {
  if (!output || typeof output !== 'object') return null;
  const o = output as { message?: unknown; value?: unknown };
  const m = typeof o.message === 'string' ? o.message : typeof o.value === 'string' ? o.value : null;
  return m ? m.slice(0, 500) : null; // never the stack
};

export async function queueOverview(db: Knex, recent = 20): Promise<{ queues: QueueCounts[]; recent_failed: FailedJob[] }> {
  const rows = (await db.raw(
    `SELECT name, state, count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE name = ANY(?) GROUP BY name, state`,
    [[...WORK_QUEUES, ...DEAD_QUEUES]],
  )).rows as { name: string; state: string; n: number }[];
  const count = (name: string, states: string[]) => rows.filter((r) => r.name === name && states.includes(r.state)).reduce((s, r) => s + r.n, 0);
  const queues = WORK_QUEUES.map((q) => ({
    name: q,
    queued: count(q, ['created', 'retry']),
    active: count(q, ['active']),
    failed: count(q, ['failed']),
    dead_lettered: count(deadLetterOf(q), ['created', 'retry', 'active']),
  }));
  const failed = (await db.raw(
    `SELECT id, name, state, output, data, retry_count, created_on, completed_on FROM ${BOSS_SCHEMA}.job
      WHERE (name = ANY(?) AND state = 'failed') OR (name = ANY(?) AND state IN ('created', 'retry'))
      ORDER BY created_on DESC LIMIT ?`,
    [WORK_QUEUES, DEAD_QUEUES, recent],
  )).rows as { id: string; name: string; state: string; output: unknown; data: Record<string, unknown>; retry_count: number; created_on: Date; completed_on: Date | null }[];
  return {
    queues,
    recent_failed: failed.map((j) => ({
      id: j.id,
      queue: j.name,
      state: j.state === 'failed' ? 'failed' : 'dead_lettered',
      error: errorText(j.output),
      data: j.data ?? {},
      retry_count: j.retry_count,
      created_on: new Date(j.created_on).toISOString(),
      completed_on: j.completed_on ? new Date(j.completed_on).toISOString() : null,
    })),
  };
}

/** Put a record back in play before its job is sent again. */
async function revive(trx: Knex.Transaction, queue: QueueName, data: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (queue === QUEUES.email && typeof data.notificationId === 'number') {
    await trx('notifications').where({ id: data.notificationId }).whereNot({ status: 'sent' }).update({ status: 'queued' });
    return { notificationId: data.notificationId };
  }
  if (queue === QUEUES.workflowDelivery && typeof data.deliveryId === 'number') {
    const row = await trx('workflow_deliveries').where({ id: data.deliveryId }).forUpdate().first('attempts', 'status');
    if (!row) throw conflict('record_gone', 'The delivery of this job no longer exists.');
    if (['dead', 'failed'].includes(row.status)) await trx('workflow_deliveries').where({ id: data.deliveryId }).update({ status: 'pending', next_attempt_at: null });
    return { deliveryId: data.deliveryId, attempt: row.attempts };
  }
  if (queue === QUEUES.webhookDelivery && typeof data.deliveryId === 'number') {
    const row = await trx('webhook_deliveries').where({ id: data.deliveryId }).forUpdate().first('attempts', 'status');
    if (!row) throw conflict('record_gone', 'The delivery of this job no longer exists.');
    if (['dead', 'failed'].includes(row.status)) await trx('webhook_deliveries').where({ id: data.deliveryId }).update({ status: 'pending', next_attempt_at: null, lease_until: null });
    return { deliveryId: data.deliveryId, attempt: row.attempts };
  }
  return data;
}

export interface RetriedJob {
  id: string;
  queue: string;
  state: 'queued';
}

export async function retryJob(app: AppContext, queue: string, id: string, beforeCommit?: BeforeCommit<RetriedJob>): Promise<RetriedJob> {
  const isWork = (WORK_QUEUES as string[]).includes(queue);
  const source = sourceOf(queue);
  if (!isWork && !source) throw notFound('queue', 'queue_not_found');
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('job', 'job_not_found');
  return app.db.transaction(async (trx) => {
    const job = (await trx.raw(`SELECT id, state, data FROM ${BOSS_SCHEMA}.job WHERE name = ? AND id = ? FOR UPDATE`, [queue, id])).rows[0] as { id: string; state: string; data: Record<string, unknown> } | undefined;
    if (!job) throw notFound('job', 'job_not_found');
    if (isWork) {
      if (job.state !== 'failed') throw conflict('job_not_failed', 'Only a failed job can be retried.', { current_state: job.state });
      await revive(trx, queue as QueueName, job.data ?? {});
      await trx.raw(`UPDATE ${BOSS_SCHEMA}.job SET state = 'retry', retry_limit = retry_limit + 1, start_after = now() WHERE name = ? AND id = ?`, [queue, id]);
      const out: RetriedJob = { id, queue, state: 'queued' };
      await beforeCommit?.(trx, out); // an Idempotency-Key's answer commits with the retry
      return out;
    }
    if (!['created', 'retry'].includes(job.state)) throw conflict('job_not_failed', 'This dead-lettered job was already handled.', { current_state: job.state });
    const data = await revive(trx, source!, job.data ?? {});
    const newId = await app.jobs.enqueue(trx, source!, data as never);
    await trx.raw(`DELETE FROM ${BOSS_SCHEMA}.job WHERE name = ? AND id = ?`, [queue, id]);
    const out: RetriedJob = { id: newId!, queue: source!, state: 'queued' };
    await beforeCommit?.(trx, out);
    return out;
  });
}
