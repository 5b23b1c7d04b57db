/**
 * Queue a push of a ticket to the workflow system, in the caller's transaction: a delivery row
 * (stable event id = Idempotency-Key) plus a `workflow.deliver` job pointing at it; and how a
 * delivery row is shown.
 */
import type { Knex } from 'knex';
import type { Jobs } from '../../jobs/boss.js';
import { QUEUES } from '../../jobs/queues.js';

export type DeliveryReason = 'approved' | 'finalized' | 'redelivery';

/** The new `workflow_deliveries` row. */
export interface QueuedDelivery {
  id: number;
  event_id: string;
  [column: string]: unknown;
}

export async function queueWorkflowDelivery(trx: Knex.Transaction, jobs: Jobs, ticketId: number, reason: DeliveryReason): Promise<QueuedDelivery> {
  const [row] = await trx('workflow_deliveries').insert({ ticket_id: ticketId, reason }).returning('*');
  await jobs.enqueue(trx, QUEUES.workflowDelivery, { deliveryId: row.id });
  return row as QueuedDelivery;
}

const isoOrNull = (v: unknown) => (v ? new Date(v as Date).toISOString() : null);

/** A delivery row as the API shows it (WorkflowDelivery). */
export function presentDelivery(r: Record<string, unknown>) {
  return {
    id: Number(r.id),
    ticket_id: Number(r.ticket_id),
    ...(r.ticket_number ? { ticket_number: r.ticket_number as string } : {}),
    event_id: r.event_id as string,
    reason: r.reason as string,
    status: r.status as string,
    attempts: r.attempts as number,
    last_status_code: (r.last_status_code as number | null) ?? null,
    last_error: (r.last_error as string | null) ?? null,
    next_attempt_at: isoOrNull(r.next_attempt_at),
    created_at: new Date(r.created_at as Date).toISOString(),
    delivered_at: isoOrNull(r.delivered_at),
  };
}
