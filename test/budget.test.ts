/**
 * Connection budget of `serve --processes N --workers M`: computed per process and in total, printed
 * at start-up, and a configuration over max_connections is refused before any child is started.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { computeBudget } from '../src/app/budget.js';
import { createTestDatabase, TEST_JWT_SECRET } from './helpers/harness.js';

t.test('the arithmetic: every connection counted once, pooled ones apart', async (t) => {
  const direct = computeBudget({ processes: 4, poolMax: 10, pooler: false, maxConnections: 100, reserved: 3 });
  t.same([direct.direct, direct.pooled, direct.available, direct.fits], [64, 0, 97, true], '4 × (10 + 5 + 1) = 64 of 97');
  const over = computeBudget({ processes: 10, poolMax: 10, pooler: false, maxConnections: 100, reserved: 3 });
  t.same([over.direct, over.fits], [160, false], '10 × 16 = 160 does not fit in 97');
  const pooled = computeBudget({ processes: 10, poolMax: 10, pooler: true, maxConnections: 100, reserved: 3 });
  t.same([pooled.direct, pooled.pooled, pooled.fits], [60, 100, true], 'behind PgBouncer only pg-boss and LISTEN count against PostgreSQL');
});

t.test('serve refuses a configuration over max_connections, before starting anything', async (t) => {
  const { url } = await createTestDatabase(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-budget-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const run = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.resolve('bin/smartsupport'), ...args], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: url, SMARTSUPPORT_DATA_DIR: dir, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  // 60 processes × (200 + 5 + 1) connections cannot fit any PostgreSQL default
  const r = await run(['serve', '--processes', '30', '--workers', '30'], { DATABASE_POOL_MAX: '200' });
  t.not(r.code, 0, 'exits non-zero');
  t.match(r.stderr, /connection budget: 60 process\(es\) × \(200 pool \+ 5 pg-boss \+ 1 LISTEN\) = 12360 of \d+ available/, 'the budget is printed');
  t.match(r.stderr, /too many\. Lower DATABASE_POOL_MAX/, 'and the refusal says what to change');
  const w = await run(['serve'], { WEB_CONCURRENCY: '40', DATABASE_POOL_MAX: '200' });
  t.match(w.stderr, /connection budget: 41 process\(es\)/, 'WEB_CONCURRENCY sets the API processes (plus one worker process)');
  t.not(w.code, 0);
});
