/**
 * Reports (issue 20): ticket analytics for staff, chat analytics for System Admins, and the weekly
 * digest job. Handlers return data series; the CLI draws them (src/cli/output/charts.ts).
 */
import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import { QUEUES } from '../../jobs/queues.js';
import { chatReport } from './chat-reports.js';
import { DIGEST_CHECK_SECONDS, sendWeeklyDigest } from './digest.js';
import { resolvePeriod } from './period.js';
import { foldTicketCounts } from './ticket-counts.js';
import { refreshTicketTimesIfLarge, TICKET_TIMES_REFRESH_SECONDS } from './ticket-times.js';
import { backlogReport, timesReport, volumeReport, workloadReport, type GroupBy, type TicketReportFilters } from './ticket-reports.js';

/** How often the ticket count deltas are folded (src/features/reports/ticket-counts.ts). */
export const FOLD_TICKET_COUNTS_SECONDS = 60;

type Query = Record<string, string | undefined>;

const filters = (q: Query): TicketReportFilters => ({ category: q.category, department: q.department, priority: q.priority, assigned_to: q.assigned_to });

function routes(app: AppContext): RouteTable {
  const query = (ctx: { state: { input: { query?: unknown } } }) => (ctx.state.input.query ?? {}) as Query;
  return {
    async getTicketVolumeReport(ctx) {
      const q = query(ctx);
      ctx.body = await volumeReport(app.db, resolvePeriod(q), (q.by ?? 'none') as GroupBy, filters(q));
    },
    async getTicketBacklogReport(ctx) {
      const q = query(ctx);
      ctx.body = await backlogReport(app.db, resolvePeriod(q), filters(q));
    },
    async getTicketTimesReport(ctx) {
      const q = query(ctx);
      ctx.body = await timesReport(app.db, resolvePeriod(q), (q.by ?? 'none') as GroupBy, filters(q));
    },
    async getTicketWorkloadReport(ctx) {
      const q = query(ctx);
      ctx.body = await workloadReport(app.db, resolvePeriod(q), filters(q));
    },
    async getChatReport(ctx) {
      ctx.body = await chatReport(app.db, resolvePeriod(query(ctx)));
    },
  };
}

export const reportsFeature: Feature = {
  name: 'reports',
  routes,
  workers: (app) => [
    {
      queue: QUEUES.weeklyDigest,
      handler: async (data) => {
        await sendWeeklyDigest(app, (data as { week_start?: string }).week_start);
      },
    },
    {
      queue: QUEUES.foldTicketCounts,
      handler: async () => {
        const r = await foldTicketCounts(app.db);
        if (r.deltas) app.log.debug({ ...r }, 'ticket counts folded');
      },
    },
    {
      queue: QUEUES.ticketTimes,
      handler: async () => {
        const t = await refreshTicketTimesIfLarge(app.db, app.config.ticketReportLiveMax);
        if (t) app.log.debug({ groups: t.times.length, as_of: t.as_of }, 'ticket report times refreshed');
      },
    },
  ],
  schedules: [
    { queue: QUEUES.weeklyDigest, everySeconds: DIGEST_CHECK_SECONDS },
    { queue: QUEUES.foldTicketCounts, everySeconds: FOLD_TICKET_COUNTS_SECONDS },
    { queue: QUEUES.ticketTimes, everySeconds: TICKET_TIMES_REFRESH_SECONDS },
  ],
};
