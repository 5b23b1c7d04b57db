/**
 * `npm test`: prepare one PostgreSQL server for the whole run, then run tap.
 *
 * - With TEST_DATABASE_URL: use that server (its user must be able to CREATE DATABASE).
 * - Without it: start an embedded PostgreSQL in a temporary directory (nothing to install).
 *
 * A template database is migrated once (schema + pg-boss); every test file clones its own
 * database from it (CREATE DATABASE … TEMPLATE …), so files run in parallel without sharing rows.
 * Extra arguments go to tap: `npm test -- test/ops.test.ts`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { createKnex } from '../src/db/knex.js';
import { migrateLatest } from '../src/db/migrate.js';
import { createBoss, ensureQueues } from '../src/jobs/boss.js';

const runId = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Tests that run the CLI binary or the worker process use the build in dist/: refuse to run against a
 * build older than the sources, which would test yesterday's code.
 */
async function staleBuild(): Promise<string | undefined> {
  const { readdir, stat } = await import('node:fs/promises');
  const built = await stat('dist/cli/main.js').catch(() => undefined);
  if (!built) return 'dist/ is missing';
  const sources = ['openapi.yaml', ...(await readdir('src', { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => path.join('src', f))];
  for (const f of sources) if ((await stat(f)).mtimeMs > built.mtimeMs) return `${f} changed after the last build`;
  return undefined;
}

/**
 * The servers the tests start that the product does not need (test/tools: s3rver, an S3-protocol
 * server) are their own package, out of `npm install`; installed here on first use, so a fresh
 * clone needs only `npm install` and `npm test`. If that fails (no registry), the S3 tests fail
 * and say why.
 */
async function ensureTestTools(): Promise<void> {
  if (existsSync('test/tools/node_modules/s3rver/package.json')) return;
  process.stderr.write('installing the test servers: npm ci --prefix test/tools\n');
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  const code = await new Promise<number>((resolve) =>
    spawn(cmd, [...args, 'ci', '--prefix', 'test/tools', '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' })
      .on('exit', (c) => resolve(c ?? 1))
      .on('error', () => resolve(1)),
  );
  if (code !== 0) process.stderr.write('could not install test/tools: the S3 tests will fail\n');
}

async function main(): Promise<number> {
  const stale = await staleBuild();
  if (stale) {
    process.stderr.write(`${stale}: run \`npm run build\` before \`npm test\`\n`);
    return 1;
  }
  await ensureTestTools();
  let embedded: EmbeddedDatabase | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ss-test-pg-'));
    await (await import('node:fs/promises')).chmod(tmp, 0o755);
    embedded = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg'), database: 'postgres' });
    adminUrl = embedded.adminUrl;
    process.stderr.write(`test database: embedded PostgreSQL on port ${embedded.port}\n`);
  } else {
    process.stderr.write(`test database: ${new URL(adminUrl).host} (TEST_DATABASE_URL)\n`);
  }
  const template = `ss_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let code = 1;
  try {
    await admin.query(`CREATE DATABASE ${template}`);
    const tplUrl = withDatabase(adminUrl, template);
    const db = createKnex(tplUrl, 2);
    try {
      await migrateLatest(db);
    } finally {
      await db.destroy();
    }
    const boss = createBoss(tplUrl, { supervise: false, schedule: false, max: 2 });
    // an idle pool connection ended by the terminate below must not crash the run
    boss.on('error', () => undefined);
    await boss.start();
    await ensureQueues(boss);
    await boss.stop({ graceful: false, wait: true });
    // nobody may stay connected to a template that is being cloned
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [template]);

    // TEST_PGBOUNCER=1: every test app reaches PostgreSQL through a real PgBouncer in transaction
    // mode (DATABASE_URL), with DATABASE_DIRECT_URL for pg-boss, LISTEN and migrations
    let pooler: import('./helpers/pgbouncer.js').PgBouncer | undefined;
    if (process.env.TEST_PGBOUNCER === '1') {
      const { startPgBouncer } = await import('./helpers/pgbouncer.js');
      pooler = await startPgBouncer(adminUrl, { poolSize: 20 });
      process.stderr.write(`test database: through PgBouncer (transaction mode) on port ${pooler.port}\n`);
    }
    const args = process.argv.slice(2);
    // tap runs availableParallelism − 1 files at once on 2–4 CPUs: one at a time on 2 cores. The
    // files mostly wait (on PostgreSQL, child processes, timers) and each has its own database (the
    // outage tests their own server), so there 3 run at once unless --jobs/-j says otherwise (the
    // whole suite went from ~26 to ~10 minutes on 2 cores); with more CPUs tap's default is 3 or more
    const cpus = os.availableParallelism();
    if (!args.some((a) => /^(--jobs|-j)/.test(a)) && cpus >= 2 && cpus <= 4) args.unshift('--jobs=3');
    code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [path.join('node_modules', 'tap', 'dist', 'esm', 'run.mjs'), ...args], {
        stdio: 'inherit',
        env: { ...process.env, SS_TEST_ADMIN_URL: adminUrl, SS_TEST_TEMPLATE: template, SS_TEST_RUN: runId, NODE_ENV: 'test', ...(pooler ? { SS_TEST_PGBOUNCER_URL: pooler.urlFor(adminUrl) } : {}) },
      });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
    await pooler?.stop();
  } finally {
    // drop everything this run created (per-file databases left by crashed files too)
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2', [`ss_t_${runId}_%`, template]);
    for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await embedded?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`test setup failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
