/**
 * HTTP handlers for tickets, their transitions, comments, history, the report and the inbound
 * workflow callback. Each: read validated input → service → present (with ETag where single).
 */
import type { AppContext } from '../../app/context.js';
import type { ApiContext, Feature } from '../../app/feature.js';
import type { Principal } from '../../http/auth.js';
import { unauthorized } from '../../http/errors.js';
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import { verify } from '../../lib/webhooks.js';
import { etagOf, type TicketRow } from './ticket-model.js';
import { asFileList, type UploadedFile } from '../files/attachments-service.js';
import { TicketService, type Single } from './ticket-service.js';
import type { TicketAction } from './ticket-states.js';

const principal = (ctx: ApiContext): Principal => ctx.state.principal!;
const ifMatch = (ctx: ApiContext): string | undefined => ctx.get('If-Match') || undefined;

function single(ctx: ApiContext, r: { row: TicketRow; body: unknown }, status = 200): void {
  ctx.status = status;
  ctx.set('ETag', etagOf(r.row));
  ctx.body = r.body;
}

/** A single ticket's answer (ETag from its version); writes record it with their transaction. */
const singleAnswer = (status: number, location?: boolean) => (r: Single): Answer => ({
  status,
  headers: { etag: etagOf(r.row), ...(location ? { location: `/api/tickets/${r.row.ticket_number}/` } : {}) },
  body: r.body,
});

function uploadedFiles(ctx: ApiContext): UploadedFile[] {
  return asFileList(ctx.request.files?.['files[]'] ?? ctx.request.files?.files);
}

export function ticketRoutes(app: AppContext) {
  const svc = new TicketService(app);
  // every POST here records its Idempotency-Key answer inside the service's transaction
  const move = (action: Exclude<TicketAction, 'finalize' | 'workflow'>) => async (ctx: ApiContext) => {
    const a = answerInTransaction(ctx, singleAnswer(200));
    a.send(await svc.transition(principal(ctx), ctx.state.input.params.id, action, ctx.state.input.body ?? {}, ifMatch(ctx), a.beforeCommit));
  };
  return {
    listTickets: async (ctx: ApiContext) => void (ctx.body = await svc.list(principal(ctx), ctx.state.input.query)),
    listNewTickets: async (ctx: ApiContext) => void (ctx.body = await svc.list(principal(ctx), ctx.state.input.query, { status: ['New'] })),
    listOpenTickets: async (ctx: ApiContext) => void (ctx.body = await svc.list(principal(ctx), ctx.state.input.query, { status: ['Open'] })),
    listMyTickets: async (ctx: ApiContext) => void (ctx.body = await svc.list(principal(ctx), ctx.state.input.query, { mine: principal(ctx).employeeId ?? -1 })),
    createTicket: async (ctx: ApiContext) => {
      const a = answerInTransaction(ctx, singleAnswer(201, true));
      a.send(await svc.create(principal(ctx), ctx.state.input.body ?? {}, uploadedFiles(ctx), a.beforeCommit));
    },
    getTicket: async (ctx: ApiContext) => single(ctx, await svc.get(principal(ctx), ctx.state.input.params.id)),
    replaceTicket: async (ctx: ApiContext) => single(ctx, await svc.update(principal(ctx), ctx.state.input.params.id, ctx.state.input.body, ifMatch(ctx), true)),
    updateTicket: async (ctx: ApiContext) => single(ctx, await svc.update(principal(ctx), ctx.state.input.params.id, ctx.state.input.body, ifMatch(ctx), false)),
    deleteTicket: async (ctx: ApiContext) => {
      await svc.remove(principal(ctx), ctx.state.input.params.id, ifMatch(ctx));
      ctx.status = 204;
    },
    listTicketComments: async (ctx: ApiContext) => void (ctx.body = await svc.comments(principal(ctx), ctx.state.input.params.id, ctx.state.input.query)),
    createTicketComment: async (ctx: ApiContext) => {
      const a = answerInTransaction(ctx, (c: unknown): Answer => ({ status: 201, body: c }));
      a.send(await svc.comment(principal(ctx), ctx.state.input.params.id, ctx.state.input.body, a.beforeCommit));
    },
    listTicketHistory: async (ctx: ApiContext) => void (ctx.body = await svc.history(principal(ctx), ctx.state.input.params.id, ctx.state.input.query)),
    approveTicket: move('approve'),
    rejectTicket: move('reject'),
    claimTicket: move('claim'),
    updateTicketStatus: move('update_status'),
    withdrawTicket: move('withdraw'),
    closeTicket: move('close'),
    finalizeTicket: async (ctx: ApiContext) => {
      const a = answerInTransaction(ctx, (d: unknown): Answer => ({ status: 202, body: d }));
      a.send(await svc.finalize(principal(ctx), ctx.state.input.params.id, ifMatch(ctx), a.beforeCommit));
    },
    getTicketReport: async (ctx: ApiContext) => void (ctx.body = await svc.report()),
    receiveWorkflowStatus: async (ctx: ApiContext) => {
      const p = principal(ctx);
      const secret = app.config.workflowSigningSecret;
      const webhookId = ctx.get('webhook-id') || undefined;
      if (secret) {
        // the exact bytes received (koa-body includeUnparsed, enabled by `x-raw-body: true` in the spec)
        const raw = (ctx.request as unknown as { rawBody?: string }).rawBody ?? '';
        const v = verify(secret, { id: webhookId, timestamp: ctx.get('webhook-timestamp') || undefined, signature: ctx.get('webhook-signature') || undefined }, raw);
        if (!v.ok) {
          throw unauthorized(
            v.reason === 'stale_timestamp' ? 'The webhook timestamp is outside the 5-minute tolerance.' : v.reason === 'missing_headers' ? 'The webhook signature headers are missing.' : 'The webhook signature is not valid.',
            v.reason === 'stale_timestamp' ? 'stale_timestamp' : 'invalid_signature',
          );
        }
      }
      const body = ctx.state.input.body;
      const a = answerInTransaction(ctx, (r: { result: unknown }): Answer => ({ status: 200, body: r.result }));
      const r = await svc.workflowStatus(p.id, body, webhookId ?? body.event_id, a.beforeCommit);
      if (r.replayed) ctx.set('Idempotent-Replayed', 'true');
      a.send(r);
    },
  };
}

export const ticketsFeature: Feature = {
  name: 'tickets',
  routes: ticketRoutes,
};
