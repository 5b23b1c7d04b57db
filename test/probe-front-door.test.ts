/**
 * The liveness probe's front door (src/http/middleware.ts livenessFrontDoor): `GET|HEAD /healthz`
 * as a probe sends it is answered before Koa builds a context. What a caller sees must be what the
 * Koa pipeline answers — the same app with the front door turned off answers every probe here too,
 * and the two are compared header by header, with and without a trusted proxy and CORS — and
 * everything the front door does not take (a query string, credentials, a CORS Origin, another
 * spelling of the path or another method) must still reach Koa.
 */
import type Koa from 'koa';
import t from 'tap';
import { features } from '../src/app/features.js';
import { createApp, listen } from '../src/app/server.js';
import { Api, signedIn, startTestApp, type CallResult, type T, type TestApp } from './helpers/harness.js';

const ORIGIN = 'https://desk.example.com';

/** An app on the test context; `reachedKoa` counts the requests that got a Koa context. */
async function serve(t: T, ta: TestApp, frontDoor: boolean) {
  const koa = createApp(ta.app, features, { frontDoor });
  const counter = { reachedKoa: 0 };
  // outermost, ahead of the edge middleware: every request Koa handles passes here first
  koa.middleware.unshift(((_ctx, next) => {
    counter.reachedKoa++;
    return next();
  }) as Koa.Middleware);
  const server = await listen(koa, 0, '127.0.0.1');
  t.teardown(() => server.close(1_000));
  return { api: new Api(server.url, t), counter };
}

/** Every response header but the ones that differ by nature (Date) or by request (a new request id). */
function comparable(r: CallResult, generatedId: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    if (k === 'date' || (generatedId && k === 'x-request-id')) return;
    out[k] = v;
  });
  return out;
}

// HEAD is GET without the body (the harness's contract check knows GET only)
const probes: { what: string; method: 'GET' | 'HEAD'; headers?: Record<string, string>; generatedId: boolean }[] = [
  { what: 'GET', method: 'GET', generatedId: true },
  { what: 'HEAD', method: 'HEAD', generatedId: true },
  { what: 'a request id to echo', method: 'GET', headers: { 'X-Request-Id': 'lb-probe-0001' }, generatedId: false },
  { what: 'a request id that is not safe to echo', method: 'GET', headers: { 'X-Request-Id': 'no good\tid' }, generatedId: true },
  { what: 'X-Forwarded-Proto https', method: 'GET', headers: { 'X-Forwarded-Proto': 'https' }, generatedId: true },
  { what: 'a proxy chain whose first hop was plain http', method: 'GET', headers: { 'X-Forwarded-Proto': 'http, https' }, generatedId: true },
  { what: 'other headers a probe may send', method: 'GET', headers: { 'User-Agent': 'kube-probe/1.29', Accept: '*/*', Connection: 'close' }, generatedId: true },
];

for (const [name, env, behindProxy] of [
  ['defaults (no trusted proxy, no CORS)', {}, false],
  ['TRUST_PROXY and CORS_ORIGINS', { TRUST_PROXY: 'true', CORS_ORIGINS: ORIGIN }, true],
] as const) {
  t.test(name, async (t) => {
    const ta = await startTestApp(t, { env });
    const fronted = await serve(t, ta, true);
    const koaOnly = await serve(t, ta, false);

    t.test('the front door answers a probe exactly as the Koa pipeline does, without a Koa context', async (t) => {
      for (const p of probes) {
        const opts = { headers: p.headers, unchecked: p.method === 'HEAD' };
        const before = fronted.counter.reachedKoa;
        const a = await fronted.api.call(p.method, '/healthz', undefined, opts);
        const b = await koaOnly.api.call(p.method, '/healthz', undefined, opts);
        t.equal(fronted.counter.reachedKoa, before, `${p.what}: answered before Koa`);
        t.equal(a.status, 200, `${p.what}: 200`);
        t.equal(a.text, b.text, `${p.what}: the same body`);
        t.same(comparable(a, p.generatedId), comparable(b, p.generatedId), `${p.what}: the same headers`);
        if (p.generatedId) t.match(a.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, `${p.what}: a new request id`);
      }
      t.equal(koaOnly.counter.reachedKoa, probes.length, 'with the front door off, Koa answered every probe');
      t.equal((await fronted.api.get('/healthz', { headers: { 'X-Request-Id': 'lb-probe-0001' } })).headers.get('x-request-id'), 'lb-probe-0001', 'a safe request id is echoed');
      const https = await fronted.api.get('/healthz', { headers: { 'X-Forwarded-Proto': 'https' } });
      t.equal(https.headers.get('strict-transport-security'), behindProxy ? 'max-age=31536000; includeSubDomains' : null, behindProxy ? 'HSTS behind a trusted TLS-terminating proxy' : 'X-Forwarded-Proto is not trusted without TRUST_PROXY');
      t.equal((await fronted.api.get('/healthz')).headers.get('strict-transport-security'), null, 'no HSTS over plain http');
      const head = await fronted.api.call('HEAD', '/healthz', undefined, { unchecked: true });
      t.equal(head.text, '', 'HEAD: no body');
      t.equal(head.headers.get('content-length'), String(Buffer.byteLength('{"status":"ok"}')), 'HEAD: the length a GET would send');
      t.equal(head.headers.get('content-type'), 'application/json; charset=utf-8', 'HEAD: the type a GET would send');
    });

    t.test('whatever the front door does not take reaches Koa and is answered there', async (t) => {
      const admin = await signedIn(ta, { role: 'System Admin' });
      const cases: { what: string; run: () => Promise<CallResult>; status: number; check?: (r: CallResult) => void }[] = [
        { what: 'a query string (refused by the contract)', run: () => fronted.api.get('/healthz', { query: { verbose: 1 } }), status: 400 },
        { what: 'a bearer token', run: () => fronted.api.get('/healthz', { token: admin.token }), status: 200, check: (r) => t.equal(r.headers.get('cache-control'), 'no-store', 'an answer to a caller with credentials is not cached') },
        { what: 'a bad bearer token', run: () => fronted.api.get('/healthz', { token: 'not-a-jwt' }), status: 401 },
        { what: 'an API key that does not exist', run: () => fronted.api.get('/healthz', { apiKey: 'ss_not_a_real_key_0000000000000000' }), status: 401 },
        // the path is matched case-insensitively by the router (the harness's contract check is case-sensitive)
        { what: 'another spelling of the path', run: () => fronted.api.get('/HEALTHZ', { unchecked: true }), status: 200 },
        { what: 'another method', run: () => fronted.api.call('POST', '/healthz', {}), status: 405 },
        ...(behindProxy
          ? [{ what: 'a CORS Origin', run: () => fronted.api.get('/healthz', { headers: { Origin: ORIGIN } }), status: 200, check: (r: CallResult) => t.equal(r.headers.get('access-control-allow-origin'), ORIGIN, 'CORS answered it') }]
          : []),
      ];
      for (const c of cases) {
        const before = fronted.counter.reachedKoa;
        const a = await c.run();
        t.equal(fronted.counter.reachedKoa, before + 1, `${c.what}: reached Koa`);
        t.equal(a.status, c.status, `${c.what}: ${c.status}`);
        t.match(a.headers.get('x-request-id'), /.{8,}/, `${c.what}: a request id`);
        t.equal(a.headers.get('x-content-type-options'), 'nosniff', `${c.what}: the security headers`);
        c.check?.(a);
      }
    });

    t.test('a probe answered at the front door is counted like any request', async (t) => {
      const count = async (method: string) => {
        const text = await ta.app.metrics.metrics();
        const m = new RegExp(`^http_requests_total\\{method="${method}",operation="getHealth",status="200"\\} (\\d+)$`, 'm').exec(text);
        return m ? Number(m[1]) : 0;
      };
      const [get0, head0] = [await count('GET'), await count('HEAD')];
      const reached = fronted.counter.reachedKoa;
      for (let i = 0; i < 3; i++) await fronted.api.get('/healthz');
      await fronted.api.call('HEAD', '/healthz', undefined, { unchecked: true });
      t.equal(fronted.counter.reachedKoa, reached, 'all four answered at the front door');
      t.equal(await count('GET'), get0 + 3, 'three GETs counted as getHealth 200');
      t.equal(await count('HEAD'), head0 + 1, 'one HEAD counted as getHealth 200');
    });
  });
}

t.test('a front door that throws never takes the process down', async (t) => {
  const { FrontedKoa } = await import('../src/app/server.js');
  let mode: 'before' | 'after' = 'before';
  const koa = new FrontedKoa({ proxy: false }, (_req, res) => {
    if (mode === 'after') res.writeHead(200, ['Content-Length', '100']).write('partial');
    throw new Error('front door bug');
  });
  koa.use((ctx) => {
    ctx.body = { answeredBy: 'koa' };
  });
  const server = await listen(koa, 0, '127.0.0.1');
  t.teardown(() => server.close(1_000));
  const before = await fetch(`${server.url}/healthz`);
  t.same(await before.json(), { answeredBy: 'koa' }, 'thrown before anything was written: Koa answers');
  mode = 'after';
  const after = await fetch(`${server.url}/healthz`).then((r) => r.text()).then(
    () => 'completed',
    () => 'cut off',
  );
  t.equal(after, 'cut off', 'thrown after the answer began: the connection is cut, not left hanging');
  mode = 'before';
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server still answers');
});
