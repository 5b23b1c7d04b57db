/**
 * Webhook subscriptions: endpoints (CRUD, secret rotation with an overlap window), the dispatcher
 * that fans committed events out to matching endpoints, and the webhook destination of the
 * delivery engine (Standard Webhooks signing, attempt log, endpoint health).
 */
import type { BeforeCommit } from '../../http/idempotency.js';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { isAdmin, type Principal, type Role, type Scope } from '../../http/auth.js';
import { conflict, notFound, unprocessable } from '../../http/errors.js';
import { QUEUES } from '../../jobs/queues.js';
import { checkTargetUrl } from '../../lib/outbound-http.js';
import { isStale, open, seal, SealedValueError } from '../../lib/sealed.js';
import { sign } from '../../lib/webhooks.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import type { Destination } from './delivery.js';
import { recordEvent, SYSTEM_ACTOR, type EventInput, type EventType } from './events.js';
import { canSeeEvent, positionOf, presentEvent, readEvents, typeMatcher, TYPE_PATTERN, type EventRow, type Viewer } from './feed.js';
import { hubOf } from './hub.js';

// ─── secrets (sealed at rest under SECRETS_KEY: they must be usable to sign, so they cannot be hashed) ─

const PURPOSE = 'webhook_endpoints.secret';

export function sealSecret(app: AppContext, secret: string): string {
  return seal(app.secrets, PURPOSE, secret);
}

/** Throws SealedValueError (a clear message, e.g. an unknown key id) when it cannot be opened. */
export function openSecret(app: AppContext, sealed: string): string {
  return open(app.secrets, PURPOSE, sealed).value;
}

/**
 * Re-seal every endpoint secret not sealed with the current SECRETS_KEY (v1 values sealed with the
 * old JWT_SECRET-derived key, values under a key now in SECRETS_KEY_PREVIOUS). Runs at start-up and
 * for one endpoint when a delivery finds a stale value. Compare-and-swap per row: a concurrent
 * rotation wins. A value that cannot be opened is left alone (and logged; deliveries fail with the
 * reason). Returns how many values were re-sealed.
 */
export async function resealSecrets(app: AppContext, endpointId?: number): Promise<number> {
  const prefix = `v2.${app.secrets.currentId}.`;
  const q = app.db('webhook_endpoints').select('id', 'secret_enc', 'previous_secret_enc')
    .where((w) => w.whereRaw('left(secret_enc, ?) <> ?', [prefix.length, prefix]).orWhereRaw('left(previous_secret_enc, ?) <> ?', [prefix.length, prefix]));
  if (endpointId !== undefined) q.where({ id: endpointId });
  let n = 0;
  for (const row of await q) {
    const update: Record<string, string> = {};
    for (const col of ['secret_enc', 'previous_secret_enc'] as const) {
      const v = row[col] as string | null;
      if (!v || !isStale(app.secrets, v)) continue;
      try {
        update[col] = seal(app.secrets, PURPOSE, open(app.secrets, PURPOSE, v).value);
      } catch (err) {
        if (!(err instanceof SealedValueError)) throw err;
        app.log.error({ endpoint_id: Number(row.id), column: col, err: err.message }, 'webhook signing secret cannot be opened');
      }
    }
    if (!Object.keys(update).length) continue;
    const done = await app.db('webhook_endpoints').where({ id: row.id, secret_enc: row.secret_enc })
      .where((w) => (row.previous_secret_enc === null ? w.whereNull('previous_secret_enc') : w.where('previous_secret_enc', row.previous_secret_enc)))
      .update(update);
    n += done ? Object.keys(update).length : 0;
  }
  if (n) app.log.info({ resealed: n, key_id: app.secrets.currentId }, 'webhook signing secrets re-sealed under SECRETS_KEY');
  return n;
}

export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

// ─── endpoints ───────────────────────────────────────────────────────────────

const ENDPOINT_COLUMNS = ['id', 'url', 'description', 'event_types', 'enabled', 'disabled_reason', 'disabled_at', 'first_failure_at', 'previous_secret_expires_at', 'owner_kind', 'owner_id', 'owner_role', 'owner_scopes', 'created_at', 'updated_at'];
const iso = (v: unknown) => (v ? new Date(v as Date).toISOString() : null);

export function presentEndpoint(r: Record<string, any>) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    id: Number(r.id),
    url: r.url as string,
    description: (r.description as string | null) ?? null,
    event_types: r.event_types as string[],
    enabled: Boolean(r.enabled),
    disabled_reason: (r.disabled_reason as string | null) ?? null,
    disabled_at: iso(r.disabled_at),
    failing_since: iso(r.first_failure_at),
    previous_secret_expires_at: r.previous_secret_expires_at && new Date(r.previous_secret_expires_at).getTime() > Date.now() ? iso(r.previous_secret_expires_at) : null,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}

/** The endpoint sees what its owner would see (an API key's scopes are kept from creation). */
export function viewerOf(ep: { owner_kind: string; owner_id: number | string; owner_role: string; owner_scopes: string[] }): Viewer {
  if (ep.owner_kind === 'api_key') return { kind: 'api_key', id: Number(ep.owner_id), employeeId: null, role: ep.owner_role as Role, scopes: ep.owner_scopes as Scope[], createdBy: null };
  return { kind: 'user', id: Number(ep.owner_id), employeeId: Number(ep.owner_id), role: ep.owner_role as Role, sessionId: undefined };
}

function validTypes(types: string[] | undefined): string[] {
  const list = [...new Set((types ?? ['*']).map((t) => t.trim()))];
  const bad = list.filter((t) => !TYPE_PATTERN.test(t));
  if (bad.length || !list.length) throw unprocessable('invalid_event_types', 'event_types are catalogue types or patterns like "ticket.*".', bad.map(() => ({ field: 'event_types', message: 'is not an event type pattern' })));
  return list;
}

function validUrl(app: AppContext, url: string): string {
  const problem = checkTargetUrl(url, app.config.webhookAllowPrivateTargets);
  if (problem) throw unprocessable('invalid_url', `The webhook URL ${problem}.`, [{ field: 'url', message: problem }]);
  return url;
}

const webhookEvent = (trx: Knex | Knex.Transaction, type: EventType, row: Record<string, unknown>, actor: EventInput['actor']) =>
  recordEvent(trx, { type, actor, object: { type: 'webhook', id: String(row.id) }, admin_only: true, data: { object: presentEndpoint(row) } });

/** Endpoints are managed by System Admins and System Admin API keys with `webhooks:write` (x-roles/x-scope). */
function scoped(qb: Knex.QueryBuilder, p: Principal): Knex.QueryBuilder {
  return isAdmin(p) ? qb : qb.whereRaw('false');
}

export async function findEndpoint(db: Knex | Knex.Transaction, p: Principal, rawId: unknown, lock = false): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const s = String(rawId);
  if (!/^\d{1,15}$/.test(s)) throw notFound('webhook');
  const qb = scoped(db('webhook_endpoints').where({ id: Number(s) }), p);
  if (lock) qb.forUpdate();
  const row = await qb.first();
  if (!row) throw notFound('webhook');
  return row;
}

export async function createEndpoint(app: AppContext, p: Principal, body: { url: string; event_types?: string[]; description?: string | null; enabled?: boolean }, actor: EventInput['actor'], beforeCommit?: BeforeCommit<unknown>) {
  const secret = newSecret();
  return app.db.transaction(async (trx) => {
    const [row] = await trx('webhook_endpoints')
      .insert({
        url: validUrl(app, body.url),
        event_types: validTypes(body.event_types),
        description: body.description ?? null,
        enabled: body.enabled ?? true,
        secret_enc: sealSecret(app, secret),
        owner_kind: p.kind === 'api_key' ? 'api_key' : 'employee',
        owner_id: p.kind === 'api_key' ? p.id : p.employeeId,
        owner_role: p.role,
        owner_scopes: p.kind === 'api_key' ? p.scopes : [],
      })
      .returning(ENDPOINT_COLUMNS);
    await webhookEvent(trx, 'webhook.created', row, actor);
    const out = { ...presentEndpoint(row), secret };
    await beforeCommit?.(trx, out); // the Idempotency-Key's answer commits with the write
    return out;
  });
}

export async function updateEndpoint(app: AppContext, p: Principal, rawId: unknown, body: { url?: string; event_types?: string[]; description?: string | null; enabled?: boolean }, actor: EventInput['actor']) {
  return app.db.transaction(async (trx) => {
    const cur = await findEndpoint(trx, p, rawId, true);
    const changes: Record<string, unknown> = {};
    if (body.url !== undefined) changes.url = validUrl(app, body.url);
    if (body.event_types !== undefined) changes.event_types = validTypes(body.event_types);
    if (body.description !== undefined) changes.description = body.description;
    if (body.enabled !== undefined) {
      changes.enabled = body.enabled;
      // enabling again restarts the failure clock
      if (body.enabled) Object.assign(changes, { disabled_reason: null, disabled_at: null, first_failure_at: null });
      else if (cur.enabled) Object.assign(changes, { disabled_reason: 'disabled by a person', disabled_at: trx.fn.now() });
    }
    if (!Object.keys(changes).length) return presentEndpoint(cur);
    const [row] = await trx('webhook_endpoints').where({ id: cur.id }).update({ ...changes, updated_at: trx.fn.now() }).returning(ENDPOINT_COLUMNS);
    await webhookEvent(trx, 'webhook.updated', row, actor);
    return presentEndpoint(row);
  });
}

export async function deleteEndpoint(app: AppContext, p: Principal, rawId: unknown, actor: EventInput['actor']): Promise<void> {
  await app.db.transaction(async (trx) => {
    const cur = await findEndpoint(trx, p, rawId, true);
    await webhookEvent(trx, 'webhook.deleted', cur, actor);
    await trx('webhook_endpoints').where({ id: cur.id }).delete();
  });
}

/** A new secret; the old one keeps signing too for WEBHOOK_SECRET_OVERLAP_HOURS (or `overlap_hours`). */
export async function rotateSecret(app: AppContext, p: Principal, rawId: unknown, overlapHours: number | undefined, actor: EventInput['actor'], beforeCommit?: BeforeCommit<unknown>) {
  const secret = newSecret();
  const hours = overlapHours ?? app.config.webhookSecretOverlapHours;
  return app.db.transaction(async (trx) => {
    const cur = await findEndpoint(trx, p, rawId, true);
    const [row] = await trx('webhook_endpoints')
      .where({ id: cur.id })
      .update({
        secret_enc: sealSecret(app, secret),
        previous_secret_enc: hours > 0 ? cur.secret_enc : null,
        previous_secret_expires_at: hours > 0 ? trx.raw(`now() + make_interval(hours => ?)`, [hours]) : null,
        updated_at: trx.fn.now(),
      })
      .returning(ENDPOINT_COLUMNS);
    await webhookEvent(trx, 'webhook.secret_rotated', row, actor);
    const out = { ...presentEndpoint(row), secret };
    await beforeCommit?.(trx, out);
    return out;
  });
}

export function listEndpoints(app: AppContext, p: Principal): Knex.QueryBuilder {
  return scoped(app.db('webhook_endpoints').select(ENDPOINT_COLUMNS), p);
}

// ─── deliveries ──────────────────────────────────────────────────────────────

export function presentWebhookDelivery(r: Record<string, any>) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    id: Number(r.id),
    endpoint_id: Number(r.endpoint_id),
    event_id: r.event_id as string,
    event_type: r.event_type as string,
    status: r.status as string,
    attempts: r.attempts as number,
    last_status_code: (r.last_status_code as number | null) ?? null,
    last_error: (r.last_error as string | null) ?? null,
    last_response: (r.last_response as string | null) ?? null,
    next_attempt_at: iso(r.next_attempt_at),
    created_at: iso(r.created_at)!,
    delivered_at: iso(r.delivered_at),
  };
}

export const DELIVERY_COLUMNS = ['id', 'endpoint_id', 'event_id', 'event_type', 'status', 'attempts', 'last_status_code', 'last_error', 'last_response', 'next_attempt_at', 'created_at', 'delivered_at'];

/** A ping: a delivery of a `webhook.ping` message to this endpoint only (not an event in the log). */
export async function ping(app: AppContext, p: Principal, rawId: unknown, beforeCommit?: BeforeCommit<unknown>) {
  return app.db.transaction(async (trx) => {
    const ep = await findEndpoint(trx, p, rawId);
    const id = `msg_ping_${randomBytes(12).toString('hex')}`;
    const body = JSON.stringify({ id, type: 'webhook.ping', created_at: new Date().toISOString(), actor: null, object: { type: 'webhook', id: String(ep.id) }, data: { object: presentEndpoint(ep) } });
    const [row] = await trx('webhook_deliveries').insert({ endpoint_id: ep.id, event_id: id, event_type: 'webhook.ping', payload: body }).returning(DELIVERY_COLUMNS);
    await app.jobs.enqueue(trx, QUEUES.webhookDelivery, { deliveryId: Number(row.id), attempt: 0, trigger: 'manual' });
    const out = presentWebhookDelivery(row);
    await beforeCommit?.(trx, out);
    return out;
  });
}

/** Redelivery: one more (manual) attempt of the same message — same webhook-id; the attempt log keeps every try. */
export async function redeliver(app: AppContext, p: Principal, rawEndpoint: unknown, rawDelivery: unknown, beforeCommit?: BeforeCommit<unknown>) {
  return app.db.transaction(async (trx) => {
    const ep = await findEndpoint(trx, p, rawEndpoint);
    const s = String(rawDelivery);
    if (!/^\d{1,15}$/.test(s)) throw notFound('delivery');
    const d = await trx('webhook_deliveries').where({ id: Number(s), endpoint_id: ep.id }).forUpdate().first();
    if (!d) throw notFound('delivery');
    if (d.status === 'pending') throw conflict('delivery_pending', 'This delivery is still being attempted; wait for it to finish.', { current_status: d.status });
    const [row] = await trx('webhook_deliveries').where({ id: d.id }).update({ status: 'pending', next_attempt_at: null, lease_until: null }).returning(DELIVERY_COLUMNS);
    await app.jobs.enqueue(trx, QUEUES.webhookDelivery, { deliveryId: Number(d.id), attempt: d.attempts, trigger: 'manual' });
    const out = presentWebhookDelivery(row);
    await beforeCommit?.(trx, out);
    return out;
  });
}

// ─── the dispatcher: committed events → deliveries ───────────────────────────

const DISPATCH_BATCH = 500;

/**
 * One round: under the `webhooks` cursor row's lock (one dispatcher at a time in the cluster; others
 * skip), read the next events below the commit horizon, create a delivery (unique per endpoint and
 * event) and its first job for each enabled endpoint that matches and may see it, move the cursor —
 * all in one transaction, so a crash anywhere repeats the round and nothing is lost or doubled.
 * Returns the number of events read.
 */
export async function dispatchOnce(app: AppContext): Promise<number> {
  return app.db.transaction(async (trx) => {
    const cur = (await trx.raw(`SELECT txid, seq FROM event_cursors WHERE name = 'webhooks' FOR UPDATE SKIP LOCKED`)).rows[0];
    if (!cur) return 0;
    const rows = await readEvents(trx as unknown as Knex, null, { from: positionOf(cur) }, DISPATCH_BATCH);
    if (!rows.length) return 0;
    const endpoints = await trx('webhook_endpoints').where({ enabled: true }).select('id', 'event_types', 'owner_kind', 'owner_id', 'owner_role', 'owner_scopes', 'created_at');
    const targets = endpoints.map((ep) => ({ id: Number(ep.id), since: new Date(ep.created_at).getTime(), matches: typeMatcher(ep.event_types), viewer: viewerOf(ep) }));
    const inserts: Record<string, unknown>[] = [];
    for (const r of rows) {
      let body: string | undefined;
      for (const ep of targets) {
        if (new Date(r.created_at).getTime() <= ep.since || !ep.matches(r.type) || !canSeeEvent(ep.viewer, r)) continue;
        body ??= JSON.stringify(presentEvent(r));
        inserts.push({ endpoint_id: ep.id, event_id: presentEvent(r).id, event_type: r.type, payload: body });
      }
    }
    for (let i = 0; i < inserts.length; i += 200) {
      const made = await trx('webhook_deliveries').insert(inserts.slice(i, i + 200)).onConflict(['endpoint_id', 'event_id']).ignore().returning('id');
      for (const m of made) await app.jobs.enqueue(trx, QUEUES.webhookDelivery, { deliveryId: Number(m.id), attempt: 0 });
    }
    const last = rows[rows.length - 1] as EventRow;
    await trx('event_cursors').where({ name: 'webhooks' }).update({ txid: last.txid, seq: last.seq, updated_at: trx.fn.now() });
    return rows.length;
  });
}

/** Run the dispatcher in this (worker) process: woken by the event hub, plus a slow safety poll. */
export async function startDispatcher(app: AppContext): Promise<() => Promise<void>> {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        while (!stopped && (await dispatchOnce(app)) > 0);
      } catch (err) {
        app.log.warn({ err: (err as Error).message }, 'webhook dispatch failed; will retry');
      }
    })().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        wake();
      }
    });
  };
  // never block the worker's start-up on the LISTEN connection (the database may be down, and the
  // process installs its signal handlers only once started): subscribe when the hub is up, retrying
  let unsubscribe: (() => void) | undefined;
  let subscribing = false;
  const subscribe = () => {
    if (unsubscribe || subscribing || stopped) return;
    subscribing = true;
    hubOf(app)
      .then((hub) => {
        if (!stopped) unsubscribe = hub.subscribe({ push: wake, close: () => undefined });
      })
      .catch((err: Error) => app.log.warn({ err: err.message }, 'event LISTEN not available yet; polling'))
      .finally(() => (subscribing = false));
  };
  const timer = setInterval(() => {
    subscribe();
    wake();
  }, 2_000);
  timer.unref();
  subscribe();
  wake();
  return async () => {
    stopped = true;
    clearInterval(timer);
    unsubscribe?.();
    await running;
  };
}

// ─── the webhook destination ─────────────────────────────────────────────────

async function disable(app: AppContext, trx: Knex.Transaction, endpointId: number, reason: string): Promise<void> {
  const [ep] = await trx('webhook_endpoints').where({ id: endpointId, enabled: true }).update({ enabled: false, disabled_reason: reason, disabled_at: trx.fn.now(), updated_at: trx.fn.now() }).returning(ENDPOINT_COLUMNS);
  if (!ep) return;
  await webhookEvent(trx, 'webhook.disabled', ep, SYSTEM_ACTOR);
  const admins = await trx('employees').where({ role: 'System Admin', status: 'Approved' }).select('email', 'first_name');
  for (const a of admins) await queueEmail(trx, app.jobs, { template: 'webhook_disabled', to: a.email, data: { first_name: a.first_name, endpoint_id: endpointId, url: ep.url, reason } });
}

export const webhookDestination: Destination = {
  name: 'webhook',
  table: 'webhook_deliveries',
  queue: QUEUES.webhookDelivery,
  timeoutMs: (app) => app.config.webhookTimeoutMs,
  allowPrivate: (app) => app.config.webhookAllowPrivateTargets,
  retry: (app) => ({ baseMs: app.config.workflowRetryBaseMs, maxMs: app.config.workflowRetryMaxMs, maxAttempts: app.config.workflowMaxAttempts, windowHours: app.config.workflowRetryHours }),
  async prepare(app, row) {
    const ep = await app.db('webhook_endpoints').where({ id: row.endpoint_id }).first();
    if (!ep) return { finish: 'skipped', error: 'the endpoint was deleted' };
    if (!ep.enabled && row.event_type !== 'webhook.ping') return { finish: 'skipped', error: `the endpoint is disabled (${ep.disabled_reason ?? 'disabled'})` };
    const now = Math.floor(Date.now() / 1000);
    const sigs: string[] = [];
    let stale = false;
    try {
      const cur = open(app.secrets, PURPOSE, ep.secret_enc);
      stale = cur.stale;
      sigs.push(sign(cur.value, row.event_id, now, row.payload));
      if (ep.previous_secret_enc && ep.previous_secret_expires_at && new Date(ep.previous_secret_expires_at).getTime() > Date.now()) {
        const prev = open(app.secrets, PURPOSE, ep.previous_secret_enc);
        stale ||= prev.stale;
        sigs.push(sign(prev.value, row.event_id, now, row.payload));
      }
    } catch (err) {
      if (!(err instanceof SealedValueError)) throw err;
      // not retried: no later attempt can read it until the key is configured (then redeliver)
      app.log.error({ endpoint_id: Number(ep.id), delivery_id: Number(row.id), err: err.message }, 'webhook signing secret cannot be opened');
      return { finish: 'failed', error: `the endpoint's signing secret cannot be opened: ${err.message}` };
    }
    if (stale) await resealSecrets(app, Number(ep.id)).catch((err: Error) => app.log.warn({ err: err.message }, 'webhook secret re-seal failed'));
    return {
      request: {
        url: ep.url,
        body: row.payload,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'SmartSupport-Webhooks/1',
          'webhook-id': row.event_id,
          'webhook-timestamp': String(now),
          'webhook-signature': sigs.join(' '),
        },
      },
    };
  },
  async recorded(app, trx, row, info) {
    await trx('webhook_attempts').insert({
      delivery_id: row.id,
      n: info.n,
      trigger: info.trigger,
      status_code: info.outcome.status,
      response: info.response,
      error: 'error' in info.outcome ? info.outcome.error : null,
      duration_ms: info.durationMs,
    });
    const endpointId = Number(row.endpoint_id);
    if (info.outcome.kind === 'delivered') {
      await trx('webhook_endpoints').where({ id: endpointId }).whereNotNull('first_failure_at').update({ first_failure_at: null });
      return;
    }
    if (info.outcome.kind === 'stopped') {
      await disable(app, trx, endpointId, 'the receiver answered 410 Gone');
      return;
    }
    const [ep] = await trx('webhook_endpoints')
      .where({ id: endpointId })
      .update({ first_failure_at: trx.raw('coalesce(first_failure_at, now())') })
      .returning(['first_failure_at']);
    if (ep && Date.now() - new Date(ep.first_failure_at).getTime() >= app.config.webhookDisableAfterHours * 3_600_000) {
      await disable(app, trx, endpointId, `every delivery failed for ${app.config.webhookDisableAfterHours} hours`);
    }
  },
};
