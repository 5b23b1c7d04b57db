/**
 * The HTTP edge, exercised through a fixture contract: routing by operationId, request validation,
 * problem+json for every error, role and scope enforcement, request ids, security headers.
 */
import path from 'node:path';
import t from 'tap';
import { createContext } from '../src/app/context.js';
import type { Feature } from '../src/app/feature.js';
import { opsFeature } from '../src/features/ops/ops-routes.js';
import { checkParity, createApp, listen, requestGroupKeys, routeGroupKey } from '../src/app/server.js';
import { loadSpec } from '../src/http/openapi.js';
import { createApiKey, createEmployee, createTestDatabase, testConfigOn, tokenFor } from './helpers/harness.js';

const spec = loadSpec(path.join(import.meta.dirname, 'fixtures', 'edge-spec.yaml'));

const thingsFeature: Feature = {
  name: 'things',
  routes: () => ({
    listThings: (ctx) => void (ctx.body = { query: ctx.state.input.query, caller: ctx.state.principal?.kind }),
    createThing: (ctx) => {
      ctx.status = 201;
      ctx.body = { got: ctx.state.input.body };
    },
    getThing: (ctx) => void (ctx.body = { id: ctx.state.input.params.id }),
    getSpecialThing: (ctx) => void (ctx.body = { special: true }),
    getKindTotal: (ctx) => void (ctx.body = { kind: ctx.state.input.params.kind }),
    getKindStats: (ctx) => void (ctx.body = { stats: ctx.state.input.params.kind }),
    uploadThing: (ctx) => {
      ctx.status = 201;
      ctx.body = { note: ctx.state.input.body?.note ?? null };
    },
    boom: () => {
      throw new Error('secret internals: SELECT * FROM employees');
    },
  }),
};

const { url: dbUrl } = await createTestDatabase(t);
const app = await createContext(testConfigOn(dbUrl, t.testdirName), { migrate: false, supervise: false });
const server = await listen(createApp(app, [opsFeature, thingsFeature], { spec }), 0, '127.0.0.1');
t.teardown(async () => {
  await server.close(1000);
  await app.close();
});

const admin = await createEmployee(app.db, { role: 'System Admin' });
const employee = await createEmployee(app.db, { role: 'Employee' });
const adminToken = await tokenFor(app, admin);
const employeeToken = await tokenFor(app, employee);

async function call(method: string, p: string, opts: { token?: string; apiKey?: string; body?: string; type?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers['X-API-Key'] = opts.apiKey;
  if (opts.body !== undefined) headers['Content-Type'] = opts.type ?? 'application/json';
  const res = await fetch(server.url + p, { method, headers, body: opts.body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : undefined };
}

t.test('parity: a spec operation without a handler stops start-up', async (t) => {
  t.throws(() => checkParity(spec, { listThings: () => undefined }), /without a handler: .*createThing/);
  t.throws(() => checkParity(spec, { ...thingsFeature.routes!(app), extra: () => undefined }), /no operation in openapi.yaml: extra/);
});

t.test('valid requests reach the handler with coerced input', async (t) => {
  const r = await call('GET', '/api/things/?limit=5&status=New&status=Open', { token: employeeToken });
  t.equal(r.status, 200);
  t.same(r.body.query, { limit: 5, status: ['New', 'Open'] });
  const one = await call('GET', '/api/things/?status=Open', { token: employeeToken });
  t.same(one.body.query, { limit: 20, status: ['Open'] }, 'defaults applied and a single value becomes an array');
});

t.test('paths work with and without the trailing slash; literal paths win over parameters', async (t) => {
  t.equal((await call('GET', '/api/things/TH0042', { token: employeeToken })).body.id, 'TH0042');
  t.equal((await call('GET', '/api/things/TH0042/', { token: employeeToken })).body.id, 'TH0042');
  t.same((await call('GET', '/api/things/special/')).body, { special: true });
  // literal paths are looked up directly (src/app/server.ts): the same answers as through the routers
  t.same((await call('GET', '/API/Things/Special')).body, { special: true }, 'a literal path, any case, no trailing slash');
  const head = await call('HEAD', '/api/things/special/');
  t.equal(head.status, 200, 'HEAD reaches a literal GET route');
  t.equal(head.body, undefined, 'with no body');
  t.equal((await call('GET', '/api/things/?limit=5', { token: employeeToken })).status, 200, 'a literal path that needs credentials');
  t.equal((await call('GET', '/api/things/?limit=5')).status, 401, 'still authenticates');
});

t.test('routing: one router per leading path, case-insensitive, falling back to shorter prefixes', async (t) => {
  t.equal(routeGroupKey('/api/things/{id}/'), '/api/things');
  t.equal(routeGroupKey('/api/{kind}/summary/total/'), '/api');
  t.equal(routeGroupKey('/healthz'), '/healthz');
  t.equal(routeGroupKey('/'), '/');
  t.equal(routeGroupKey('/{kind}/stats/'), '/');
  t.same(requestGroupKeys('/API/Things/TH0042/'), ['/api/things', '/api', '/']);
  t.same(requestGroupKeys('/healthz'), ['/healthz', '/']);
  t.same(requestGroupKeys('/'), ['/']);
  t.same((await call('GET', '/reports/stats/')).body, { stats: 'reports' }, 'a template led by a parameter is reachable');
  t.equal((await call('GET', '/API/Things/TH0042/', { token: employeeToken })).body.id, 'TH0042', 'paths match regardless of case, as before');
  // `/api/things` has routes but none of this length: the `/api` group answers
  t.same((await call('GET', '/api/things/summary/total/')).body, { kind: 'things' });
  t.same((await call('GET', '/api/other/summary/total')).body, { kind: 'other' });
  t.equal((await call('GET', '/api/things/summary/none/')).status, 404, 'no group matches: 404');
});

t.test('validation failures are 400 problem+json naming the field', async (t) => {
  const q = await call('GET', '/api/things/?limit=500', { token: employeeToken });
  t.equal(q.status, 400);
  t.match(q.type, /^application\/problem\+json/);
  t.equal(q.body.code, 'validation_failed');
  t.match(q.body.errors, [{ field: 'query.limit' }]);

  const unknown = await call('GET', '/api/things/?stauts=Open', { token: employeeToken });
  t.equal(unknown.status, 400);
  t.match(unknown.body.errors, [{ field: 'query.stauts', message: 'is not allowed' }]);

  const body = await call('POST', '/api/things/', { token: adminToken, body: JSON.stringify({ count: 'x', role: 'System Admin' }) });
  t.equal(body.status, 400);
  const fields = body.body.errors.map((e: { field: string }) => e.field).sort();
  t.same(fields, ['count', 'name', 'role']);

  const p = await call('GET', '/api/things/../etc/', { token: employeeToken });
  t.equal(p.status, 404);

  const badId = await call('GET', '/api/things/nope/', { token: employeeToken });
  t.equal(badId.status, 400);
  t.match(badId.body.errors, [{ field: 'path.id' }]);
});

t.test('malformed JSON, wrong content type and missing body', async (t) => {
  const bad = await call('POST', '/api/things/', { token: adminToken, body: '{"name": ' });
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'malformed_body');
  const xml = await call('POST', '/api/things/', { token: adminToken, body: '<a/>', type: 'application/xml' });
  t.equal(xml.status, 415);
  t.equal(xml.body.code, 'unsupported_media_type');
  const none = await call('POST', '/api/things/', { token: adminToken });
  t.equal(none.status, 400);
  t.match(none.body.errors, [{ field: 'body', message: 'is required' }]);
  const ok = await call('POST', '/api/things/', { token: adminToken, body: JSON.stringify({ name: 'x', count: 2 }) });
  t.equal(ok.status, 201);
  t.same(ok.body.got, { name: 'x', count: 2 });
});

t.test('malformed multipart bodies are a 400, not a 500', async (t) => {
  for (const body of ['[]', '--x\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi', 'garbage without boundaries']) {
    const r = await call('POST', '/api/things/upload/', { body, type: 'multipart/form-data; boundary=x' });
    t.equal(r.status, 400, JSON.stringify(body));
    t.equal(r.body.code, 'malformed_body');
  }
  const noBoundary = await call('POST', '/api/things/upload/', { body: 'x', type: 'multipart/form-data' });
  t.equal(noBoundary.status, 400);
  const form = new FormData();
  form.append('note', 'hello');
  const ok = await fetch(`${server.url}/api/things/upload/`, { method: 'POST', body: form });
  t.equal(ok.status, 201);
  t.same(await ok.json(), { note: 'hello' });
});

t.test('authentication and roles', async (t) => {
  const anon = await call('GET', '/api/things/');
  t.equal(anon.status, 401);
  t.equal(anon.body.code, 'unauthenticated');
  const junk = await call('GET', '/api/things/', { token: 'not.a.jwt' });
  t.equal(junk.status, 401);
  t.equal(junk.body.code, 'invalid_token');
  const emp = await call('POST', '/api/things/', { token: employeeToken, body: JSON.stringify({ name: 'x' }) });
  t.equal(emp.status, 403);
  t.equal(emp.body.code, 'role_forbidden');
});

t.test('API keys: scopes, revocation, expiry, and operations closed to keys', async (t) => {
  const reader = await createApiKey(app.db, { role: 'System Admin', scopes: ['tickets:read'] });
  t.equal((await call('GET', '/api/things/', { apiKey: reader.key })).body.caller, 'api_key');
  const write = await call('POST', '/api/things/', { apiKey: reader.key, body: JSON.stringify({ name: 'x' }) });
  t.equal(write.status, 403);
  t.equal(write.body.code, 'insufficient_scope');
  const bearerOnly = await call('GET', '/api/things/1/', { apiKey: reader.key });
  t.equal(bearerOnly.status, 403);
  t.equal(bearerOnly.body.code, 'api_key_not_allowed');

  await app.db('api_keys').where({ id: reader.id }).update({ revoked_at: app.db.fn.now() });
  const revoked = await call('GET', '/api/things/', { apiKey: reader.key });
  t.equal(revoked.status, 401);
  t.equal(revoked.body.code, 'invalid_api_key');

  const expired = await createApiKey(app.db, { scopes: ['tickets:read'], expiresAt: new Date(Date.now() - 1000) });
  t.equal((await call('GET', '/api/things/', { apiKey: expired.key })).status, 401);
  t.equal((await call('GET', '/api/things/', { apiKey: 'ssk_wrong' })).status, 401);
});

t.test('unknown routes and methods are problem+json', async (t) => {
  const nf = await call('GET', '/nowhere');
  t.equal(nf.status, 404);
  t.equal(nf.body.code, 'route_not_found');
  t.match(nf.type, /problem\+json/);
  const m = await call('DELETE', '/api/things/');
  t.equal(m.status, 405);
  t.equal(m.body.code, 'method_not_allowed');
  t.equal(m.headers.get('allow'), 'GET, POST', 'a 405 names the methods the path supports');
  t.equal((await call('DELETE', '/API/Things')).status, 405, 'as case-insensitive as the routes');
});

t.test('unexpected errors are a bare 500: no stack, no SQL', async (t) => {
  const r = await call('GET', '/api/boom/');
  t.equal(r.status, 500);
  t.equal(r.body.code, 'internal_error');
  t.notMatch(JSON.stringify(r.body), /SELECT|secret internals|at .*\.ts/);
  t.ok(r.body.request_id);
});

t.test('request ids and security headers', async (t) => {
  const r = await call('GET', '/api/things/special/', { headers: { 'X-Request-Id': 'client-chosen-id-123' } });
  t.equal(r.headers.get('x-request-id'), 'client-chosen-id-123', 'a well-formed incoming id is kept');
  const bad = await call('GET', '/api/things/special/', { headers: { 'X-Request-Id': 'x\u00e9<script>' } });
  t.match(bad.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, 'an unsafe one is replaced');
  t.equal(r.headers.get('x-content-type-options'), 'nosniff');
  t.equal(r.headers.get('x-frame-options'), 'DENY');
  t.match(r.headers.get('content-security-policy'), /default-src 'none'/);
});

t.test('a public operation without input (the probes) answers alike on its short path and the full chain', async (t) => {
  const plain = await call('GET', '/healthz');
  t.equal(plain.status, 200);
  t.same(plain.body, { status: 'ok' });
  t.match(plain.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, 'a request id');
  t.equal(plain.headers.get('x-content-type-options'), 'nosniff', 'the security headers');
  t.equal(plain.headers.get('cache-control'), null, 'cacheable: no caller');
  const head = await fetch(`${server.url}/HEALTHZ`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD, any case');
  // what the short path must leave to the full chain
  const query = await call('GET', '/healthz?verbose=1');
  t.equal(query.status, 400, 'an unknown query parameter is still refused');
  t.equal(query.type, 'application/problem+json; charset=utf-8');
  const forged = await call('GET', '/healthz', { token: 'not-a-jwt' });
  t.equal(forged.status, 401, 'a bad token is still a 401, even where none is needed');
  const signedIn = await call('GET', '/healthz', { token: employeeToken });
  t.equal(signedIn.status, 200);
  t.equal(signedIn.headers.get('cache-control'), 'no-store', 'an answer to a caller with credentials is not cacheable');
  const badKey = await call('GET', '/healthz', { apiKey: 'ss_nope' });
  t.equal(badKey.status, 401, 'a bad API key is a 401');
});

t.test('values PostgreSQL cannot hold are the client\'s 400, not a 500', async (t) => {
  const { toAppError } = await import('../src/http/errors.js');
  for (const sql of ["SELECT '99999999999999999999999'::bigint", "SELECT 'abc'::integer", "SELECT '2026-13-45'::date"]) {
    const err = await app.db.raw(sql).then(() => undefined, (e: unknown) => e);
    t.ok(err, sql);
    const mapped = toAppError(err);
    t.equal(mapped.status, 400, sql);
    t.equal(mapped.code, 'invalid_value');
    t.notMatch(mapped.detail, /bigint|integer|date|SELECT/, 'no SQL details');
  }
});

t.test('rate limit: RateLimit-* headers on every limited answer, 429 with Retry-After past the limit', async (t) => {
  const { url } = await createTestDatabase(t);
  const limited = await createContext(testConfigOn(url, t.testdirName, { RATE_LIMIT_PER_MINUTE: '3' }), { migrate: false, supervise: false });
  const s = await listen(createApp(limited, [opsFeature, thingsFeature], { spec }), 0, '127.0.0.1');
  t.teardown(async () => {
    await s.close(1000);
    await limited.close();
  });
  const seen: Response[] = [];
  for (let i = 0; i < 4; i++) seen.push(await fetch(`${s.url}/api/things/special/`));
  t.same(seen.map((r) => r.status), [200, 200, 200, 429]);
  t.same(seen.slice(0, 3).map((r) => r.headers.get('ratelimit-remaining')), ['2', '1', '0']);
  const last = seen[3];
  t.equal(last.headers.get('ratelimit-limit'), '3', 'the 429 names the real limit');
  t.equal(last.headers.get('ratelimit-remaining'), '0');
  t.ok(Number(last.headers.get('retry-after')) >= 1);
  t.equal(last.headers.get('ratelimit-reset'), last.headers.get('retry-after'));
  t.equal(((await last.json()) as { code: string }).code, 'rate_limited');
  t.equal((await fetch(`${s.url}/healthz`)).status, 200, 'probes are never limited');
});

t.test('production compiles every request validator before it serves; development and tests on first use', async (t) => {
  // the fixture contract with one body schema ajv cannot compile (a $ref to nothing)
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const doc = structuredClone(spec.doc);
  doc.paths['/api/things/'].post.requestBody.content['application/json'].schema = { $ref: '#/components/schemas/NoSuchSchema' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-eager-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'broken.yaml'), JSON.stringify(doc)); // JSON is YAML
  const broken = loadSpec(path.join(dir, 'broken.yaml'), path.join(dir, 'no-cache.json'));
  t.throws(() => createApp({ ...app, config: { ...app.config, nodeEnv: 'production' } }, [opsFeature, thingsFeature], { spec: broken }), /NoSuchSchema/, 'production: start-up fails on it');
  // (an app context of its own: one context registers its metrics once)
  const { url } = await createTestDatabase(t);
  const lazy = await createContext(testConfigOn(url, t.testdirName), { migrate: false, supervise: false });
  t.teardown(() => lazy.close());
  t.doesNotThrow(() => createApp(lazy, [opsFeature, thingsFeature], { spec: broken }), 'test: nothing is compiled until the operation is asked for');
});
