/**
 * A small fetch wrapper for the SmartSupport API, used by the CLI (and usable by scripts):
 * auth headers, transparent refresh of an expired access token, an Idempotency-Key on every POST,
 * and problem+json turned into ApiError.
 */
import type { CallOptions, HttpMethod, PathsFor, ResultOf } from './typed.js';
import type { paths } from './schema.js';

/** Options are optional only when the operation has no path parameters. */
type CallArgs<P extends keyof paths, M extends HttpMethod> = CallOptions<P, M> extends { path: object } ? [opts: CallOptions<P, M>] : [opts?: CallOptions<P, M>];

// globalThis.crypto (Node ≥ 19): no node:crypto import, so the CLI starts faster
const randomUUID = (): string => globalThis.crypto.randomUUID();

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: { field: string; message: string }[];
  [k: string]: unknown;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

export class NetworkError extends Error {
  constructor(readonly url: string, cause: unknown) {
    super(`cannot reach ${url}: ${(cause as Error)?.message ?? cause}`);
    this.name = 'NetworkError';
  }
}

const SECRET_FIELDS = new Set(['password', 'confirm_password', 'current_password', 'new_password', 'refresh', 'token', 'key']);

/** A copy of a request body with secret-looking fields replaced (for --dry-run output). */
function redactSecrets(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).map(([k, v]) => [k, SECRET_FIELDS.has(k) && typeof v === 'string' ? '[redacted]' : v]));
}

export interface Credentials {
  accessToken?: string;
  refreshToken?: string;
  apiKey?: string;
}

export interface ClientOptions {
  baseUrl: string;
  credentials: Credentials;
  /** Called after a transparent refresh so the caller can persist the new pair. */
  onTokens?: (tokens: { accessToken: string; refreshToken: string }) => void | Promise<void>;
  fetch?: typeof fetch;
  userAgent?: string;
  /**
   * A caller-chosen Idempotency-Key for this client's POSTs (e.g. a cron job passes the same one on a
   * retry, so the server answers with the first result instead of creating twice). The first POST uses
   * it as is, later ones `<key>-2`, `<key>-3`… (deterministic as long as the command's order is).
   */
  idempotencyKey?: string;
  /** called with a secret-free description of each request before it is sent (may throw to stop it) */
  onRequest?: (described: ReturnType<ApiClient['describe']>) => void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | (string | number)[] | undefined>;
  body?: unknown;
  /** a prepared FormData (multipart); sent as is */
  form?: FormData;
  headers?: Record<string, string>;
  /** return the raw Response (downloads) instead of parsing JSON */
  raw?: boolean;
  idempotencyKey?: string;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  data: T;
}

export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  private posts = 0;
  constructor(readonly options: ClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(path.replace(/^\/?/, '/'), this.options.baseUrl.replace(/\/+$/, '') + '/');
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
    }
    return u.toString();
  }

  /** Describe the request that would be sent (for --dry-run); never includes secrets. */
  describe(method: string, path: string, opts: RequestOptions = {}): { method: string; url: string; headers: Record<string, string>; body?: unknown } {
    const headers = this.headers(method, opts, true);
    const form = opts.form ? Object.fromEntries([...opts.form.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : `<file ${v.name}, ${v.size} bytes>`])) : undefined;
    const body = redactSecrets(form ?? opts.body);
    return { method: method.toUpperCase(), url: this.url(path, opts.query), headers, ...(body !== undefined ? { body } : {}) };
  }

  private headers(method: string, opts: RequestOptions, redact = false): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json, application/problem+json', ...(opts.headers ?? {}) };
    if (this.options.userAgent) h['User-Agent'] = this.options.userAgent;
    const c = this.options.credentials;
    if (c.accessToken) h.Authorization = redact ? 'Bearer [redacted]' : `Bearer ${c.accessToken}`;
    else if (c.apiKey) h['X-API-Key'] = redact ? '[redacted]' : c.apiKey;
    if (opts.body !== undefined && !opts.form) h['Content-Type'] = 'application/json';
    if (method.toUpperCase() === 'POST' && !h['Idempotency-Key']) h['Idempotency-Key'] = opts.idempotencyKey ?? randomUUID();
    return h;
  }

  /**
   * A call checked against the contract: `client.call('patch', '/api/tickets/{id}/', { path: { id }, body })`.
   * The path is the spec's template; its parameters are filled in (URL-encoded) from `path`.
   */
  call<P extends PathsFor<M>, M extends HttpMethod>(method: M, path: P, ...[opts]: CallArgs<P, M>): Promise<ApiResponse<ResultOf<P, M>>> {
    const o = (opts ?? {}) as { path?: Record<string, string | number> } & Omit<RequestOptions, 'query'> & { query?: unknown };
    const filled = String(path).replace(/\{([^}]+)\}/g, (_, name: string) => {
      const v = o.path?.[name];
      if (v === undefined || v === '') throw new TypeError(`missing path parameter ${name} for ${path}`);
      return encodeURIComponent(String(v));
    });
    const { path: _params, query, ...rest } = o;
    return this.request<ResultOf<P, M>>(method, filled, { ...rest, query: query as RequestOptions['query'] });
  }

  /** An unchecked call (`smartsupport api`, downloads): prefer `call`. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    // one key for the whole call, so a retry after a refresh is still the same logical request
    const o = { ...opts, idempotencyKey: opts.idempotencyKey ?? (method.toUpperCase() === 'POST' ? this.nextIdempotencyKey() : undefined) };
    this.options.onRequest?.(this.describe(method, path, o));
    let res = await this.send(method, path, o);
    if (res.status === 401 && this.options.credentials.refreshToken && this.options.credentials.accessToken) {
      const problem = (await res.clone().json().catch(() => ({}))) as Problem;
      if (problem.code === 'token_expired' && (await this.refresh())) res = await this.send(method, path, o);
    }
    return this.parse<T>(res, o);
  }

  private nextIdempotencyKey(): string {
    const base = this.options.idempotencyKey;
    if (!base) return randomUUID();
    this.posts += 1;
    return this.posts === 1 ? base : `${base}-${this.posts}`;
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const url = this.url(path, opts.query);
    try {
      return await this.fetchImpl(url, {
        method: method.toUpperCase(),
        headers: this.headers(method, opts),
        body: opts.form ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
        redirect: 'manual',
      });
    } catch (err) {
      throw new NetworkError(new URL(url).origin, (err as { cause?: unknown }).cause ?? err);
    }
  }

  private async parse<T>(res: Response, opts: RequestOptions): Promise<ApiResponse<T>> {
    if (res.status >= 400) {
      const text = await res.text();
      let problem: Problem;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = { status: res.status, detail: text.slice(0, 200) || res.statusText };
      }
      throw new ApiError(res.status, { ...problem, status: res.status });
    }
    if (opts.raw) return { status: res.status, headers: res.headers, data: res as unknown as T };
    const type = res.headers.get('content-type') ?? '';
    const data = res.status === 204 ? undefined : type.includes('json') ? await res.json() : await res.text();
    return { status: res.status, headers: res.headers, data: data as T };
  }

  private async refresh(): Promise<boolean> {
    const c = this.options.credentials;
    const res = await this.send('POST', '/api/token/refresh/', { body: { refresh: c.refreshToken } });
    if (!res.ok) return false;
    const body = (await res.json()) as { access: string; refresh: string };
    c.accessToken = body.access;
    c.refreshToken = body.refresh;
    await this.options.onTokens?.({ accessToken: body.access, refreshToken: body.refresh });
    return true;
  }
}
