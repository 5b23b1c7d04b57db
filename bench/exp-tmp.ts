import { startBenchEnv, load } from './lib.js';
import { startMinimalApp } from './minimal-app.js';
import { writeFileSync } from 'node:fs';
const env = await startBenchEnv();
const m = await startMinimalApp(env.databaseUrl);
writeFileSync('/tmp/exp-pid', String(process.pid));
for (const [n, u] of [['minimal', m.server.url], ['ours', env.server.url]] as const) {
  await load({ url: u + '/healthz', duration: 1 });
  writeFileSync('/tmp/exp-phase', n);
  await new Promise((r) => setTimeout(r, 1500));
  const r = await load({ url: u + '/healthz', duration: 3 });
  console.log(n, Math.round(r.rps), 'rps, total', Math.round(r.rps * 3));
  writeFileSync('/tmp/exp-phase', 'gap');
  await new Promise((r) => setTimeout(r, 1500));
}
await m.close(); await env.close();
