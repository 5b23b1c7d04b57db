import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import { conflict, notFound } from '../../http/errors.js';
import { paginate } from '../../http/pagination.js';
import { parseIdRef } from '../../lib/ids.js';
import { QUEUES } from '../../jobs/queues.js';
import { deliveryHandler } from './delivery-worker.js';
import { presentDelivery, queueWorkflowDelivery } from './workflow-outbox.js';

const COLUMNS = ['d.id', 'd.ticket_id', 't.ticket_number', 'd.event_id', 'd.reason', 'd.status', 'd.attempts', 'd.last_status_code', 'd.last_error', 'd.next_attempt_at', 'd.created_at', 'd.delivered_at'];

const deliveries = (app: AppContext) => app.db('workflow_deliveries as d').leftJoin('tickets as t', 't.id', 'd.ticket_id').select(COLUMNS);

function routes(app: AppContext): RouteTable {
  return {
    async listWorkflowDeliveries(ctx) {
      const q = ctx.state.input.query as { ticket?: string; status?: string; limit?: number; cursor?: string };
      const qb = deliveries(app);
      if (q.ticket !== undefined) {
        const ref = parseIdRef(String(q.ticket), 'TX');
        if (!ref) {
          ctx.body = { data: [], next_cursor: null };
          return;
        }
        if (ref.by === 'id') qb.where('d.ticket_id', ref.value);
        else qb.where('t.ticket_number', ref.value);
      }
      if (q.status) qb.where('d.status', q.status);
      const page = await paginate(qb, { limit: q.limit, cursor: q.cursor, keys: [{ column: 'd.id', prop: 'id' }] });
      ctx.body = { data: page.data.map(presentDelivery), next_cursor: page.next_cursor };
    },

    /**
     * Redelivery is a NEW event (reason `redelivery`, a fresh event_id) carrying the ticket's current
     * state: a receiver that de-duplicates by Idempotency-Key would drop a replay of the old id.
     */
    async redeliverWorkflowDelivery(ctx) {
      const id = Number((ctx.state.input.params as { id: number | string }).id);
      const a = answerInTransaction(ctx, (body: unknown): Answer => ({ status: 202, body }));
      const body = await app.db.transaction(async (trx) => {
        const src = await trx('workflow_deliveries').where({ id }).forUpdate().first();
        if (!src) throw notFound('delivery');
        if (src.status === 'pending') throw conflict('delivery_pending', 'This delivery is still being attempted; wait for it to finish.', { current_status: src.status });
        const ticket = await trx('tickets').where({ id: src.ticket_id }).first('ticket_number');
        if (!ticket) throw conflict('ticket_gone', 'The ticket of this delivery no longer exists.');
        const out: unknown = presentDelivery({ ...(await queueWorkflowDelivery(trx, app.jobs, Number(src.ticket_id), 'redelivery')), ticket_number: ticket.ticket_number });
        await a.beforeCommit?.(trx, out); // an Idempotency-Key's answer commits with the redelivery
        return out;
      });
      a.send(body);
    },
  };
}

export const workflowFeature: Feature = {
  name: 'workflow',
  routes,
  workers: (app) => [{ queue: QUEUES.workflowDelivery, handler: deliveryHandler(app) as never, concurrency: app.config.deliveryConcurrency }],
};
