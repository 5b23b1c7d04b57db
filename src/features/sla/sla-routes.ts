/**
 * Service levels over HTTP: calendars, policies and the SLA report; the `sla.timer` and
 * `sla.recompute` workers.
 */
import type { AppContext } from '../../app/context.js';
import type { ApiContext, Feature } from '../../app/feature.js';
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import { QUEUES } from '../../jobs/queues.js';
import { slaSettings } from '../tickets/ticket-model.js';
import { SlaAdmin } from './sla-admin.js';
import { SlaEngine } from './sla-engine.js';

const input = (ctx: ApiContext) => ctx.state.input;

export function slaRoutes(app: AppContext) {
  const admin = new SlaAdmin(app);
  // creates record their Idempotency-Key answer inside the transaction (src/http/idempotency.ts)
  const created = (ctx: ApiContext, base: string) => answerInTransaction(ctx, (body: { id: number }): Answer => ({ status: 201, headers: { location: `${base}${body.id}/` }, body }));
  return {
    listSlaCalendars: async (ctx: ApiContext) => void (ctx.body = await admin.listCalendars(input(ctx).query)),
    getSlaCalendar: async (ctx: ApiContext) => void (ctx.body = await admin.getCalendar(input(ctx).params.id)),
    createSlaCalendar: async (ctx: ApiContext) => {
      const a = created(ctx, '/api/sla/calendars/');
      a.send(await admin.createCalendar(input(ctx).body, a.beforeCommit));
    },
    updateSlaCalendar: async (ctx: ApiContext) => void (ctx.body = await admin.updateCalendar(input(ctx).params.id, input(ctx).body)),
    deleteSlaCalendar: async (ctx: ApiContext) => {
      await admin.deleteCalendar(input(ctx).params.id);
      ctx.status = 204;
    },
    listSlaPolicies: async (ctx: ApiContext) => void (ctx.body = await admin.listPolicies(input(ctx).query)),
    getSlaPolicy: async (ctx: ApiContext) => void (ctx.body = await admin.getPolicy(input(ctx).params.id)),
    createSlaPolicy: async (ctx: ApiContext) => {
      const a = created(ctx, '/api/sla/policies/');
      a.send(await admin.createPolicy(input(ctx).body, a.beforeCommit));
    },
    updateSlaPolicy: async (ctx: ApiContext) => void (ctx.body = await admin.updatePolicy(input(ctx).params.id, input(ctx).body)),
    deleteSlaPolicy: async (ctx: ApiContext) => {
      await admin.deletePolicy(input(ctx).params.id);
      ctx.status = 204;
    },
    getSlaReport: async (ctx: ApiContext) => void (ctx.body = await admin.report(input(ctx).query)),
  };
}

export const slaFeature: Feature = {
  name: 'sla',
  routes: (app) => {
    slaSettings.warningFraction = app.config.slaWarningPercent / 100;
    return slaRoutes(app);
  },
  workers: (app) => {
    const engine = new SlaEngine(app);
    return [
      { queue: QUEUES.slaTimer, handler: (async (job: Parameters<SlaEngine['fire']>[0]) => void (await engine.fire(job))) as never, batchSize: 5 },
      { queue: QUEUES.slaRecompute, handler: (async (job: Parameters<SlaEngine['recompute']>[0]) => void (await engine.recompute(job))) as never },
    ];
  },
};
