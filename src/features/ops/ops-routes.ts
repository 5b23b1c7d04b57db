import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import { pendingMigrations } from '../../db/migrate.js';
import { LIVENESS } from '../../http/middleware.js';
import { loadSpec } from '../../http/openapi.js';
import { docsRoutes } from '../docs/docs-routes.js';

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

export type ReadinessCheck = { ok: boolean; detail?: string };

export async function readiness(app: AppContext): Promise<{ ready: boolean; checks: Record<string, ReadinessCheck> }> {
  const checks: Record<string, ReadinessCheck> = {};
  try {
    await withTimeout(app.db.raw('SELECT 1'), 2_000);
    checks.database = { ok: true };
    const pending = await withTimeout(pendingMigrations(app.db), 2_000);
    checks.migrations = pending.length ? { ok: false, detail: `${pending.length} pending` } : { ok: true };
  } catch {
    checks.database = { ok: false, detail: 'unreachable' };
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

function routes(app: AppContext): RouteTable {
  const spec = loadSpec();
  const json = JSON.stringify(spec.doc);
  return {
    // the probe as a probe sends it is answered before Koa (livenessFrontDoor); this answers the rest
    getHealth(ctx) {
      ctx.body = LIVENESS.body;
    },
    async getReadiness(ctx) {
      const r = await readiness(app);
      ctx.status = r.ready ? 200 : 503;
      if (!r.ready) ctx.set('Retry-After', '5');
      ctx.body = { status: r.ready ? 'ready' : 'unavailable', checks: r.checks };
    },
    async getMetrics(ctx) {
      ctx.type = app.metrics.contentType;
      ctx.body = await app.metrics.metrics();
    },
    getOpenApiYaml(ctx) {
      ctx.type = 'application/yaml; charset=utf-8';
      ctx.body = spec.yamlText;
    },
    getOpenApiJson(ctx) {
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = json;
    },
    ...docsRoutes(),
  };
}

export const opsFeature: Feature = { name: 'ops', routes };
