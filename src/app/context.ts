/**
 * The one place that builds services: database (embedded or DATABASE_URL), migrations, pg-boss,
 * logger, metrics. Everything else receives an AppContext.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import { Model } from 'objection';
import type PgBoss from 'pg-boss';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { createKnex, preparedStatementsFor } from '../db/knex.js';
import { migrateLatest } from '../db/migrate.js';
import { createBoss, createJobs, ensureQueues, type Jobs } from '../jobs/boss.js';
import { QUEUES, workflowLeaseSeconds } from '../jobs/queues.js';
import type { JwtSettings } from '../lib/jwt.js';
import { createLogger, type Logger } from '../lib/log.js';
import { createKeyring, type Keyring } from '../lib/sealed.js';
import { resolveJwtSecret, resolveSecretsKey } from './secrets.js';

export interface AppContext {
  config: Config;
  db: Knex;
  jobs: Jobs;
  boss: PgBoss;
  log: Logger;
  jwt: JwtSettings;
  /** SECRETS_KEY (+ previous keys, + the legacy JWT_SECRET-derived key, read only): seals secrets at rest */
  secrets: Keyring;
  metrics: Registry;
  databaseUrl: string;
  /** Run `fn` first when closing (e.g. stop the job loops before pg-boss and the pool go). */
  onClose(fn: () => Promise<void>): void;
  /** A session connection's URL (pg-boss, LISTEN/NOTIFY, migrations): DATABASE_DIRECT_URL or databaseUrl. */
  directUrl: string;
  /** Run the onClose hooks (last registered first), stop pg-boss, close the pool and stop the embedded database. */
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Run pending migrations before anything else (serve and migrate do; a standalone worker does too). */
  migrate?: boolean;
  /** pg-boss maintenance and cron (on in serve/worker; off in short-lived commands). */
  supervise?: boolean;
  logger?: Logger;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<AppContext> {
  const log = opts.logger ?? createLogger(config.logLevel);
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const dir = path.join(config.dataDir, 'pg');
    log.info({ dir }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({ dir });
    databaseUrl = embedded.url;
  }
  const directUrl = (config.databaseUrl && config.databaseDirectUrl) || databaseUrl;
  const prepared = preparedStatementsFor(config.databasePreparedStatements, databaseUrl, config.databaseUrl ? config.databaseDirectUrl : undefined);
  const db = createKnex(databaseUrl, config.databasePoolMax, log, { preparedStatements: prepared });
  let boss: PgBoss | undefined;
  try {
    if (opts.migrate !== false) {
      // migrations take locks and run DDL: on a session connection, never through a pooler
      const migrator = directUrl === databaseUrl ? db : createKnex(directUrl, 1, log);
      try {
        const ran = await migrateLatest(migrator, (newer) =>
          log.warn({ migrations: newer }, 'the database has migrations newer than this release (a rolling upgrade to a newer release): serving on its schema'),
        );
        if (ran.length) log.info({ migrations: ran }, 'migrations applied');
      } finally {
        if (migrator !== db) await migrator.destroy();
      }
    }
    Model.knex(db);
    // pg-boss keeps session state (LISTEN, advisory locks): it needs a session connection;
    // schedule: false — periodic jobs are sent by our workers (src/app/worker.ts), not pg-boss cron
    boss = createBoss(directUrl, { supervise: opts.supervise ?? true, schedule: false, maintenanceIntervalSeconds: config.jobMaintenanceSeconds });
    boss.on('error', (err: Error) => log.error({ err: { message: err.message } }, 'pg-boss error'));
    await boss.start();
    await ensureQueues(boss, { expireInSeconds: config.jobExpireSeconds, leases: { [QUEUES.workflowDelivery]: workflowLeaseSeconds(config.workflowTimeoutMs), [QUEUES.webhookDelivery]: workflowLeaseSeconds(config.webhookTimeoutMs) } });
  } catch (err) {
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    await db.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
  const jwtSecret = await resolveJwtSecret(config.jwtSecret, config.dataDir);
  const secrets = createKeyring(await resolveSecretsKey(config.secretsKey, config.dataDir), config.secretsKeyPrevious, jwtSecret);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const theBoss = boss;
  let closed: Promise<void> | undefined;
  const closeHooks: (() => Promise<void>)[] = [];
  return {
    config,
    db,
    boss: theBoss,
    jobs: createJobs(theBoss),
    log,
    jwt: { secret: jwtSecret, issuer: config.jwtIssuer, audience: config.jwtAudience, accessTtlSeconds: config.accessTokenTtlSeconds },
    secrets,
    metrics,
    databaseUrl,
    onClose(fn) {
      closeHooks.unshift(fn);
    },
    directUrl,
    close() {
      closed ??= (async () => {
        for (const fn of closeHooks) await fn().catch((err: Error) => log.warn({ err: err.message }, 'close hook failed'));
        await theBoss.stop({ graceful: true, wait: true, timeout: config.shutdownTimeoutMs }).catch((err: Error) => log.warn({ err: err.message }, 'pg-boss stop failed'));
        await db.destroy().catch(() => undefined);
        await embedded?.stop().catch(() => undefined);
      })();
      return closed;
    },
  };
}
