import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import { QUEUES } from '../../jobs/queues.js';
import { queueOverview, retryJob } from './jobs-admin.js';
import { runMaintenance } from './maintenance.js';

function routes(app: AppContext): RouteTable {
  return {
    async listJobQueues(ctx) {
      ctx.body = await queueOverview(app.db);
    },
    async retryJob(ctx) {
      const p = ctx.state.input.params as { queue: string; id: string };
      const a = answerInTransaction(ctx, (body: unknown): Answer => ({ status: 202, body }));
      a.send(await retryJob(app, p.queue, p.id, a.beforeCommit));
    },
  };
}

export const jobsFeature: Feature = {
  name: 'jobs',
  routes,
  workers: (app) => [{ queue: QUEUES.maintenance, handler: async (data) => void (await runMaintenance(app, (data as { task?: string }).task)) }],
  // every 15 minutes (at :00, :15, :30, :45 UTC, or at a worker's start if that slot has not run)
  schedules: [{ queue: QUEUES.maintenance, everySeconds: 900 }],
};
