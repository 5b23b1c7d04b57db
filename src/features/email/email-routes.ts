/**
 * The email channel as a feature: the inbound job, the IMAP poll schedule (once per cluster), the
 * SMTP receiver (started by `serve` when INBOUND_SMTP_PORT is set) and the admin API over received
 * mail (list, show, release from quarantine / replay a failed one).
 */
import type { Knex } from 'knex';
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import { conflict, notFound, unprocessable } from '../../http/errors.js';
import { paginate } from '../../http/pagination.js';
import { QUEUES } from '../../jobs/queues.js';
import { actorOf } from '../events/events.js';
import { emitEmailEvent, inboundSnapshot, presentInbound } from './events-bridge.js';
import { imapSession } from './imap-poller.js';
import { inboundHandler } from './process.js';
import { startSmtpReceiver } from './smtp-receiver.js';

export { presentInbound };

const LIST_COLUMNS = [
  'i.id', 'i.source', 'i.message_id', 'i.envelope_from', 'i.from_address', 'i.subject', 'i.size', 'i.status', 'i.outcome', 'i.reason',
  't.ticket_number', 'i.received_at', 'i.processed_at',
];

const inboundQuery = (app: AppContext, db: Knex | Knex.Transaction = app.db) => db({ i: 'inbound_emails' }).leftJoin({ t: 'tickets' }, 't.id', 'i.ticket_id');

function inboundId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw notFound('inbound email');
  return Number(raw);
}

function routes(app: AppContext): RouteTable {
  return {
    async listInboundEmails(ctx) {
      const q = ctx.state.input.query as { status?: string; limit?: number; cursor?: string };
      const qb = inboundQuery(app).select(LIST_COLUMNS);
      if (q.status) qb.where('i.status', q.status);
      const page = await paginate(qb, { limit: q.limit, cursor: q.cursor, keys: [{ column: 'i.id', prop: 'id' }] });
      ctx.body = { data: page.data.map(presentInbound), next_cursor: page.next_cursor };
    },
    async getInboundEmail(ctx) {
      const id = inboundId(String(ctx.state.input.params.id));
      const row = await inboundQuery(app).select([...LIST_COLUMNS, 'i.body_text']).where('i.id', id).first();
      if (!row) throw notFound('inbound email');
      ctx.body = presentInbound(row);
    },
    async releaseInboundEmail(ctx) {
      const id = inboundId(String(ctx.state.input.params.id));
      const body = (ctx.state.input.body ?? {}) as { employee_id?: number };
      const p = ctx.state.principal!;
      const a = answerInTransaction(ctx, (body: unknown): Answer => ({ status: 200, body }));
      const answer = await app.db.transaction(async (trx) => {
        const row = await trx('inbound_emails').where({ id }).forUpdate().first('id', 'status');
        if (!row) throw notFound('inbound email');
        if (row.status !== 'quarantined' && row.status !== 'failed') {
          throw conflict('not_releasable', 'Only a quarantined or failed message can be released.', { current_status: row.status });
        }
        if (body.employee_id !== undefined && !(await trx('employees').where({ id: body.employee_id }).first('id'))) {
          throw unprocessable('unknown_employee', 'No such employee.', [{ field: 'employee_id', message: 'does not exist' }]);
        }
        await trx('inbound_emails')
          .where({ id })
          .update({ status: 'received', release_employee_id: body.employee_id ?? null, released_by: p.employeeId, attempts: 0 });
        await app.jobs.enqueue(trx, QUEUES.emailInbound, { inboundId: id });
        await emitEmailEvent(trx, { type: 'email.released', actor: actorOf(p), object: { type: 'inbound_email', id: String(id) }, staff_only: true, data: { object: await inboundSnapshot(trx, id), employee_id: body.employee_id ?? null } });
        // read in the transaction: an Idempotency-Key's answer commits with the release
        const out: unknown = presentInbound(await inboundQuery(app, trx).select(LIST_COLUMNS).where('i.id', id).first());
        await a.beforeCommit?.(trx, out);
        return out;
      });
      a.send(answer);
    },
  };
}

export const emailFeature: Feature = {
  name: 'email',
  routes,
  workers: (app) => [
    { queue: QUEUES.emailInbound, handler: inboundHandler(app) as never },
    { queue: QUEUES.imapPoll, handler: (async () => void (await imapSession(app))) as never },
  ],
  // one IMAP session per minute for the whole cluster (one job per slot; the queue is stately: never two at once)
  schedules: (app) => (app.config.inbound.imapUrl ? [{ queue: QUEUES.imapPoll, everySeconds: 60 }] : []),
  services: async (app) => (app.config.inbound.smtpPort !== undefined ? [await startSmtpReceiver(app)] : []),
};
