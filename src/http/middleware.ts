/**
 * Edge middleware that every request passes: request id, access log, metrics, problem+json
 * rendering, security headers, rate limiting.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { pgQueryClient } from '../db/knex.js';
import type { ApiContext } from '../app/feature.js';
import { callerKey } from './auth.js';
import type { HttpMetrics } from './http-metrics.js';
import type { Logger } from '../lib/log.js';
import { problemBody, toAppError, tooManyRequests, type AppError } from './errors.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function renderProblem(ctx: Koa.Context, err: AppError, requestId: string): void {
  ctx.status = err.status;
  for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
  ctx.type = 'application/problem+json; charset=utf-8';
  ctx.body = problemBody(err, requestId);
}

/** Conservative headers for every response of a JSON API; /docs relaxes the CSP for its own page. */
export const SECURITY_HEADERS: ReadonlyMap<string, string> = new Map([
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
]);

/** The caller's X-Request-Id when it is safe to echo (logs, headers), else a new one. */
function requestIdFor(req: IncomingMessage): string {
  // straight from Node's header object (Koa's get would lower-case the name on every request)
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

const HSTS = 'max-age=31536000; includeSubDomains';

/** One finished request: its metrics series and, at info level, its access-log line. */
function finished(log: Logger, http: HttpMetrics, requestId: string, method: string, path: string, operation: string, status: number, started: number, caller?: string): void {
  const seconds = (performance.now() - started) / 1000;
  http.observe(method, operation, status, seconds);
  if (log.isLevelEnabled('info')) {
    log.info({ req_id: requestId, method, path, op: operation, status, ms: Math.round(seconds * 1000), caller }, 'request');
  }
}

/**
 * Outermost: request id, security headers, timing, access log, metrics, and turning any error into
 * problem+json. One middleware for all of it: every request passes here, and each Koa middleware
 * is a dispatch and a closure more per request.
 */
export function edge(log: Logger, http: HttpMetrics): Koa.Middleware {
  return async (ctx, next) => {
    const c = ctx as unknown as ApiContext;
    const requestId = requestIdFor(ctx.req);
    c.state.requestId = requestId;
    // set on the response directly (Koa's set would lower-case each name and check each value's
    // type), before the handler runs, so error responses carry them too
    ctx.res.setHeader('X-Request-Id', requestId);
    ctx.res.setHeaders(SECURITY_HEADERS as Map<string, string>);
    if (ctx.secure) ctx.res.setHeader('Strict-Transport-Security', HSTS);
    const started = performance.now();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        renderProblem(ctx, toAppError(Object.assign(new Error('not found'), { status: 404 })), requestId);
      }
    } catch (err) {
      const appErr = toAppError(err);
      const e = err as Error & { code?: string };
      if (appErr.status === 500) {
        log.error({ req_id: requestId, err: { message: e?.message, code: e?.code, stack: e?.stack } }, 'request failed');
      } else if (appErr.status > 500) {
        log.warn({ req_id: requestId, status: appErr.status, err: { message: e?.message, code: e?.code } }, 'dependency unavailable');
      }
      renderProblem(ctx, appErr, requestId);
    } finally {
      const p = c.state.principal;
      finished(log, http, requestId, ctx.method, ctx.path, c.state.op?.operationId ?? 'unmatched', ctx.status, started, p ? callerKey(p, ctx.ip) : undefined);
    }
  };
}

/** The liveness probe: its operation in openapi.yaml and the body it answers with (ops feature, front door). */
export const LIVENESS = { operationId: 'getHealth', path: '/healthz', body: Object.freeze({ status: 'ok' }) } as const;

/** Node's request handler; `true` when it answered the request, `false` when it left it untouched. */
export type FrontDoor = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The liveness probe's front door: `GET` or `HEAD /healthz` exactly as a probe sends it (no query
 * string, no credentials, no Origin for CORS to answer) is answered from Node's request, before Koa
 * builds a context for it. A load balancer or an orchestrator asks every instance this every few
 * seconds, and Koa's per-request objects, composition and response handling were the largest cost
 * of the probe after Node's own HTTP code. What the caller sees is what the Koa pipeline answers —
 * status, body, content type and length, the request id, the security headers, HSTS under the
 * same rule (`ctx.secure`: with TRUST_PROXY, the first X-Forwarded-Proto), `Vary: Origin` where
 * CORS is on — and the request is counted and logged as `getHealth` like any other;
 * test/probe-front-door.test.ts compares the two paths header by header. Anything else is left to
 * Koa, where the same operation answers it.
 */
export function livenessFrontDoor(log: Logger, http: HttpMetrics, opts: { trustProxy: boolean; cors: boolean }): FrontDoor {
  const { path, operationId } = LIVENESS;
  const text = JSON.stringify(LIVENESS.body);
  const length = String(Buffer.byteLength(text));
  return (req, res) => {
    const method = req.method;
    if ((method !== 'GET' && method !== 'HEAD') || req.url !== path) return false;
    const h = req.headers;
    if (h.authorization !== undefined || h['x-api-key'] !== undefined || (opts.cors && h.origin !== undefined)) return false;
    const started = performance.now();
    const requestId = requestIdFor(req);
    const headers = ['X-Request-Id', requestId];
    for (const [k, v] of SECURITY_HEADERS) headers.push(k, v);
    if ((req.socket as { encrypted?: boolean }).encrypted || (opts.trustProxy && isHttps(h['x-forwarded-proto']))) headers.push('Strict-Transport-Security', HSTS);
    // @koa/cors marks every response as varying by Origin, with or without one
    if (opts.cors) headers.push('Vary', 'Origin');
    headers.push('Content-Type', 'application/json; charset=utf-8', 'Content-Length', length);
    res.writeHead(200, headers);
    if (method === 'HEAD') res.end();
    else res.end(text);
    finished(log, http, requestId, method, path, operationId, 200, started);
    return true;
  };
}

/** Koa's `ctx.protocol` behind a trusted proxy: the first value of X-Forwarded-Proto. */
function isHttps(proto: string | string[] | undefined): boolean {
  const first = Array.isArray(proto) ? proto[0] : proto;
  return first !== undefined && first.split(/\s*,\s*/, 1)[0] === 'https';
}

export interface RateLimiter {
  consume(key: string, points?: number): Promise<{ limit: number; remaining: number; resetSeconds: number }>;
}

/**
 * A fixed-window limiter stored in PostgreSQL (table rate_limits), so the limit holds across
 * every API instance sharing the database.
 */
export function createRateLimiter(db: Knex, opts: { points: number; durationSeconds: number; keyPrefix: string }): RateLimiter {
  const limiter = new RateLimiterPostgres({
    // node-pg style, so statement names can be dropped behind PgBouncer (DATABASE_PREPARED_STATEMENTS)
    storeClient: pgQueryClient(db),
    storeType: 'pool',
    tableName: 'rate_limits',
    tableCreated: true,
    keyPrefix: opts.keyPrefix,
    points: opts.points,
    duration: opts.durationSeconds,
    clearExpiredByTimeout: false,
  });
  return {
    async consume(key, points = 1) {
      try {
        const r = await limiter.consume(key, points);
        return { limit: opts.points, remaining: r.remainingPoints, resetSeconds: Math.ceil(r.msBeforeNext / 1000) };
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          const e = tooManyRequests(err.msBeforeNext / 1000);
          Object.assign(e.headers, { 'RateLimit-Limit': String(opts.points), 'RateLimit-Remaining': '0', 'RateLimit-Reset': e.headers['Retry-After'] });
          throw e;
        }
        throw err;
      }
    },
  };
}

export async function applyRateLimit(ctx: ApiContext, limiter: RateLimiter, key: string): Promise<void> {
  // a 429 carries its RateLimit-* headers on the error (rendered with the problem body)
  const r = await limiter.consume(key);
  ctx.set('RateLimit-Limit', String(r.limit));
  ctx.set('RateLimit-Remaining', String(r.remaining));
  ctx.set('RateLimit-Reset', String(r.resetSeconds));
}
