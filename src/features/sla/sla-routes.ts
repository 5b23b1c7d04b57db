/**
 * Service levels over HTTP: calendars, policies and the SLA report; the `sla.timer` and
 * `sla.recompute` workers.
 */
import type { AppContext } from '../../app/context.js';
import type { ApiContext, Feature } from '../../app/feature.js';
import { QUEUES } from '../../jobs/queues.js';
import { slaSettings } from '../tickets/ticket-model.js';
import { SlaAdmin } from './sla-admin.js';
import { SlaEngine } from './sla-engine.js';

const input = (ctx: ApiContext) => ctx.state.input;

export function slaRoutes(app: AppContext) {
  const admin = new SlaAdmin(app);
  const created = (ctx: ApiContext, body: { id: number }, base: string) => {
    ctx.status = 201;
    ctx.set('Location', `${base}${body.id}/`);
    ctx.body = body;
  };
  return {
    listSlaCalendars: async (ctx: ApiContext) => void (ctx.body = await admin.listCalendars(input(ctx).query)),
    getSlaCalendar: async (ctx: ApiContext) => void (ctx.body = await admin.getCalendar(input(ctx).params.id)),
    createSlaCalendar: async (ctx: ApiContext) => created(ctx, await admin.createCalendar(input(ctx).body), '/api/sla/calendars/'),
    updateSlaCalendar: async (ctx: ApiContext) => void (ctx.body = await admin.updateCalendar(input(ctx).params.id, input(ctx).body)),
    deleteSlaCalendar: async (ctx: ApiContext) => {
      await admin.deleteCalendar(input(ctx).params.id);
      ctx.status = 204;
    },
    listSlaPolicies: async (ctx: ApiContext) => void (ctx.body = await admin.listPolicies(input(ctx).query)),
    getSlaPolicy: async (ctx: ApiContext) => void (ctx.body = await admin.getPolicy(input(ctx).params.id)),
    createSlaPolicy: async (ctx: ApiContext) => created(ctx, await admin.createPolicy(input(ctx).body), '/api/sla/policies/'),
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
