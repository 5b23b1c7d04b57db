/**
 * Queue a push of a ticket to the workflow system, in the caller's transaction: a delivery row
 * (stable event id = Idempotency-Key) plus a `workflow.deliver` job pointing at it.
 */
import type { Knex } from 'knex';
import type { Jobs } from '../../jobs/boss.js';
import { QUEUES } from '../../jobs/queues.js';

export type DeliveryReason = 'approved' | 'finalized' | 'redelivery';

export interface QueuedDelivery {
  id: number;
  event_id: string;
}

export async function queueWorkflowDelivery(trx: Knex.Transaction, jobs: Jobs, ticketId: number, reason: DeliveryReason): Promise<QueuedDelivery> {
  const [row] = await trx('workflow_deliveries').insert({ ticket_id: ticketId, reason }).returning(['id', 'event_id']);
  await jobs.enqueue(trx, QUEUES.workflowDelivery, { deliveryId: row.id });
  return row as QueuedDelivery;
}
