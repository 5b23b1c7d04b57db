/** Operational endpoints: health, readiness (including a database outage and recovery), metrics, the spec. */
import t from 'tap';
import YAML from 'yaml';
import { createApp, listen } from '../src/app/server.js';
import { createContext } from '../src/app/context.js';
import { features } from '../src/app/features.js';
import { urlForDatabase, createTestDatabase, signedIn, startTestApp, testConfig } from './helpers/harness.js';
import pg from 'pg';

const ta = await startTestApp(t);

t.test('healthz', async (t) => {
  const r = await ta.api.get('/healthz');
  t.equal(r.status, 200);
  t.same(r.body, { status: 'ok' });
  t.ok(r.headers.get('x-request-id'));
});

t.test('readyz is 200 with the database up and migrations current', async (t) => {
  const r = await ta.api.get('/readyz/');
  t.equal(r.status, 200);
  t.same(r.body, { status: 'ready', checks: { database: { ok: true }, migrations: { ok: true } } });
});

t.test('metrics are Prometheus text and count requests by operation', async (t) => {
  await ta.api.get('/healthz');
  // not public (issue 13): a System Admin here; the METRICS_TOKEN scrape is in security-hardening.test.ts
  const admin = await signedIn(ta, { role: 'System Admin' });
  t.equal((await ta.api.get('/metrics')).status, 401, 'anonymous callers are refused');
  const r = await ta.api.get('/metrics', { token: admin.token });
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /text\/plain/);
  t.match(r.text, /http_requests_total\{method="GET",operation="getHealth",status="200"\} \d+/);
  t.match(r.text, /process_cpu_user_seconds_total/);
});

t.test('the spec is served as YAML and JSON, and they agree', async (t) => {
  const y = await ta.api.get('/openapi.yaml');
  const j = await ta.api.get('/openapi.json');
  t.equal(y.status, 200);
  t.equal(j.status, 200);
  t.match(y.headers.get('content-type'), /yaml/);
  t.same(YAML.parse(y.text), j.body);
  t.equal(j.body.openapi, '3.1.0');
});

t.test('readiness reports 503 while the database refuses connections, and recovers without a restart', async (t) => {
  const { name, url } = await createTestDatabase(t);
  const app = await createContext(testConfig(url, t.testdirName), { migrate: false, supervise: false });
  const server = await listen(createApp(app, features), 0, '127.0.0.1');
  t.teardown(async () => {
    await server.close(1000);
    await app.close();
  });
  const admin = new pg.Client({ connectionString: urlForDatabase('postgres') });
  await admin.connect();
  t.teardown(() => admin.end());
  t.equal((await fetch(`${server.url}/readyz`)).status, 200);

  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  const down = await fetch(`${server.url}/readyz`);
  t.equal(down.status, 503);
  t.match(await down.json(), { status: 'unavailable', checks: { database: { ok: false } } });
  t.ok(down.headers.get('retry-after'));
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, 'liveness does not depend on the database');

  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await fetch(`${server.url}/readyz`)).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(status, 200, 'ready again once the database is back');
});
