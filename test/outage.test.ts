/**
 * Database outage: stop PostgreSQL under load → readiness 503, requests fail fast with 503
 * problem+json, nothing half-written; start it again → the same process recovers.
 * Uses its own embedded PostgreSQL so it can really be stopped.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createContext, type AppContext } from '../src/app/context.js';
import type { ApiContext, Feature, RouteTable } from '../src/app/feature.js';
import { opsFeature } from '../src/features/ops/ops-routes.js';
import { collectRoutes, createApp, listen } from '../src/app/server.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { loadSpec } from '../src/http/openapi.js';
import { testConfig } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';

const spec = loadSpec(path.join(import.meta.dirname, 'fixtures', 'edge-spec.yaml'));
const tmp = await mkdtemp(path.join(os.tmpdir(), 'ss-outage-'));
await chmod(tmp, 0o755);
const dir = path.join(tmp, 'pg');
let pg = await startEmbeddedPostgres({ dir, database: 'outage' });
const port = pg.port;
t.teardown(async () => {
  await pg.stop();
  await rm(tmp, { recursive: true, force: true });
});

// every other operation of the edge fixture answers {} (createApp refuses a spec operation without a handler)
const stubs = (app: AppContext): RouteTable => {
  const ops = collectRoutes(app, [opsFeature]);
  return Object.fromEntries(spec.operations.filter((o) => !ops[o.operationId]).map((o) => [o.operationId, (ctx: ApiContext) => void (ctx.body = {})]));
};

// a write of two rows in one transaction: after an outage either both exist or neither
const feature: Feature = {
  name: 'pairs',
  routes: (app) => ({
    ...stubs(app),
    listThings: async (ctx) => void (ctx.body = { count: Number((await app.db('pairs').count({ n: '*' }))[0].n) }),
    createThing: async (ctx) => {
      await app.db.transaction(async (trx) => {
        const [a] = await trx('pairs').insert({ half: 'a' }).returning('id');
        await trx.raw('SELECT pg_sleep(0.02)');
        await trx('pairs').insert({ half: 'b', partner: a.id });
      });
      ctx.status = 201;
      ctx.body = {};
    },
  }),
};

const config = testConfig(pg.url, tmp, { DATABASE_POOL_MAX: '5' });
const app = await createContext(config, { migrate: true, supervise: false });
await app.db.schema.createTable('pairs', (tb) => {
  tb.increments('id');
  tb.text('half').notNullable();
  tb.integer('partner');
});
const server = await listen(createApp(app, [opsFeature, feature], { spec }), 0, '127.0.0.1');
t.teardown(async () => {
  await server.close(1000);
  await app.close();
});
const { createApiKey } = await import('./helpers/harness.js');
const { key } = await createApiKey(app.db, { role: 'System Admin', scopes: ['tickets:read', 'tickets:write'] });
const post = () => fetch(`${server.url}/api/things/`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body: '{"name":"x"}' });

t.test('stop the database under load, then start it again', async (t) => {
  let stop = false;
  const statuses: number[] = [];
  const types = new Set<string>();
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!stop) {
        const r = await post();
        statuses.push(r.status);
        if (r.status >= 400) types.add(r.headers.get('content-type') ?? '');
        await r.text();
      }
    }),
  );
  await waitFor(async () => statuses.filter((s) => s === 201).length >= 4, 'the load is being served');
  await pg.stop();

  const during = await post();
  t.equal(during.status, 503, 'a request during the outage fails with 503');
  const body = (await during.json()) as { code: string };
  t.equal(body.code, 'database_unavailable');
  t.notMatch(JSON.stringify(body), /ECONNREFUSED|127\.0\.0\.1|at /, 'without internals');
  const ready = await fetch(`${server.url}/readyz`);
  t.equal(ready.status, 503, 'readiness reports the outage');
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, 'liveness stays up');

  pg = await startEmbeddedPostgres({ dir, database: 'outage', port });
  let readyAgain = 0;
  for (let i = 0; i < 100 && readyAgain !== 200; i++) {
    readyAgain = (await fetch(`${server.url}/readyz`)).status;
    if (readyAgain !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(readyAgain, 200, 'ready again without a restart');
  let ok = 0;
  for (let i = 0; i < 50 && ok !== 201; i++) {
    ok = (await post()).status;
    if (ok !== 201) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(ok, 201, 'writes work again');
  stop = true;
  await load;

  t.ok(statuses.includes(201), 'load succeeded before the outage');
  t.ok(statuses.some((s) => s === 503), 'load saw 503s during it');
  t.same(statuses.filter((s) => s !== 201 && s !== 503), [], 'nothing but success or 503');
  for (const ty of types) t.match(ty, /problem\+json/);
  const rows = await app.db('pairs').select('id', 'half', 'partner');
  const halvesA = new Set(rows.filter((r) => r.half === 'a').map((r) => r.id));
  const partnered = new Set(rows.filter((r) => r.half === 'b').map((r) => r.partner));
  t.same([...halvesA].filter((id) => !partnered.has(id)), [], 'no half-written pair');
});
