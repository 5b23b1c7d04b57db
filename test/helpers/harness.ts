/**
 * Test harness: a fresh database per test file (cloned from the migrated template that
 * test/run.ts prepares), the real app listening on port 0, an HTTP caller that checks every
 * response against openapi.yaml, and data builders.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { createContext, type AppContext } from '../../src/app/context.js';
import type { Feature } from '../../src/app/feature.js';
import { features as allFeatures } from '../../src/app/features.js';
import { createApp, listen, type RunningServer } from '../../src/app/server.js';
import { startWorkers } from '../../src/app/worker.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { compileResponseValidator, loadSpec, matchOperation } from '../../src/http/openapi.js';
import { sha256 } from '../../src/lib/crypto.js';
import { hashPassword } from '../../src/features/auth/passwords.js';
import { signAccessToken } from '../../src/lib/jwt.js';

/** Minimal view of a tap Test that the harness needs. */
export interface T {
  teardown(fn: () => unknown): void;
  fail(message: string): unknown;
}

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests with \`npm test\` (test/run.ts prepares the database)`);
  return v;
}

export function urlForDatabase(db: string): string {
  const u = new URL(requireEnv('SS_TEST_ADMIN_URL'));
  u.pathname = `/${db}`;
  return u.toString();
}

/** Clone the migrated template into a new database for this test; dropped at teardown. */
export async function createTestDatabase(t: T): Promise<{ name: string; url: string }> {
  const name = `ss_t_${requireEnv('SS_TEST_RUN')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: requireEnv('SS_TEST_ADMIN_URL') });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${requireEnv('SS_TEST_TEMPLATE')}`);
        break;
      } catch (err) {
        // another file cloning the same template at this instant: try again shortly
        if (attempt < 20 && /being accessed by other users/.test((err as Error).message)) {
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
          continue;
        }
        throw err;
      }
    }
    // CREATE DATABASE … TEMPLATE copies the schema, not the settings the migrations gave the template
    // database (ALTER DATABASE … SET): give the clone the same, as a migrated database has them
    const { rows } = await admin.query<{ kv: string }>(
      'SELECT unnest(s.setconfig) AS kv FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1 AND s.setrole = 0',
      [requireEnv('SS_TEST_TEMPLATE')],
    );
    for (const { kv } of rows) {
      const at = kv.indexOf('=');
      await admin.query(`ALTER DATABASE ${name} SET ${admin.escapeIdentifier(kv.slice(0, at))} = ${admin.escapeLiteral(kv.slice(at + 1))}`);
    }
  } finally {
    await admin.end();
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: requireEnv('SS_TEST_ADMIN_URL') });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await c.end();
  });
  return { name, url: urlForDatabase(name) };
}

export interface CallOptions {
  token?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | (string | number)[]>;
  /** raw body (string/Buffer/FormData) instead of JSON */
  raw?: NonNullable<RequestInit['body']>;
  /** skip the response-vs-spec check (for deliberately off-contract requests) */
  unchecked?: boolean;
}

export interface CallResult<B = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  status: number;
  headers: Headers;
  body: B;
  text: string;
}

const spec = loadSpec();
const responseValidator = compileResponseValidator(spec);

export class Api {
  constructor(readonly baseUrl: string, private readonly t: T) {}

  async call<B = any>(method: string, p: string, body?: unknown, opts: CallOptions = {}): Promise<CallResult<B>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const u = new URL(p, this.baseUrl);
    for (const [k, v] of Object.entries(opts.query ?? {})) for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.apiKey) headers['X-API-Key'] = opts.apiKey;
    let payload: NonNullable<RequestInit['body']> | undefined = opts.raw;
    if (body !== undefined && payload === undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(u, { method, headers, body: payload, redirect: 'manual' });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (/json/.test(type) && text) parsed = JSON.parse(text);
    if (!opts.unchecked) this.check(method, u.pathname, res.status, type, parsed, res.headers);
    return { status: res.status, headers: res.headers, body: parsed as B, text };
  }

  /** Every response must be one the spec documents, and (4xx/5xx) be problem+json. */
  private check(method: string, pathname: string, status: number, type: string, body: unknown, headers: Headers): void {
    const op = matchOperation(spec, method, pathname);
    if (!op) {
      if (status !== 404 && status !== 405) this.t.fail(`${method} ${pathname} is not in openapi.yaml but answered ${status}`);
      return;
    }
    if (status >= 400 && !type.startsWith('application/problem+json')) this.t.fail(`${method} ${pathname} ${status} is not problem+json (${type})`);
    const problems = responseValidator(op.operationId)(status, type, body === '' ? undefined : body, headers);
    if (problems.length) this.t.fail(`response does not match openapi.yaml: ${problems.join('; ')} — body: ${JSON.stringify(body).slice(0, 500)}`);
  }

  get = <B = any>(p: string, opts?: CallOptions) => this.call<B>('GET', p, undefined, opts); // eslint-disable-line @typescript-eslint/no-explicit-any
  delete = <B = any>(p: string, opts?: CallOptions) => this.call<B>('DELETE', p, undefined, opts); // eslint-disable-line @typescript-eslint/no-explicit-any
  post = <B = any>(p: string, body?: unknown, opts?: CallOptions) => this.call<B>('POST', p, body, opts); // eslint-disable-line @typescript-eslint/no-explicit-any
  put = <B = any>(p: string, body?: unknown, opts?: CallOptions) => this.call<B>('PUT', p, body, opts); // eslint-disable-line @typescript-eslint/no-explicit-any
  patch = <B = any>(p: string, body?: unknown, opts?: CallOptions) => this.call<B>('PATCH', p, body, opts); // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface TestApp {
  app: AppContext;
  db: Knex;
  config: Config;
  url: string;
  api: Api;
  http: RunningServer;
  dataDir: string;
  /** start the job workers in this process (off by default so tests control when jobs run) */
  startWorkers(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  features?: Feature[];
  worker?: boolean;
}

export function testConfig(databaseUrl: string, dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    SMARTSUPPORT_DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    RATE_LIMIT_PER_MINUTE: '100000',
    REGISTRATION_LIMIT_PER_HOUR: '100000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...env,
  });
}

/** The real app on its own database, listening on 127.0.0.1:0; closed at teardown. */
/**
 * The app's database URLs: direct, or (under TEST_PGBOUNCER=1, see test/run.ts) DATABASE_URL
 * through PgBouncer in transaction mode and DATABASE_DIRECT_URL for session work.
 */
export function databaseEnv(directUrl: string): Record<string, string> {
  const pooler = process.env.SS_TEST_PGBOUNCER_URL;
  if (!pooler) return { DATABASE_URL: directUrl };
  const u = new URL(pooler);
  u.pathname = new URL(directUrl).pathname;
  return { DATABASE_URL: u.toString(), DATABASE_DIRECT_URL: directUrl };
}

/** testConfig on a test database's direct URL, through the pooler under TEST_PGBOUNCER=1 (see databaseEnv). */
export function testConfigOn(directUrl: string, dataDir: string, env: Record<string, string> = {}): Config {
  const { DATABASE_URL: databaseUrl, ...direct } = databaseEnv(directUrl);
  return testConfig(databaseUrl!, dataDir, { ...direct, ...env });
}

/**
 * The database URLs of a running test app for a child process (`smartsupport serve|worker|…`): its
 * DATABASE_URL and, when that is a pooler (TEST_PGBOUNCER=1), DATABASE_DIRECT_URL, which pg-boss and
 * LISTEN need: a child given only the pooler would run them through transaction pooling.
 */
export function appDatabaseEnv(app: AppContext): Record<string, string> {
  return { DATABASE_URL: app.databaseUrl, ...(app.directUrl !== app.databaseUrl ? { DATABASE_DIRECT_URL: app.directUrl } : {}) };
}

export async function startTestApp(t: T, opts: TestAppOptions = {}): Promise<TestApp> {
  const { url: directUrl } = await createTestDatabase(t);
  const { DATABASE_URL: databaseUrl, ...direct } = databaseEnv(directUrl);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ss-test-data-'));
  const config = testConfig(databaseUrl, dataDir, { ...direct, ...opts.env });
  const app = await createContext(config, { migrate: false, supervise: Boolean(opts.worker) });
  const features = opts.features ?? allFeatures;
  for (const f of features) await f.onStart?.(app);
  const http = await listen(createApp(app, features), 0, '127.0.0.1');
  let workersStarted = false;
  const startW = async () => {
    if (workersStarted) return;
    workersStarted = true;
    await startWorkers(app, features);
  };
  if (opts.worker) await startW();
  t.teardown(async () => {
    await http.close(2_000);
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { app, db: app.db, config, url: http.url, api: new Api(http.url, t), http, dataDir, startWorkers: startW };
}

// ─── data builders ───────────────────────────────────────────────────────────

export type Role = 'Employee' | 'Ticket Coordinator' | 'System Admin';

export interface EmployeeRow {
  id: number;
  company_id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: Role;
  status: string;
  department: string;
}

let seq = 0;

/** argon2 is deliberately slow: hash each distinct test password once per process. */
const hashCache = new Map<string, Promise<string>>();
export const passwordHashFor = (password: string): Promise<string> => {
  let h = hashCache.get(password);
  if (!h) hashCache.set(password, (h = hashPassword(password)));
  return h;
};

export async function createEmployee(db: Knex, over: Partial<EmployeeRow> & { password_hash?: string | null; password?: string } = {}): Promise<EmployeeRow> {
  seq += 1;
  const n = `${process.pid}${seq}${randomBytes(2).toString('hex')}`;
  const { password, ...rest } = over;
  const [row] = await db('employees')
    .insert({
      first_name: 'Test',
      last_name: `Person${seq}`,
      email: `person${n}@example.com`,
      department: 'IT Department',
      role: 'Employee',
      status: 'Approved',
      ...(password !== undefined ? { password_hash: await passwordHashFor(password) } : {}),
      ...rest,
    })
    .returning('*');
  return row as EmployeeRow;
}

export async function tokenFor(app: AppContext, e: { id: number; role: string }): Promise<string> {
  return signAccessToken(app.jwt, { sub: String(e.id), role: e.role });
}

/** An employee plus a valid access token for them. */
export async function signedIn(ta: TestApp, over: Partial<EmployeeRow> = {}): Promise<{ user: EmployeeRow; token: string }> {
  const user = await createEmployee(ta.db, over);
  return { user, token: await tokenFor(ta.app, user) };
}

export interface LoginResult {
  access: string;
  refresh: string;
  token_type: string;
  expires_in: number;
  user: EmployeeRow & Record<string, unknown>;
}

/** Sign in through the real portal (staff roles use /api/token/admin/ unless `portal` says otherwise). */
export async function login(ta: TestApp, email: string, password: string, portal?: 'employee' | 'admin'): Promise<LoginResult> {
  const row = portal ? undefined : await ta.db('employees').whereRaw('lower(email) = lower(?)', [email]).first('role');
  const which = portal ?? (row && row.role !== 'Employee' ? 'admin' : 'employee');
  const r = await ta.api.post<LoginResult>(`/api/token/${which}/`, { email, password });
  if (r.status !== 200) throw new Error(`login as ${email} failed: ${r.status} ${r.text}`);
  return r.body;
}

export async function createApiKey(db: Knex, opts: { role?: Role; scopes?: string[]; expiresAt?: Date; name?: string } = {}): Promise<{ id: number; key: string }> {
  const key = `ssk_${randomBytes(24).toString('base64url')}`;
  const [row] = await db('api_keys')
    .insert({ name: opts.name ?? 'test key', prefix: key.slice(0, 12), key_hash: sha256(key), role: opts.role ?? 'System Admin', scopes: opts.scopes ?? [], expires_at: opts.expiresAt ?? null })
    .returning('id');
  return { id: row.id, key };
}
