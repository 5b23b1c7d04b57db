/**
 * The events feature: the feed (`GET /api/events/`), the live stream (`GET /api/events/stream/`),
 * webhook subscriptions (`/api/webhooks/…`), the webhook delivery worker and the dispatcher.
 */
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import type { AppContext } from '../../app/context.js';
import type { ApiContext, Feature, RouteTable } from '../../app/feature.js';
import { badRequest, unauthorized } from '../../http/errors.js';
import { paginate } from '../../http/pagination.js';
import { QUEUES } from '../../jobs/queues.js';
import { deliveryHandler } from './delivery.js';
import { actorOf, eventId, parseEventId } from './events.js';
import { presentEvent, readEvents, TYPE_PATTERN, type FeedFilter, type Position } from './feed.js';
import { openStream } from './stream.js';
import * as wh from './webhooks.js';

const principal = (ctx: ApiContext) => {
  const p = ctx.state.principal;
  if (!p) throw unauthorized();
  return p;
};

const list = (v: unknown): string[] | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const items = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
  return items.length ? items : undefined;
};

function position(raw: string | undefined, field: string): Position | undefined {
  if (raw === undefined || raw === '') return undefined;
  const p = parseEventId(raw);
  if (!p) throw badRequest('invalid_event_id', 'Not an event id (evt_…).', [{ field, message: 'is not an event id' }]);
  return { txid: p.txid, seq: p.seq };
}

/** The feed filters from the query (shared by the feed and the stream). */
function filterOf(q: Record<string, unknown>): FeedFilter {
  const types = list(q.type);
  const bad = (types ?? []).filter((t) => !TYPE_PATTERN.test(t));
  if (bad.length) throw badRequest('invalid_type', 'type is an event type or a pattern like "ticket.*".', bad.map(() => ({ field: 'query.type', message: 'is not an event type pattern' })));
  return { types, object: q.object ? String(q.object) : undefined, since: q.since ? new Date(String(q.since)).toISOString() : undefined };
}

function routes(app: AppContext): RouteTable {
  return {
    async listEvents(ctx) {
      const q = ctx.state.input.query as Record<string, unknown>;
      const limit = Math.min(Math.max(Number(q.limit ?? 50), 1), 200);
      const filter: FeedFilter = { ...filterOf(q), from: position((q.cursor ?? q.after) as string | undefined, q.cursor ? 'query.cursor' : 'query.after') };
      const rows = await readEvents(app.db, principal(ctx), filter, limit + 1);
      const more = rows.length > limit;
      const data = (more ? rows.slice(0, limit) : rows).map(presentEvent);
      const last = data[data.length - 1];
      // next_cursor is the last id: it stays valid later (new events arrive after it)
      ctx.body = { data, next_cursor: more && last ? last.id : null, last_id: last ? last.id : (filter.from ? eventId(filter.from.txid, filter.from.seq) : null) };
    },

    async streamEvents(ctx) {
      const q = ctx.state.input.query as Record<string, unknown>;
      const header = ctx.get('Last-Event-ID') || undefined;
      const from = position(header ?? (q.after as string | undefined), header ? 'header.Last-Event-ID' : 'query.after');
      await openStream(app, ctx, principal(ctx), { ...filterOf(q), from });
    },

    async listWebhooks(ctx) {
      const q = ctx.state.input.query as { limit?: number; cursor?: string };
      const page = await paginate(wh.listEndpoints(app, principal(ctx)), { limit: q.limit, cursor: q.cursor, direction: 'asc' });
      ctx.body = { data: page.data.map(wh.presentEndpoint), next_cursor: page.next_cursor };
    },
    async createWebhook(ctx) {
      const a = answerInTransaction(ctx, (r: unknown): Answer => ({ status: 201, headers: { location: `/api/webhooks/${(r as { id: number }).id}/` }, body: r }));
      ctx.set('Cache-Control', 'no-store');
      a.send(await wh.createEndpoint(app, principal(ctx), ctx.state.input.body, actorOf(ctx.state.principal), a.beforeCommit));
    },
    async getWebhook(ctx) {
      ctx.body = wh.presentEndpoint(await wh.findEndpoint(app.db, principal(ctx), ctx.state.input.params.id));
    },
    async updateWebhook(ctx) {
      ctx.body = await wh.updateEndpoint(app, principal(ctx), ctx.state.input.params.id, ctx.state.input.body ?? {}, actorOf(ctx.state.principal));
    },
    async deleteWebhook(ctx) {
      await wh.deleteEndpoint(app, principal(ctx), ctx.state.input.params.id, actorOf(ctx.state.principal));
      ctx.status = 204;
    },
    async rotateWebhookSecret(ctx) {
      const body = (ctx.state.input.body ?? {}) as { overlap_hours?: number };
      const a = answerInTransaction(ctx, (r: unknown): Answer => ({ status: 200, body: r }));
      ctx.set('Cache-Control', 'no-store');
      a.send(await wh.rotateSecret(app, principal(ctx), ctx.state.input.params.id, body.overlap_hours, actorOf(ctx.state.principal), a.beforeCommit));
    },
    async pingWebhook(ctx) {
      const a = answerInTransaction(ctx, (r: unknown): Answer => ({ status: 202, body: r }));
      a.send(await wh.ping(app, principal(ctx), ctx.state.input.params.id, a.beforeCommit));
    },
    async listWebhookDeliveries(ctx) {
      const ep = await wh.findEndpoint(app.db, principal(ctx), ctx.state.input.params.id);
      const q = ctx.state.input.query as { limit?: number; cursor?: string; status?: string };
      const qb = app.db('webhook_deliveries').where({ endpoint_id: ep.id }).select(wh.DELIVERY_COLUMNS);
      if (q.status) qb.where({ status: q.status });
      const page = await paginate(qb, { limit: q.limit, cursor: q.cursor });
      ctx.body = { data: page.data.map(wh.presentWebhookDelivery), next_cursor: page.next_cursor };
    },
    async redeliverWebhookDelivery(ctx) {
      const params = ctx.state.input.params as { id: string; delivery_id: string };
      const a = answerInTransaction(ctx, (r: unknown): Answer => ({ status: 202, body: r }));
      a.send(await wh.redeliver(app, principal(ctx), params.id, params.delivery_id, a.beforeCommit));
    },
  };
}

export const eventsFeature: Feature = {
  name: 'events',
  routes,
  workers: (app) => [{ queue: QUEUES.webhookDelivery, handler: deliveryHandler(app, wh.webhookDestination) as never, concurrency: app.config.deliveryConcurrency }],
  background: (app) => wh.startDispatcher(app),
  // secrets sealed with the old JWT_SECRET-derived key or a previous SECRETS_KEY move to the current key
  async onStart(app) {
    await wh.resealSecrets(app);
  },
};
