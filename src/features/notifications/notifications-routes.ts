import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import type { Principal } from '../../http/auth.js';
import { unauthorized } from '../../http/errors.js';
import { paginate } from '../../http/pagination.js';
import { QUEUES } from '../../jobs/queues.js';
import { emailHandler } from './email-worker.js';
import { createMailer } from './mailer.js';
import { getPreferences, setPreferences } from './preferences.js';

/** What the admin sees: never the template data (it may hold a one-time link). */
const COLUMNS = ['id', 'template', 'recipient', 'subject', 'status', 'attempts', 'last_error', 'transport', 'message_id', 'created_at', 'sent_at'];

export const presentNotification = (r: Record<string, unknown>) => ({
  ...r,
  id: Number(r.id),
  created_at: (r.created_at as Date).toISOString(),
  sent_at: r.sent_at ? (r.sent_at as Date).toISOString() : null,
});

/**
 * The preference operations are bearer-only (the spec refuses API keys before this runs). The role
 * comes from the account, not the token, so it agrees with what `wantsEmail` decides.
 */
async function person(app: AppContext, p: Principal | undefined): Promise<{ employeeId: number; role: string }> {
  if (!p || p.employeeId === null) throw unauthorized();
  const row = (await app.db('employees').where({ id: p.employeeId }).first('role')) as { role: string } | undefined;
  if (!row) throw unauthorized('The account no longer exists.', 'invalid_token');
  return { employeeId: p.employeeId, role: row.role };
}

function routes(app: AppContext): RouteTable {
  return {
    async listNotifications(ctx) {
      const q = ctx.state.input.query as { status?: string; recipient?: string; template?: string; limit?: number; cursor?: string };
      const qb = app.db('notifications').select(COLUMNS);
      if (q.status) qb.where({ status: q.status });
      if (q.recipient) qb.where({ recipient: q.recipient });
      if (q.template) qb.where({ template: q.template });
      const page = await paginate(qb, { limit: q.limit, cursor: q.cursor });
      ctx.body = { data: page.data.map(presentNotification), next_cursor: page.next_cursor };
    },
    async getNotificationPreferences(ctx) {
      const p = await person(app, ctx.state.principal);
      ctx.body = { data: await getPreferences(app.db, p.employeeId, p.role) };
    },
    async updateNotificationPreferences(ctx) {
      const p = await person(app, ctx.state.principal);
      ctx.body = { data: await setPreferences(app.db, p.employeeId, p.role, ctx.state.input.body as Record<string, boolean | null>) };
    },
  };
}

export const notificationsFeature: Feature = {
  name: 'notifications',
  routes,
  // sending is I/O-bound (SMTP round trips): one serial loop managed ~2 mails/s under load, far below
  // what a busy helpdesk queues; several loops share the one mailer
  workers: (app) => [{ queue: QUEUES.email, handler: emailHandler(app, createMailer(app.config)) as never, concurrency: app.config.emailConcurrency }],
};
