import type Koa from 'koa';
import type PgBoss from 'pg-boss';
import type { Principal } from '../http/auth.js';
import type { IdempotencyScope } from '../http/idempotency.js';
import type { Operation, ValidatedRequest } from '../http/openapi.js';
import type { JobPayloads, QueueName } from '../jobs/queues.js';
import type { SignedResource } from '../lib/signed-urls.js';
import type { AppContext } from './context.js';

export interface RequestState {
  requestId: string;
  principal?: Principal;
  /** a verified `?signature=` (signed file URL), on operations that list the `signedUrl` scheme */
  signed?: SignedResource;
  op?: Operation;
  /** The request after validation against openapi.yaml (query/path coerced to their types). */
  input: ValidatedRequest;
  /** set by the Idempotency-Key middleware while this POST holds a claim (see answerInTransaction) */
  idempotency?: IdempotencyScope;
}

export type ApiContext = Koa.ParameterizedContext<RequestState>;

/** One handler per operationId in openapi.yaml. */
export type Handler = (ctx: ApiContext) => Promise<void> | void;
export type RouteTable = Record<string, Handler>;

export interface WorkerDefinition<Q extends QueueName = QueueName> {
  queue: Q;
  /** Throw to retry. Must be idempotent: a job can run more than once. */
  handler: (data: JobPayloads[Q], job: PgBoss.JobWithMetadata<JobPayloads[Q]>) => Promise<void>;
  batchSize?: number;
  /** job loops per process for this queue (default 1); each runs one job (or batch) at a time */
  concurrency?: number;
}

export interface Schedule {
  queue: QueueName;
  everySeconds: number;
  data?: object;
}

/** A capability plugs into the app through this shape (see src/app/features.ts). */
export interface Feature {
  name: string;
  routes?: (app: AppContext) => RouteTable;
  workers?: (app: AppContext) => WorkerDefinition[];
  /**
   * Periodic jobs: one job per `everySeconds` slot (slots aligned to the epoch, UTC), whatever the
   * number of workers (src/app/worker.ts). A function decides them from the config.
   */
  schedules?: Schedule[] | ((app: AppContext) => Schedule[]);
  /**
   * Long-running listeners started by `serve` next to the HTTP server (e.g. the inbound SMTP
   * receiver); each returns its close function, called on shutdown before the pool closes.
   */
  services?: (app: AppContext) => Promise<{ close(): Promise<void> }[]>;
  /**
   * Long-running work of a worker process (e.g. the webhook dispatcher), started with the workers;
   * returns its stop function (run by app.close() before pg-boss stops).
   */
  background?: (app: AppContext) => Promise<() => Promise<void>>;
  /** Runs once at `serve` start-up, after migrations (e.g. ensure the first admin exists). */
  onStart?: (app: AppContext) => Promise<void>;
  /**
   * Checks whether an access token's session (`sid`, its refresh-token family) was revoked; createApp
   * picks it up from the features list (the accounts feature provides it). Must be a cheap lookup.
   */
  isSessionRevoked?: (app: AppContext) => (sessionId: string) => Promise<boolean>;
}
