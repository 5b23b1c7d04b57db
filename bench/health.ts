/** GET /healthz as a probe sends it (answered at the front door, before Koa) vs a bare Koa hello. */
import Koa from 'koa';
import { listen } from '../src/app/server.js';
import { load, ratioResult, type Benchmark } from './lib.js';

export const health: Benchmark = {
  name: 'health',
  async run(env) {
    const bare = new Koa();
    bare.use((ctx) => {
      ctx.body = { status: 'ok' };
    });
    const baseline = await listen(bare, 0, '127.0.0.1');
    try {
      const b = await load({ url: `${baseline.url}/healthz` });
      const o = await load({ url: `${env.server.url}/healthz` });
      return ratioResult('health', 'req/s', o.rps, b.rps, 0.6);
    } finally {
      await baseline.close(1000);
    }
  },
};
