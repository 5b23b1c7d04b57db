/**
 * The Koa app. Routes come from openapi.yaml: each operation is bound to the handler with the same
 * operationId, and every request is authenticated, authorized, rate limited and validated against
 * the spec before its handler runs. A spec operation without a handler (or the reverse) stops start-up.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import cors from '@koa/cors';
import Router, { type RouterMiddleware } from '@koa/router';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import { apiKeyScopeProblems, authorizeOperation, callerKey, readCredentials, resolvePrincipal, resolveSignature, type AuthDeps } from '../http/auth.js';
import { AppError, badRequest, tooLarge, unsupportedMediaType, validationFailed, type FieldError } from '../http/errors.js';
import { withIdempotency } from '../http/idempotency.js';
import { JsonText } from '../http/json-text.js';
import { httpMetrics } from '../http/http-metrics.js';
import { applyRateLimit, createRateLimiter, edge, LIVENESS, livenessFrontDoor, type FrontDoor, type RateLimiter } from '../http/middleware.js';
import { isBadString } from '../lib/strings.js';
import { compileRequestValidators, loadSpec, pathToRegExp, type Operation, type Spec } from '../http/openapi.js';
import type { AppContext } from './context.js';
import type { ApiContext, Feature, Handler, RouteTable } from './feature.js';

/** Operations that never count against the rate limit (probes and scrapes). */
const UNLIMITED = new Set(['getHealth', 'getReadiness', 'getMetrics']);

export interface AppOptions {
  /** the contract to serve (tests pass a fixture); default: openapi.yaml */
  spec?: Spec;
  /** answer the liveness probe before Koa (livenessFrontDoor); default true — tests turn it off to compare */
  frontDoor?: boolean;
}

/**
 * Koa with a front door: requests the front door answers (the liveness probe) never get a Koa
 * context; everything else goes to Koa's own handler.
 */
export class FrontedKoa extends Koa {
  constructor(
    options: { proxy: boolean },
    private readonly front: FrontDoor,
  ) {
    super(options);
  }

  override callback(): ReturnType<Koa['callback']> {
    const inner = super.callback();
    const front = this.front;
    const answered = Promise.resolve();
    // served by node:http only (listen), never HTTP/2
    return (req, res) => {
      try {
        if (front(req as http.IncomingMessage, res as http.ServerResponse)) return answered;
      } catch (err) {
        // not expected (the front door writes a fixed answer); never let it take the process down:
        // Koa answers what was not yet answered, a half-written answer is cut off
        if (res.headersSent) {
          res.destroy(err as Error);
          return answered;
        }
      }
      return inner(req, res);
    };
  }
}

export function collectRoutes(app: AppContext, features: Feature[]): RouteTable {
  const table: RouteTable = {};
  for (const f of features) {
    for (const [id, h] of Object.entries(f.routes?.(app) ?? {})) {
      if (table[id]) throw new Error(`operation ${id} has two handlers (feature ${f.name})`);
      table[id] = h;
    }
  }
  return table;
}

/** Fails loudly when the spec and the handlers disagree. */
export function checkParity(spec: Spec, routes: RouteTable): void {
  const missing = spec.operations.filter((o) => !routes[o.operationId]).map((o) => `${o.method.toUpperCase()} ${o.path} (${o.operationId})`);
  const extra = Object.keys(routes).filter((id) => !spec.byId.has(id));
  if (missing.length || extra.length) {
    throw new Error(
      [missing.length ? `operations in openapi.yaml without a handler: ${missing.join(', ')}` : '', extra.length ? `handlers with no operation in openapi.yaml: ${extra.join(', ')}` : '']
        .filter(Boolean)
        .join('; '),
    );
  }
}

/**
 * The literal prefix of a path template, at most two segments deep: `/api/tickets/{id}/` →
 * `/api/tickets`, `/media/{folder}/{file}` → `/media`, `/healthz` → `/healthz`. Lower-cased, as
 * routing is case-insensitive.
 */
export function routeGroupKey(template: string): string {
  const literal: string[] = [];
  for (const seg of template.split('/').filter(Boolean).slice(0, 2)) {
    if (seg.includes('{')) break;
    literal.push(seg.toLowerCase());
  }
  return `/${literal.join('/')}`;
}

/**
 * The group keys a request path may belong to, longest first, ending with `/` (templates whose first
 * segment is a parameter). A request goes to the longest group that has a matching route: across
 * groups, a longer literal prefix wins; within one, literal paths win over parameters.
 */
export function requestGroupKeys(path: string): string[] {
  const segs = path.toLowerCase().split('/', 4).slice(1);
  const keys: string[] = [];
  if (segs.length >= 2 && segs[1]) keys.push(`/${segs[0]}/${segs[1]}`);
  if (segs[0]) keys.push(`/${segs[0]}`);
  keys.push('/');
  return keys;
}

const specificity = (p: string) => [p.split('/').filter((s) => s.startsWith('{')).length, -p.length] as const;

export function createApp(app: AppContext, features: Feature[], opts: AppOptions = {}): Koa {
  const spec = opts.spec ?? loadSpec();
  const routes = collectRoutes(app, features);
  checkParity(spec, routes);
  const scopeProblems = apiKeyScopeProblems(spec.operations);
  if (scopeProblems.length) throw new Error(`openapi.yaml: ${scopeProblems.join('; ')}`);
  // production compiles every validator before it listens, so no request pays a compile (the first
  // one would pay most of the ~0.5 s: the shared schemas); development and tests, which start many
  // processes that each serve a few operations, compile each on first use
  const validators = compileRequestValidators(spec, { eager: app.config.nodeEnv === 'production' });
  const limiter: RateLimiter | undefined =
    app.config.rateLimitPerMinute > 0 ? createRateLimiter(app.db, { points: app.config.rateLimitPerMinute, durationSeconds: 60, keyPrefix: 'api' }) : undefined;
  const revocation = features.find((f) => f.isSessionRevoked)?.isSessionRevoked?.(app);
  const authDeps: AuthDeps = { db: app.db, jwt: app.jwt, ...(revocation ? { isSessionRevoked: revocation } : {}) };

  const requestMetrics = httpMetrics(app.metrics);
  // the front door answers the probe only where the contract has it as the public GET it answers
  const liveness = spec.byId.get(LIVENESS.operationId);
  const frontDoor =
    opts.frontDoor !== false && liveness && liveness.path === LIVENESS.path && takesNothing(liveness)
      ? livenessFrontDoor(app.log, requestMetrics, { trustProxy: app.config.trustProxy, cors: app.config.corsOrigins.length > 0 })
      : undefined;
  const koa = frontDoor ? new FrontedKoa({ proxy: app.config.trustProxy }, frontDoor) : new Koa({ proxy: app.config.trustProxy });
  koa.silent = true;
  koa.use(edge(app.log, requestMetrics));
  if (app.config.corsOrigins.length) {
    const allowed = new Set(app.config.corsOrigins);
    koa.use(
      cors({
        origin: (ctx) => (allowed.has('*') || allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
        exposeHeaders: ['X-Request-Id', 'ETag', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After', 'Location'],
        allowHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'Idempotency-Key', 'If-Match', 'X-Request-Id'],
        maxAge: 600,
      }),
    );
  }

  const bodyFor = (op: Operation) => uploadingBody(app.config, op);

  // One router per leading path (see routeGroupKey): @koa/router tests every layer of a router
  // against every request, so a single router over the whole spec cost more than the rest of
  // the pipeline together on small requests.
  const groups = new Map<string, Router>();
  // operations without path parameters are looked up by method and path directly (`HEAD` as `GET`,
  // as @koa/router does): the same route the routers would pick — a literal path is the most
  // specific match in its group — without testing patterns
  const exact = new Map<string, Map<string, Koa.Middleware>>(); // method → lower-cased path → chain
  const ordered = [...spec.operations].sort((a, b) => {
    const [pa, la] = specificity(a.path);
    const [pb, lb] = specificity(b.path);
    return pa - pb || la - lb;
  });
  for (const op of ordered) {
    const key = routeGroupKey(op.path);
    let router = groups.get(key);
    if (!router) groups.set(key, (router = new Router()));
    const koaPath = op.path.replace(/\{([^}]+)\}/g, ':$1');
    const paths = koaPath.endsWith('/') && koaPath !== '/' ? [koaPath, koaPath.slice(0, -1)] : [koaPath];
    const { authenticate, handle, bare } = pipeline(op, routes[op.operationId], validators.get(op.operationId)!, authDeps, limiter, app.config.metricsToken);
    const body = op.bodyTypes.length ? bodyFor(op) : undefined;
    // one chain per operation, behind its router and, without path parameters, in the exact map
    const full = body
      ? (ctx: Koa.Context, next: Koa.Next) => authenticate(ctx as never, () => body(ctx, () => handle(ctx as never, next)))
      : (ctx: Koa.Context, next: Koa.Next) => authenticate(ctx as never, () => handle(ctx as never, next));
    const run = bare ? (ctx: Koa.Context, next: Koa.Next) => (ctx.querystring || ctx.headers.authorization !== undefined || ctx.headers['x-api-key'] !== undefined ? full(ctx, next) : bare(ctx)) : full;
    for (const p of paths) router[op.method](p, run as never);
    if (!op.path.includes('{')) {
      const methods = op.method === 'get' ? ['GET', 'HEAD'] : [op.method.toUpperCase()];
      for (const m of methods) {
        let byPath = exact.get(m);
        if (!byPath) exact.set(m, (byPath = new Map()));
        for (const p of paths) if (!byPath.has(p.toLowerCase())) byPath.set(p.toLowerCase(), run);
      }
    }
  }
  const dispatch = new Map([...groups].map(([key, router]) => [key, router.routes() as unknown as Koa.Middleware]));
  // a group that matches nothing passes on to the next shorter one (`/media/x` → `/media`)
  const tryGroups = (routers: Koa.Middleware[], i: number, ctx: Koa.Context, next: Koa.Next): Promise<unknown> =>
    i < routers.length ? Promise.resolve(routers[i]!(ctx, () => tryGroups(routers, i + 1, ctx, next))) : next();
  koa.use((ctx, next) => {
    // paths arrive lower-case nearly always: lower-case only when the path as sent is not found
    const byPath = exact.get(ctx.method);
    const path = ctx.path;
    const direct = byPath && (byPath.get(path) ?? byPath.get(path.toLowerCase()));
    if (direct) {
      (ctx as unknown as { params: object }).params = {};
      return direct(ctx, next);
    }
    const routers = requestGroupKeys(ctx.path).flatMap((k) => dispatch.get(k) ?? []);
    return tryGroups(routers, 0, ctx, next);
  });
  // reached only when no route matched: 405 if the path exists for another method, else 404
  const templates = spec.operations.map((o) => ({ method: o.method.toUpperCase(), re: new RegExp(pathToRegExp(o.path).source, 'i') }));
  koa.use((ctx) => {
    const allowed = [...new Set(templates.filter((o) => o.re.test(ctx.path)).map((o) => o.method))];
    if (allowed.length && !allowed.includes(ctx.method)) {
      // RFC 9110 §15.5.6: a 405 names the methods the resource does support
      throw new AppError(405, 'method_not_allowed', `${ctx.method} is not supported on ${ctx.path}.`, {}, { Allow: allowed.sort().join(', ') });
    }
    throw new AppError(404, 'route_not_found', `No operation matches ${ctx.method} ${ctx.path}.`);
  });
  return koa;
}

/**
 * Body parsing. Multipart uploads stream to a temp directory of their own under `<dataDir>/tmp`
 * that is removed when the request ends, whatever happened (rejected, failed or stored: stored
 * files have been moved out by then), so nothing is left behind. Limits per operation come from
 * the spec: `x-max-file-mb` (default MAX_UPLOAD_MB) and `x-max-files` (default 10).
 */
function uploadingBody(config: AppContext['config'], op: Operation): Koa.Middleware {
  const maxFileSize = typeof op.raw['x-max-file-mb'] === 'number' ? Math.min(op.raw['x-max-file-mb'] * 1024 * 1024, config.maxUploadBytes) : config.maxUploadBytes;
  const maxFiles = typeof op.raw['x-max-files'] === 'number' ? op.raw['x-max-files'] : 10;
  const tmpRoot = path.join(config.dataDir, 'tmp');
  // operations marked `x-raw-body: true` (signed webhooks) also keep the exact bytes received, at
  // ctx.request.rawBody (koa-body 8's includeUnparsed)
  const includeUnparsed = op.raw['x-raw-body'] === true;
  const options = (uploadDir: string, counter: { n: number; files: object[] } = { n: 0, files: [] }) => ({
    includeUnparsed,
    jsonLimit: config.bodyLimitBytes,
    formLimit: config.bodyLimitBytes,
    textLimit: config.bodyLimitBytes,
    multipart: true,
    urlencoded: false,
    text: false,
    jsonStrict: true,
    parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] as never,
    formidable: {
      uploadDir,
      maxFileSize,
      maxTotalFileSize: maxFileSize * maxFiles,
      maxFiles,
      maxFields: 100,
      keepExtensions: false,
      allowEmptyFiles: false,
      // files finish in any order; remember the order they were sent in (`part_index`)
      onFileBegin: (_name: string, file: object) => {
        Object.assign(file, { part_index: counter.n++ });
        counter.files.push(file);
      },
    },
    onError: (err: Error & { httpCode?: number; status?: number; statusCode?: number; type?: string }) => {
      const status = err.httpCode ?? err.status ?? err.statusCode;
      if (status === 413 || err.type === 'entity.too.large') {
        throw tooLarge(`Each file must be at most ${Math.round(maxFileSize / 1024 / 1024)} MB, and at most ${maxFiles} files per request.`);
      }
      if (status === 415) throw err;
      // anything else the parsers reject (bad JSON, a broken multipart stream) is the client's malformed body
      throw badRequest('malformed_body', 'The request body could not be parsed.');
    },
  });
  const plain = koaBody(options(tmpRoot));
  return async (ctx, next) => {
    if (!ctx.is('multipart/form-data')) return plain(ctx, next);
    const dir = path.join(tmpRoot, randomUUID());
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const counter = { n: 0, files: [] as object[] };
    try {
      await koaBody(options(dir, counter))(ctx, next);
    } finally {
      // formidable may still be opening a file when it has already failed the request (the file
      // over maxFiles is opened after the error); wait until every write stream is closed so no
      // file can appear in the directory after it is removed, then remove it (retrying a race anyway)
      await Promise.all(counter.files.map(closeWriteStream));
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }).catch(() => undefined);
    }
  };
}

/** Close formidable's write stream of an upload (its `_writeStream`, if this version has one). */
function closeWriteStream(file: object): Promise<void> {
  const stream = (file as { _writeStream?: import('node:fs').WriteStream })._writeStream;
  if (!stream || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    // never let a stream that does not report its close hold the response
    const timer = setTimeout(resolve, 2000);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.destroy();
  });
}

function mediaType(ctx: Koa.Context): string | undefined {
  const t = ctx.get('Content-Type');
  return t ? t.split(';')[0].trim().toLowerCase() : undefined;
}

/**
 * Two stages around body parsing: `authenticate` (credentials, rate limit, roles/scopes, content
 * type) runs BEFORE the body is read, so unauthenticated or forbidden callers cannot make the server
 * receive and store an upload; `handle` validates the parsed request and calls the handler.
 */
function pipeline(
  op: Operation,
  handler: Handler,
  validate: ReturnType<typeof compileRequestValidators> extends Map<string, infer V> ? V : never,
  authDeps: AuthDeps,
  limiter: RateLimiter | undefined,
  metricsToken: string | undefined,
): { authenticate: RouterMiddleware; handle: RouterMiddleware; bare?: (ctx: Koa.Context) => unknown } {
  const scrapeable = op.schemes.includes('metricsToken');
  // responses whose body carries a secret (tokens, a new API key): never stored for replay
  const secretResponse = op.raw['x-secret-response'] === true;
  const authenticate: RouterMiddleware = async (kctx, next) => {
    const ctx = kctx as unknown as ApiContext;
    ctx.state.op = op;
    const query = ctx.query as Record<string, unknown>;
    // `/metrics`: the scraper's METRICS_TOKEN bearer (not a JWT) lets it through; anything else is
    // authenticated and authorized as usual (System Admins only)
    if (scrapeable && metricsToken && bearerMatches(ctx.get('Authorization'), metricsToken)) {
      ctx.set('Cache-Control', 'no-store');
      await next();
      return;
    }
    const creds = readCredentials(op, ctx.headers, query);
    // no credentials (probes, public operations): nothing to look up, no await
    ctx.state.principal = creds.bearer || creds.apiKey ? await resolvePrincipal(authDeps, creds) : undefined;
    ctx.state.signed = resolveSignature(authDeps, creds);
    // nothing answered to a caller with credentials is cacheable by shared caches or kept by
    // browsers (handlers may still choose `private` for files); errors included
    if (ctx.state.principal || ctx.state.signed) ctx.set('Cache-Control', 'no-store');
    if (limiter && !UNLIMITED.has(op.operationId)) {
      await applyRateLimit(ctx, limiter, callerKey(ctx.state.principal, ctx.ip));
    }
    authorizeOperation(op, ctx.state.principal, ctx.state.signed);
    const type = mediaType(ctx);
    if (op.bodyTypes.length && type && ctx.request.length !== 0 && !op.bodyTypes.includes(type)) {
      throw unsupportedMediaType(`Send ${op.bodyTypes.join(' or ')}.`);
    }
    await next();
  };
  const handle: RouterMiddleware = async (kctx) => {
    const ctx = kctx as unknown as ApiContext;
    const query = ctx.query as Record<string, unknown>;
    const type = mediaType(ctx);
    let body: unknown = ctx.request.body;
    if (type === 'multipart/form-data') {
      // file parts are validated by the handler (content sniffing); mark their presence for the schema
      const files = ctx.request.files ?? {};
      body = { ...(ctx.request.body as object) };
      for (const [name, f] of Object.entries(files)) {
        (body as Record<string, unknown>)[name.replace(/\[\]$/, '')] = Array.isArray(f) ? f.map(() => 'file') : 'file';
      }
    }
    const hasBody = op.bodyTypes.length > 0 && (ctx.request.length ?? 0) > 0 ? body : undefined;
    // NUL (PostgreSQL text cannot hold it) and unpaired surrogates are refused in every string
    const bad = badStrings((kctx.params ?? {}) as Record<string, unknown>, 'path.');
    if (ctx.querystring) bad.push(...badStrings(query, 'query.'));
    if (hasBody !== undefined) bad.push(...badStrings(hasBody, ''));
    if (bad.length) throw validationFailed(bad, `The request contains characters that are not allowed: ${bad.map((e) => e.field || 'body').slice(0, 3).join(', ')}.`);
    const result = validate({ params: (kctx.params ?? {}) as Record<string, string>, query, body: hasBody, contentType: type });
    if (!result.ok) {
      if ('unsupported' in result) throw unsupportedMediaType(`Send ${op.bodyTypes.join(' or ')}.`);
      throw validationFailed(result.errors, `The request does not match the API contract: ${result.errors.map((e) => `${e.field} ${e.message}`).slice(0, 3).join('; ')}.`);
    }
    ctx.state.input = result.value;
    // every POST honours Idempotency-Key (src/http/idempotency.ts)
    if (op.method === 'post') await withIdempotency(authDeps.db, ctx as unknown as Koa.Context, ctx.state.principal, async () => void (await handler(ctx)), { secretResponse });
    else await handler(ctx);
    jsonTextBody(ctx);
  };
  // A public operation that takes no input at all (the probes, the spec): a request without
  // credentials or a query string has nothing to authenticate, limit or validate — what
  // `authenticate` and `handle` would conclude, without their steps. Anything else (a token, an
  // API key, a query string to refuse) takes the full chain.
  const bare =
    takesNothing(op) && (!limiter || UNLIMITED.has(op.operationId))
      ? (kctx: Koa.Context) => {
          const ctx = kctx as unknown as ApiContext;
          ctx.state.op = op;
          ctx.state.input = { params: {}, query: {}, body: undefined };
          const done = handler(ctx);
          return done instanceof Promise ? done.then(() => jsonTextBody(ctx)) : jsonTextBody(ctx);
        }
      : undefined;
  return { authenticate, handle, ...(bare ? { bare } : {}) };
}

/** A public GET with no parameters and no body: nothing to authenticate or validate. */
function takesNothing(op: Operation): boolean {
  return op.schemes.length === 0 && (op.raw.parameters as unknown[]).length === 0 && op.bodyTypes.length === 0 && op.method === 'get';
}

/** A body that is JSON text already goes out as it is. */
function jsonTextBody(ctx: ApiContext): void {
  if (ctx.body instanceof JsonText) {
    const { text } = ctx.body;
    ctx.body = text;
    ctx.type = 'application/json; charset=utf-8';
  }
}

/** `Authorization: Bearer <expected>`, compared in constant time. */
function bearerMatches(header: string, expected: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}


/** Fields (in the validator's naming: `path.id`, `query.q`, `a.b.0`) whose string value or key is bad. */
export function badStrings(value: unknown, prefix: string): FieldError[] {
  const out: FieldError[] = [];
  const walk = (v: unknown, at: string, depth: number) => {
    if (out.length >= 10 || depth > 32) return;
    if (typeof v === 'string') {
      if (isBadString(v)) out.push({ field: at === '' ? prefix.replace(/\.$/, '') || 'body' : `${prefix}${at}`, message: 'must not contain NUL characters or unpaired surrogates' });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, at === '' ? String(i) : `${at}.${i}`, depth + 1));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const field = at === '' ? k : `${at}.${k}`;
        if (isBadString(k)) out.push({ field: `${prefix}${field}`, message: 'must not contain NUL characters or unpaired surrogates' });
        else walk(x, field, depth + 1);
      }
    }
  };
  walk(value, '', 0);
  return out;
}

export interface RunningServer {
  server: http.Server;
  url: string;
  /**
   * Drain and stop (bounded by timeoutMs): stop accepting connections at once; requests already
   * received finish, and so does one more request arriving on an open keep-alive connection — each
   * answered with `Connection: close`, so clients go elsewhere; connections idle for
   * DRAIN_IDLE_GRACE_MS are closed; whatever is left at the timeout is cut.
   */
  close(timeoutMs?: number): Promise<void>;
  /** true once close() was called */
  readonly draining: boolean;
}

/**
 * How long an idle keep-alive connection may stay open while draining. Closing an idle connection
 * races a request the client may be sending at that instant; a busy client sends its next request
 * well within this and gets `Connection: close` instead.
 */
export const DRAIN_IDLE_GRACE_MS = 1_000;

interface ConnState {
  busy: number;
  idleSince: number;
}

export async function listen(koa: Koa, port: number, host: string): Promise<RunningServer> {
  const handle = koa.callback();
  const conns = new Map<net.Socket, ConnState>();
  const pending = new Set<http.ServerResponse>();
  let draining = false;
  const server = http.createServer((req, res) => {
    const state = conns.get(req.socket);
    if (state) state.busy++;
    pending.add(res);
    res.once('close', () => {
      pending.delete(res);
      if (state) {
        state.busy--;
        state.idleSince = Date.now();
      }
    });
    if (draining) res.setHeader('Connection', 'close');
    void handle(req, res);
  });
  server.on('connection', (socket) => {
    conns.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => conns.delete(socket));
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost}:${actualPort}`,
    get draining() {
      return draining;
    },
    close(timeoutMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        // responses not yet started close their connection after they are sent
        for (const res of pending) if (!res.headersSent) res.setHeader('Connection', 'close');
        const started = Date.now();
        const sweep = setInterval(() => {
          const now = Date.now();
          for (const [socket, st] of conns) {
            if (now - started >= timeoutMs) socket.destroy();
            else if (st.busy === 0 && now - st.idleSince >= DRAIN_IDLE_GRACE_MS) socket.end();
          }
        }, 50);
        sweep.unref();
        // net.Server#close, not http.Server#close: the latter also drops idle keep-alive connections
        // at once, cutting a request a client is sending on one at that instant
        net.Server.prototype.close.call(server, () => {
          clearInterval(sweep);
          resolve();
        });
      });
      return closing;
    },
  };
}
