/**
 * The `workflow.deliver` handler: one HTTP attempt per job.
 *
 * - 2xx → `delivered`; 410 → `stopped` (the receiver asked us to stop; never retried);
 *   408/425/429/5xx, timeouts and network errors → retried; any other answer (3xx — redirects are
 *   not followed — or 4xx) → `failed` (retrying the same request would get the same answer; fix the
 *   receiver and use redeliver). No WORKFLOW_API_URL → `skipped`.
 * - Retries are scheduled by this handler, not by pg-boss: the row is updated and the next job is
 *   sent with `startAfter` = exponential backoff with jitter, both in one transaction. After
 *   WORKFLOW_MAX_ATTEMPTS attempts or WORKFLOW_RETRY_HOURS the row is `dead` and a job is put in
 *   `workflow.deliver.dead` for the admin to see and retry.
 * - Idempotent: each job carries the attempt number it is for (`attempt` = the row's `attempts` when
 *   it was queued). A finished delivery, or a job whose attempt has already been made (a job run
 *   twice after a crash), does nothing; the row update is a compare-and-set on `attempts`, so two
 *   copies of one job can never both schedule a follow-up. The event id is the same on every
 *   attempt (Idempotency-Key / webhook-id), so the receiver can drop a repeat of a request whose
 *   answer we never recorded.
 */
import type { AppContext } from '../../app/context.js';
import { deadLetterOf, QUEUES, type JobPayloads } from '../../jobs/queues.js';
import { buildTicketPayload } from './payload.js';
import { sign } from '../../lib/webhooks.js';
import { recordEvent, SYSTEM_ACTOR } from '../events/events.js';
import { presentDelivery } from './workflow-outbox.js';

const FINISHED = new Set(['delivered', 'stopped', 'skipped', 'failed', 'dead']);

export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'stopped'; status: number }
  | { kind: 'retry'; status: number | null; error: string }
  | { kind: 'failed'; status: number | null; error: string };

const clip = (s: string, n = 500) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function classify(status: number): 'delivered' | 'stopped' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'stopped';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** Exponential backoff with "equal jitter": half the delay is fixed, half random. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export interface DeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export function buildRequest(app: AppContext, eventId: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): DeliveryRequest {
  const c = app.config;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'SmartSupport-Webhooks/1',
    'Idempotency-Key': eventId,
    'webhook-id': eventId,
    'webhook-timestamp': String(nowSeconds),
  };
  if (c.workflowApiKey) headers['X-API-Key'] = c.workflowApiKey;
  if (c.workflowSigningSecret) headers['webhook-signature'] = sign(c.workflowSigningSecret, eventId, nowSeconds, body);
  return { url: `${c.workflowApiUrl}/tickets/`, headers, body };
}

async function attempt(app: AppContext, req: DeliveryRequest): Promise<AttemptOutcome> {
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(app.config.workflowTimeoutMs),
    });
    const text = await res.text().catch(() => '');
    const kind = classify(res.status);
    if (kind === 'delivered' || kind === 'stopped') return { kind, status: res.status };
    const detail = res.status >= 300 && res.status < 400 ? `redirect to ${res.headers.get('location') ?? '?'} not followed` : text.slice(0, 200);
    return { kind, status: res.status, error: clip(`HTTP ${res.status}${detail ? `: ${detail}` : ''}`) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    const msg = timedOut ? `timed out after ${app.config.workflowTimeoutMs} ms` : `network error: ${e.cause?.code ?? e.cause?.message ?? e.message}`;
    return { kind: 'retry', status: null, error: clip(msg) };
  }
}

export function deliveryHandler(app: AppContext) {
  return async (data: JobPayloads[typeof QUEUES.workflowDelivery]): Promise<void> => {
    const row = await app.db('workflow_deliveries').where({ id: data.deliveryId }).first();
    if (!row || FINISHED.has(row.status)) return;
    const expected = data.attempt ?? 0;
    if (row.attempts !== expected) return; // a stale copy: this attempt was already made and recorded
    const cas = () => app.db('workflow_deliveries').where({ id: row.id, attempts: expected });

    if (!app.config.workflowApiUrl) {
      await cas().update({ status: 'skipped', last_error: 'WORKFLOW_API_URL is not configured', next_attempt_at: null });
      return;
    }
    const payload = await buildTicketPayload(app.db, Number(row.ticket_id), { publicUrl: app.config.publicUrl, secret: app.jwt.secret });
    if (!payload) {
      await cas().update({ status: 'failed', last_error: 'the ticket no longer exists', next_attempt_at: null });
      return;
    }
    const outcome = await attempt(app, buildRequest(app, row.event_id, JSON.stringify(payload)));
    const n = expected + 1;
    const base = { attempts: n, last_status_code: outcome.status };

    if (outcome.kind === 'delivered') {
      await cas().update({ ...base, status: 'delivered', last_error: null, next_attempt_at: null, delivered_at: app.db.fn.now() });
      return;
    }
    if (outcome.kind === 'stopped') {
      await cas().update({ ...base, status: 'stopped', last_error: 'the workflow system answered 410 Gone: not retried', next_attempt_at: null });
      return;
    }
    if (outcome.kind === 'failed') {
      await cas().update({ ...base, status: 'failed', last_error: outcome.error, next_attempt_at: null });
      return;
    }
    const c = app.config;
    const next = new Date(Date.now() + backoffMs(n, c.workflowRetryBaseMs, c.workflowRetryMaxMs));
    const windowEnd = new Date(row.created_at).getTime() + c.workflowRetryHours * 3_600_000;
    const exhausted = n >= c.workflowMaxAttempts || next.getTime() > windowEnd;
    await app.db.transaction(async (trx) => {
      const updated = await cas().transacting(trx).update(exhausted
        ? { ...base, status: 'dead', last_error: clip(`gave up after ${n} attempts: ${outcome.error}`), next_attempt_at: null }
        : { ...base, last_error: outcome.error, next_attempt_at: next });
      if (!updated) return; // another copy of this job recorded the attempt first
      if (exhausted) {
        await app.jobs.enqueue(trx, deadLetterOf(QUEUES.workflowDelivery) as never, { deliveryId: row.id } as never);
        const t = await trx('tickets').where({ id: row.ticket_id }).first('ticket_number');
        await recordEvent(trx, {
          type: 'workflow.delivery_dead_lettered',
          actor: SYSTEM_ACTOR,
          object: { type: 'workflow_delivery', id: String(row.id) },
          ticket_id: Number(row.ticket_id),
          staff_only: true,
          data: { object: presentDelivery({ ...row, ...base, status: 'dead', ticket_number: t?.ticket_number }), ticket_number: t?.ticket_number ?? null },
        });
      }
      else await app.jobs.enqueue(trx, QUEUES.workflowDelivery, { deliveryId: row.id, attempt: n }, { startAfter: next });
    });
  };
}
