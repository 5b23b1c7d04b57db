/**
 * `Idempotency-Key` for every POST (api.md Conventions), applied once in the HTTP edge:
 *
 * - the first request with a key claims it (a row per caller + key) and runs; its response —
 *   status, JSON body and the headers a client relies on — is stored for 24 h;
 * - a retry with the same key and the same request (method, path, body) gets that response replayed
 *   (`Idempotent-Replayed: true`);
 * - the same key with a different request is 422 `idempotency_key_reused`;
 * - a retry while the first is still running waits briefly for it (so a burst of identical retries
 *   all get the one response) and is 409 `idempotency_in_progress` if it is still running after that.
 *
 * A request that fails with an error releases its key, so a retry runs again.
 *
 * Claims have a lease (IDEMPOTENCY_LEASE_SECONDS), renewed while the request runs. A claim whose
 * lease ran out — its API process was killed, or the database was down when it tried to release or
 * record — is taken over by the next retry, which runs the request. Recording the response is retried
 * for a while; if it still fails the client gets the real response anyway (the action happened) and
 * the key is left to its lease. The one window left: a process killed after its handler's write
 * committed and before the response was recorded (one database round trip); a retry after the lease
 * then runs the action again. docs/api-conventions.md states this.
 *
 * Operations marked `x-secret-response: true` (sign-in, token refresh, API-key creation) never
 * have their response stored — it holds tokens or a plaintext key. Their key is remembered as used,
 * and a repeat is 409 `idempotency_replay_unavailable`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type Koa from 'koa';
import { callerKey, type Principal } from './auth.js';
import { conflict, unprocessable, validationFailed } from './errors.js';
import { faultPoint } from '../lib/faults.js';

export const IDEMPOTENCY_TTL_HOURS = 24;
/** How long a retry waits for the first request with its key before answering 409. */
export const IDEMPOTENCY_WAIT_MS = 3_000;
/** How long a claim lasts without renewal; renewed every third of it while the request runs. */
export const IDEMPOTENCY_LEASE_SECONDS = 30;
/** How long recording the response is retried before it is left to the lease. */
const FINISH_RETRY_MS = 5_000;
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];


export function requestHash(method: string, path: string, body: unknown, files?: unknown): string {
  const h = createHash('sha256').update(`${method} ${path.replace(/\/$/, '')}\n`).update(JSON.stringify(body ?? null));
  if (files) h.update(JSON.stringify(files));
  return h.digest('hex');
}

interface Stored {
  request_hash: string;
  state: 'running' | 'done';
  lease_expired?: boolean;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: unknown;
}

/** Marks a stored outcome whose response carried a secret that was not kept (see withIdempotency). */
const WITHHELD = 'x-smartsupport-secret-withheld';

function replay(ctx: Koa.Context, row: Stored): void {
  if (row.response_headers?.[WITHHELD]) {
    throw conflict('idempotency_replay_unavailable', 'A request with this Idempotency-Key already succeeded; its response carried a secret (tokens or an API key) that is never stored, so it cannot be replayed. Send a new request with a new key.');
  }
  ctx.status = row.response_status ?? 200;
  for (const [k, v] of Object.entries(row.response_headers ?? {})) ctx.set(k, v);
  ctx.set('Idempotent-Replayed', 'true');
  if (row.response_body !== null && row.response_body !== undefined) ctx.body = row.response_body;
}

function fileSummary(ctx: Koa.Context): unknown {
  const files = ctx.request.files;
  if (!files || Object.keys(files).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(files).map(([k, f]) => [k, (Array.isArray(f) ? f : [f]).map((x) => [x.originalFilename, x.size])]),
  );
}

/**
 * Run `next` under the request's Idempotency-Key (if any). Call only for POSTs, after the caller
 * is known and the request is valid.
 */
export async function withIdempotency(db: Knex, ctx: Koa.Context, principal: Principal | undefined, next: () => Promise<void>, opts: { secretResponse?: boolean } = {}): Promise<void> {
  const key = ctx.get('Idempotency-Key');
  if (!key) return next();
  // the same answer as the contract's own check where an operation declares the header (maxLength 255)
  if (key.length > 255) throw validationFailed([{ field: 'Idempotency-Key', message: 'must NOT have more than 255 characters' }], 'The Idempotency-Key must be at most 255 characters.');
  const caller = callerKey(principal, ctx.ip);
  const hash = requestHash(ctx.method, ctx.path, ctx.request.body, fileSummary(ctx));

  const token = randomBytes(12).toString('base64url');
  const claim = () =>
    db.raw(
      `INSERT INTO idempotency_keys (caller, key, request_hash, expires_at, lease_until, claim_token)
       VALUES (?, ?, ?, now() + make_interval(hours => ?), now() + make_interval(secs => ?), ?)
       ON CONFLICT (caller, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'running', created_at = now(),
         expires_at = EXCLUDED.expires_at, lease_until = EXCLUDED.lease_until, claim_token = EXCLUDED.claim_token,
         response_status = NULL, response_headers = NULL, response_body = NULL
         WHERE idempotency_keys.expires_at < now()
            OR (idempotency_keys.state = 'running' AND idempotency_keys.lease_until < now() AND idempotency_keys.request_hash = EXCLUDED.request_hash)
       RETURNING caller`,
      [caller, key, hash, IDEMPOTENCY_TTL_HOURS, IDEMPOTENCY_LEASE_SECONDS, token],
    );
  let claimed = await claim();
  if (claimed.rows.length === 0) {
    const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
    for (;;) {
      const row = (await db('idempotency_keys')
        .where({ caller, key })
        .first('request_hash', 'state', 'response_status', 'response_headers', 'response_body', db.raw('lease_until < now() AS lease_expired'))) as Stored | undefined;
      if (!row) return withIdempotency(db, ctx, principal, next); // the first one failed and released it
      if (row.request_hash !== hash) {
        throw unprocessable('idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
      }
      if (row.state === 'done') return replay(ctx, row);
      if (row.lease_expired) {
        // its owner is gone (killed, or cut off by an outage): take the key over and run
        claimed = await claim();
        if (claimed.rows.length) break;
        // another retry took it over first: wait for that one like any other
      }
      if (Date.now() >= deadline) throw conflict('idempotency_in_progress', 'A request with this Idempotency-Key is still running; retry shortly.');
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 25));
    }
  }

  const mine = () => db('idempotency_keys').where({ caller, key, claim_token: token });
  // renew the lease while the request runs (a long upload, a slow handler)
  const renew = setInterval(() => {
    mine()
      .update({ lease_until: db.raw('now() + make_interval(secs => ?)', [IDEMPOTENCY_LEASE_SECONDS]) })
      .catch(() => undefined);
  }, (IDEMPOTENCY_LEASE_SECONDS * 1000) / 3);
  renew.unref();
  try {
    try {
      await next();
    } catch (err) {
      // one try: during an outage the error must not wait on the database; the lease covers a miss
      await mine().delete().catch(() => undefined);
      throw err;
    }
    faultPoint('idempotency-after-handler');
    const body = ctx.body;
    const storable = body === undefined || body === null || (typeof body === 'object' && !Buffer.isBuffer(body) && typeof (body as { pipe?: unknown }).pipe !== 'function');
    if (!storable || ctx.status >= 500) {
      await mine().delete().catch(() => undefined);
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of REPLAYED_HEADERS) {
      const v = ctx.response.get(h);
      if (v) headers[h] = v;
    }
    // sign-in, refresh and API-key creation answer with a secret: only the fact that the key was
    // used is kept (a repeat is 409 idempotency_replay_unavailable, never a second secret, never a
    // second execution); the response itself is not stored
    const stored = opts.secretResponse
      ? { state: 'done', response_status: ctx.status, response_headers: JSON.stringify({ [WITHHELD]: 'true' }), response_body: null }
      : { state: 'done', response_status: ctx.status, response_headers: JSON.stringify(headers), response_body: body === undefined ? null : JSON.stringify(body) };
    await persist(() => mine().update(stored));
  } finally {
    clearInterval(renew);
  }
}

/**
 * Retry recording the response for a while (the database may be restarting); give up quietly after
 * FINISH_RETRY_MS — the claim's lease then lets a retry take the key over.
 */
async function persist(write: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + FINISH_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      await write();
      return;
    } catch {
      if (Date.now() + delay > deadline) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Delete stored responses older than 24 h (the maintenance job calls this). Returns rows removed. */
export async function purgeExpired(db: Knex): Promise<number> {
  return db('idempotency_keys').where('expires_at', '<', db.fn.now()).delete();
}

