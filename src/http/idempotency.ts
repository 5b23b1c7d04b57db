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
 * record — is taken over by the next retry, which runs the request.
 *
 * Where the outcome is recorded — the design:
 *
 * - Operations whose write is one database transaction record their response IN that transaction
 *   (`answerInTransaction`): the route hands the service a `beforeCommit` hook; the service awaits
 *   it as the last step inside its transaction with the result it is about to return (built from
 *   the rows in the transaction); the hook turns it into the exact response (status, `Location`,
 *   `ETag`, JSON body) and moves the key from `running` to `done` with it. The write and its
 *   recorded answer commit together or not at all: a process killed after the commit leaves a
 *   `done` key (the retry gets the replay), an outage or a crash before it leaves no write and a
 *   `running` key (the retry runs). The hook's update also checks that this request still holds
 *   the claim (its `claim_token`): a request so slow that its lease ran out and a retry took the
 *   key over rolls its own write back (409 `idempotency_in_progress`) instead of acting a second
 *   time, and the retry's takeover waits on the row lock for the transaction to end, so the two
 *   never both commit.
 *   We chose this over Stripe/Brandur-style recovery points (phases recorded per step, a retry
 *   resumes from the last one): every write here is a single transaction, so one atomic phase is
 *   enough, and the handlers already build their answer from the rows in the transaction.
 *   Every POST that writes in one transaction does this (all but sign-out today). Operations marked
 *   `x-secret-response` record only the status (the key marked used) in their transaction.
 * - Operations without such a transaction (sign-out: two independent statements, harmless to
 *   repeat) keep recording after the handler returned: retried for FINISH_RETRY_MS; if it still
 *   fails the client gets the real response anyway and the key is left to its lease. For those
 *   alone a process killed between the handler's write and the recording (one round trip) lets a
 *   retry after the lease run the action again. docs/api-conventions.md says which.
 * - A request that failed releases its key (only while it is still `running` and ours); the release
 *   is retried in the background until the database answers (bounded by the lease), so after an
 *   outage the key is free as soon as PostgreSQL is back, without waiting for the lease.
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
const JSON_TYPE = 'application/json; charset=utf-8';

/** A response as a handler is about to send it: status, `Location`/`ETag` (lower-case names), JSON body. */
export interface Answer {
  status: number;
  headers?: { location?: string; etag?: string };
  body?: unknown;
}

/** Awaited by a service as the last step inside its transaction, with the result it returns. */
export type BeforeCommit<T> = (trx: Knex.Transaction, result: T) => Promise<void>;

/** What withIdempotency puts on `ctx.state.idempotency` while it holds a claim. */
export interface IdempotencyScope {
  /** Move the claimed key to `done` with this answer, inside `trx` (throws 409 if the claim was lost). */
  record(trx: Knex.Transaction, answer: Answer): Promise<void>;
  /** set once `record` ran: the middleware then leaves the key alone (the transaction decided it) */
  recorded: boolean;
}

/**
 * For a handler whose write is one transaction: `beforeCommit` (undefined when the request has no
 * Idempotency-Key) is passed to the service, which awaits it last inside its transaction; `send`
 * then answers with exactly the response that was recorded. `present` must be pure: it builds the
 * answer from the service's result alone.
 */
export function answerInTransaction<T>(ctx: { state: unknown; status: number; body: unknown; set(k: string, v: string): void }, present: (result: T) => Answer): { beforeCommit?: BeforeCommit<T>; send(result: T): void } {
  const scope = (ctx.state as { idempotency?: IdempotencyScope }).idempotency;
  let prepared: Answer | undefined;
  return {
    beforeCommit: scope
      ? async (trx, result) => {
          prepared = present(result);
          await scope.record(trx, prepared);
        }
      : undefined,
    send(result) {
      const a = prepared ?? present(result);
      ctx.status = a.status;
      if (a.headers?.location) ctx.set('Location', a.headers.location);
      if (a.headers?.etag) ctx.set('ETag', a.headers.etag);
      if (a.body !== undefined) ctx.body = a.body;
    },
  };
}


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
  // only a claim still running and still ours is released (never a `done` one: an outage during the
  // handler's COMMIT may have committed its write and recorded answer although the handler failed).
  // One try before the error is answered (so a retry right after it runs); if that fails (an
  // outage), retried in the background until the database answers — bounded by the lease, after
  // which a retry may take the key over anyway — so the error answer never waits on an outage
  const release = async () => {
    const free = () => mine().where({ state: 'running' }).delete();
    try {
      await free();
    } catch {
      void persist(free, IDEMPOTENCY_LEASE_SECONDS * 1000);
    }
  };
  const scope: IdempotencyScope = {
    recorded: false,
    async record(trx, answer) {
      const headers: Record<string, string> = {};
      if (answer.body !== undefined && answer.body !== null) headers['content-type'] = JSON_TYPE;
      if (answer.headers?.location) headers.location = answer.headers.location;
      if (answer.headers?.etag) headers.etag = answer.headers.etag;
      const n = await trx('idempotency_keys')
        .where({ caller, key, claim_token: token, state: 'running' })
        .update(outcome(answer.status, headers, answer.body, opts.secretResponse));
      if (n !== 1) {
        // our lease ran out and a retry took the key over: it runs (or ran) the request; roll back
        throw conflict('idempotency_in_progress', 'This request took too long and a retry with the same Idempotency-Key took over; nothing was changed by this one. Retry to get that request\'s response.');
      }
      scope.recorded = true;
    },
  };
  (ctx.state as { idempotency?: IdempotencyScope }).idempotency = scope;
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
      await release();
      throw err;
    }
    faultPoint('idempotency-after-handler');
    // recorded inside the handler's transaction, which committed: nothing left to do
    if (scope.recorded) return;
    const body = ctx.body;
    const storable = body === undefined || body === null || (typeof body === 'object' && !Buffer.isBuffer(body) && typeof (body as { pipe?: unknown }).pipe !== 'function');
    if (!storable || ctx.status >= 500) {
      await release();
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of REPLAYED_HEADERS) {
      const v = ctx.response.get(h);
      if (v) headers[h] = v;
    }
    await persist(() => mine().update(outcome(ctx.status, headers, body, opts.secretResponse)));
  } finally {
    clearInterval(renew);
  }
}

/** The `done` row: the response to replay (or, for a secret one, only the fact that the key was used). */
function outcome(status: number, headers: Record<string, string>, body: unknown, secret?: boolean) {
  // sign-in, refresh and API-key creation answer with a secret: only the fact that the key was
  // used is kept (a repeat is 409 idempotency_replay_unavailable, never a second secret, never a
  // second execution); the response itself is not stored
  return secret
    ? { state: 'done', response_status: status, response_headers: JSON.stringify({ [WITHHELD]: 'true' }), response_body: null }
    : { state: 'done', response_status: status, response_headers: JSON.stringify(headers), response_body: body === undefined || body === null ? null : JSON.stringify(body) };
}

/**
 * Retry recording the response for a while (the database may be restarting); give up quietly after
 * FINISH_RETRY_MS — the claim's lease then lets a retry take the key over.
 */
async function persist(write: () => Promise<unknown>, forMs = FINISH_RETRY_MS): Promise<void> {
  const deadline = Date.now() + forMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      await write();
      return;
    } catch {
      if (Date.now() + delay > deadline) return;
      await new Promise((r) => setTimeout(r, delay).unref());
    }
  }
}

/** Delete stored responses older than 24 h (the maintenance job calls this). Returns rows removed. */
export async function purgeExpired(db: Knex): Promise<number> {
  return db('idempotency_keys').where('expires_at', '<', db.fn.now()).delete();
}

