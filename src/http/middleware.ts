/**
 * Edge middleware that every request passes: request id, access log, metrics, problem+json
 * rendering, security headers, rate limiting.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { pgQueryClient } from '../db/knex.js';
import type { ApiContext } from '../app/feature.js';
import { callerKey } from './auth.js';
import { httpMetrics } from './http-metrics.js';
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

/**
 * Outermost: request id, security headers, timing, access log, metrics, and turning any error into
 * problem+json. One middleware for all of it: every request, a probe included, passes here, and
 * each Koa middleware is a dispatch and a closure more per request.
 */
export function edge(log: Logger, metrics: Registry): Koa.Middleware {
  const http = httpMetrics(metrics);
  return async (ctx, next) => {
    const c = ctx as unknown as ApiContext;
    // straight from Node's header object and onto the response (Koa's get/set would lower-case the
    // name and check the value's type on every request)
    const incoming = ctx.req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.state.requestId = requestId;
    ctx.res.setHeader('X-Request-Id', requestId);
    // set on the response directly, the fixed set in one call (set before the handler runs, so
    // error responses carry them too)
    ctx.res.setHeaders(SECURITY_HEADERS as Map<string, string>);
    if (ctx.secure) ctx.res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
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
      const seconds = (performance.now() - started) / 1000;
      const operation = c.state.op?.operationId ?? 'unmatched';
      http.observe(ctx.method, operation, ctx.status, seconds);
      if (log.isLevelEnabled('info')) {
        const p = c.state.principal;
        log.info(
          { req_id: requestId, method: ctx.method, path: ctx.path, op: operation, status: ctx.status, ms: Math.round(seconds * 1000), caller: p ? callerKey(p, ctx.ip) : undefined },
          'request',
        );
      }
    }
  };
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
