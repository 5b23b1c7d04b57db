/**
 * The workflow push as ONE built-in subscriber of the delivery engine (src/features/events/delivery.ts):
 * its destination is WORKFLOW_API_URL, its body is the ticket's CURRENT state (built at send time),
 * its signing secret is WORKFLOW_SIGNING_SECRET. Retries, the attempt lease, concurrency limits,
 * 410, dead letters: the engine's (docs/workflow.md). No WORKFLOW_API_URL → `skipped`.
 * The event id is the same on every attempt (Idempotency-Key / webhook-id), so the receiver can drop
 * a repeat of a request whose answer we never recorded. A dead letter is also an event
 * (`workflow.delivery_dead_lettered`).
 */
import type { AppContext } from '../../app/context.js';
import { QUEUES } from '../../jobs/queues.js';
import { sign } from '../../lib/webhooks.js';
import { deliveryHandler as engineHandler, type DeliveryRequest, type Destination } from '../events/delivery.js';
import { recordEvent, SYSTEM_ACTOR } from '../events/events.js';
import { buildTicketPayload } from './payload.js';
import { presentDelivery } from './workflow-outbox.js';

export { backoffMs, classify, type AttemptOutcome, type DeliveryRequest } from '../events/delivery.js';

export function buildRequest(app: AppContext, eventId: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): DeliveryRequest {
  const c = app.config;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'SmartSupport-Webhooks/1',
    'Idempotency-Key': eventId,
    'webhook-id': eventId,
    'webhook-timestamp': String(nowSeconds),
  };
  if (c.workflowApiKey) headers['X-API-Key'] = c.workflowApiKey;
  if (c.workflowSigningSecret) headers['webhook-signature'] = sign(c.workflowSigningSecret, eventId, nowSeconds, body);
  return { url: `${c.workflowApiUrl}/tickets/`, headers, body };
}

export const workflowDestination: Destination = {
  name: 'workflow',
  table: 'workflow_deliveries',
  queue: QUEUES.workflowDelivery,
  timeoutMs: (app) => app.config.workflowTimeoutMs,
  // the operator configured this URL (it is often on the internal network)
  allowPrivate: () => true,
  retry: (app) => ({ baseMs: app.config.workflowRetryBaseMs, maxMs: app.config.workflowRetryMaxMs, maxAttempts: app.config.workflowMaxAttempts, windowHours: app.config.workflowRetryHours }),
  async prepare(app, row) {
    if (!app.config.workflowApiUrl) return { finish: 'skipped', error: 'WORKFLOW_API_URL is not configured' };
    const payload = await buildTicketPayload(app.db, Number(row.ticket_id), { publicUrl: app.config.publicUrl, secret: app.jwt.secret });
    if (!payload) return { finish: 'failed', error: 'the ticket no longer exists' };
    return { request: buildRequest(app, row.event_id, JSON.stringify(payload)) };
  },
  async recorded(app, trx, row, info) {
    if (info.status !== 'dead') return;
    const t = await trx('tickets').where({ id: row.ticket_id }).first('ticket_number');
    await recordEvent(trx, {
      type: 'workflow.delivery_dead_lettered',
      actor: SYSTEM_ACTOR,
      object: { type: 'workflow_delivery', id: String(row.id) },
      ticket_id: Number(row.ticket_id),
      staff_only: true,
      data: { object: presentDelivery({ ...row, ticket_number: t?.ticket_number }), ticket_number: t?.ticket_number ?? null },
    });
  },
};

export function deliveryHandler(app: AppContext) {
  return engineHandler(app, workflowDestination);
}
