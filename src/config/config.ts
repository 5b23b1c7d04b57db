/**
 * One typed configuration, read from the environment once at start-up.
 * A bad value fails fast with a message that names the variable.
 */
import path from 'node:path';
import { parseKey } from '../lib/sealed.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  /** Base URL used in links we send out (emails, signed download URLs). */
  publicUrl: string;
  /** Unset: an embedded PostgreSQL is started in `<dataDir>/pg`. */
  databaseUrl: string | undefined;
  databasePoolMax: number;
  /**
   * A session (non-pooled) connection for pg-boss, LISTEN/NOTIFY and migrations when DATABASE_URL
   * points at a transaction pooler (PgBouncer). Unset: DATABASE_URL is used for everything.
   */
  databaseDirectUrl: string | undefined;
  /** Named prepared statements for hot queries: on, off (unnamed only) or auto (off behind a pooler). */
  databasePreparedStatements: 'auto' | 'on' | 'off';
  /** Where uploaded files live (src/features/files/storage.ts). */
  fileStorage: 'local' | 'postgres' | 's3';
  s3: S3Config | undefined;
  /** Per-process session liveness cache: longest a cached answer is trusted (LISTEN/NOTIFY invalidates sooner). */
  sessionCacheTtlMs: number;
  dataDir: string;
  /** Unset outside production: generated once and kept in `<dataDir>/jwt-secret`. */
  jwtSecret: string | undefined;
  /**
   * The key that seals secrets stored in the database (webhook signing secrets): 32 bytes. Unset
   * outside production: generated once and kept in `<dataDir>/secrets-key`.
   */
  secretsKey: Buffer | undefined;
  /** Earlier secrets keys: still open what they sealed (re-sealed under `secretsKey`). */
  secretsKeyPrevious: Buffer[];
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  logLevel: LogLevel;
  corsOrigins: string[];
  /** Requests per minute per caller (principal or IP), shared across instances through PostgreSQL. */
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  maxUploadBytes: number;
  runWorker: boolean;
  /** trust X-Forwarded-* from a reverse proxy (client IP for rate limits and logs) */
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  workflowApiUrl: string | undefined;
  workflowApiKey: string | undefined;
  workflowSigningSecret: string | undefined;
  workflowTimeoutMs: number;
  /** Workflow retry backoff: first delay, cap, attempt limit and total window (then dead-letter). */
  workflowRetryBaseMs: number;
  workflowRetryMaxMs: number;
  workflowMaxAttempts: number;
  workflowRetryHours: number;
  /** Events (docs/events.md): retention, live streams, webhook deliveries. */
  eventRetentionDays: number;
  eventStreamMaxPerCaller: number;
  /** an open stream's slot outlives a dead instance at most this long (heartbeat every third of it) */
  eventStreamLeaseSeconds: number;
  eventStreamHeartbeatMs: number;
  /** events queued for one stream before it is cut (the client resumes with Last-Event-ID) */
  eventStreamBufferEvents: number;
  /** a stream whose reader makes no progress this long is cut (resumable) */
  eventStreamStallMs: number;
  webhookAllowPrivateTargets: boolean;
  webhookTimeoutMs: number;
  webhookDisableAfterHours: number;
  webhookSecretOverlapHours: number;
  /** deliveries in flight per process, and per destination (URL origin) */
  deliveryConcurrency: number;
  deliveryConcurrencyPerDestination: number;
  /** outgoing emails sent at once per worker process (each its own job loop) */
  emailConcurrency: number;
  /**
   * pg-boss: seconds a job may stay active before it counts as lost (its worker died) and is retried.
   * Unset: each queue's own policy (src/jobs/queues.ts); set: every queue (tests shorten it).
   */
  jobExpireSeconds: number | undefined;
  /** pg-boss: how often expired jobs are failed/retried and old jobs archived. */
  jobMaintenanceSeconds: number;
  llmApiKey: string | undefined;
  llmApiUrl: string;
  llmModel: string;
  llmTimeoutMs: number;
  /** Upper bound on the model's reply (max_tokens sent with every chat-completions request). */
  llmMaxTokens: number;
  /** Chat messages per minute per caller (person or API key), on top of the general limit; 0 = off. */
  chatRateLimitPerMinute: number;
  /** SLA: a target's warning fires when this percentage of its time has passed (SLA_WARNING_PERCENT). */
  slaWarningPercent: number;
  /**
   * The ticket report's all-time response/resolution percentiles are computed on each request while
   * the helpdesk has at most this many tickets; above it they come from a snapshot refreshed every
   * five minutes (TICKET_REPORT_LIVE_MAX; docs/reports.md).
   */
  ticketReportLiveMax: number;
  /** Bearer token a Prometheus scraper sends to read /metrics; unset: only System Admins can. */
  metricsToken: string | undefined;
  /** Self-registrations per client address per hour (0 = off). */
  registrationLimitPerHour: number;
  /** Email channel (docs/email.md). All optional: with none set, nothing listens or polls. */
  inbound: InboundConfig;
}

export interface InboundConfig {
  /** INBOUND_SMTP_PORT: unset = the SMTP/LMTP receiver is off */
  smtpPort: number | undefined;
  smtpHost: string;
  /** speak LMTP instead of SMTP (per-recipient replies) */
  lmtp: boolean;
  /** the helpdesk address (Reply-To, signed reply addresses); unset = no inbound address */
  address: string | undefined;
  /** accepted recipient domains, lower-case */
  domains: string[];
  maxBytes: number;
  /** STARTTLS key/certificate files (both or neither) */
  tlsKeyFile: string | undefined;
  tlsCertFile: string | undefined;
  /** AUTH PLAIN/LOGIN credentials the relaying MTA must present (both or neither) */
  smtpUser: string | undefined;
  smtpPassword: string | undefined;
  imapUrl: string | undefined;
  imapFolder: string;
  /** move processed mail here; unset = flag it (\Seen + $SmartSupport) and leave it */
  imapMoveTo: string | undefined;
  /** how long one poll job keeps an IDLE session open before the next scheduled one takes over */
  imapIdleSeconds: number;
  defaultCategory: string;
  defaultSubCategory: string;
  reopenDays: number;
  internalMarker: string;
  senderHourlyCap: number;
  bounce: boolean;
}

export interface S3Config {
  bucket: string;
  /** key prefix inside the bucket, e.g. `smartsupport/` (may be empty) */
  prefix: string;
  region: string;
  /** S3-compatible endpoint (MinIO, Garage, Ceph RGW); unset: AWS */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** multipart part size in bytes (S3's minimum is 5 MiB) */
  partSizeBytes: number;
  /** static credentials (S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY, else AWS_*); unset: the AWS SDK's default chain (profile, instance role) */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be an absolute URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw.replace(/\/+$/, '');
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const port = int(env, 'PORT', 8000, 0, 65535);
  const host = str(env, 'HOST') ?? '0.0.0.0';
  const jwtSecret = str(env, 'JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  }
  if (nodeEnv === 'production' && jwtSecret === undefined) {
    throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  }
  const secretsKeyRaw = str(env, 'SECRETS_KEY');
  let secretsKey: Buffer | undefined;
  if (secretsKeyRaw !== undefined) {
    const k = parseKey(secretsKeyRaw);
    if (typeof k === 'string') throw new ConfigError('SECRETS_KEY', k);
    secretsKey = k;
  }
  if (nodeEnv === 'production' && secretsKey === undefined) {
    throw new ConfigError('SECRETS_KEY', 'is required when NODE_ENV=production (it seals webhook signing secrets at rest; openssl rand -base64 32)');
  }
  const secretsKeyPrevious: Buffer[] = [];
  for (const raw of (str(env, 'SECRETS_KEY_PREVIOUS') ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const k = parseKey(raw);
    if (typeof k === 'string') throw new ConfigError('SECRETS_KEY_PREVIOUS', k.replace(/^must/, 'entries must').replace(/^is/, 'has an entry that is'));
    secretsKeyPrevious.push(k);
  }
  const corsOrigins = (str(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of corsOrigins) {
    if (o !== '*' && !/^https?:\/\/[^/]+$/.test(o)) {
      throw new ConfigError('CORS_ORIGINS', `has an invalid origin "${o}" (expected scheme://host[:port])`);
    }
  }
  const workflowSigningSecret = str(env, 'WORKFLOW_SIGNING_SECRET');
  // unsigned workflow callbacks could be forged by anyone holding the callback key
  if (nodeEnv === 'production' && workflowSigningSecret === undefined) {
    throw new ConfigError('WORKFLOW_SIGNING_SECRET', 'is required when NODE_ENV=production (inbound workflow callbacks must be signed)');
  }
  const metricsToken = str(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 24) throw new ConfigError('METRICS_TOKEN', 'must be at least 24 characters');
  const adminEmail = str(env, 'SMARTSUPPORT_ADMIN_EMAIL');
  const adminPassword = str(env, 'SMARTSUPPORT_ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(
      adminEmail === undefined ? 'SMARTSUPPORT_ADMIN_EMAIL' : 'SMARTSUPPORT_ADMIN_PASSWORD',
      'must be set together with ' + (adminEmail === undefined ? 'SMARTSUPPORT_ADMIN_PASSWORD' : 'SMARTSUPPORT_ADMIN_EMAIL'),
    );
  }
  const fileStorage = oneOf(env, 'FILE_STORAGE', ['local', 'postgres', 's3'] as const, 'local');
  let s3: S3Config | undefined;
  const bucket = str(env, 'S3_BUCKET');
  if (fileStorage === 's3' && !bucket) throw new ConfigError('S3_BUCKET', 'is required when FILE_STORAGE=s3');
  if (bucket) {
    const prefix = str(env, 'S3_PREFIX') ?? '';
    if (prefix && !/^[A-Za-z0-9._/-]+\/$/.test(prefix)) throw new ConfigError('S3_PREFIX', 'must end with "/" and use only letters, digits, . _ - /');
    s3 = {
      bucket,
      prefix,
      region: str(env, 'S3_REGION') ?? str(env, 'AWS_REGION') ?? 'us-east-1',
      endpoint: url(env, 'S3_ENDPOINT', ['http:', 'https:']),
      forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
      partSizeBytes: int(env, 'S3_PART_SIZE_MB', 8, 5, 512) * 1024 * 1024,
      credentials: undefined,
    };
    const accessKeyId = str(env, 'S3_ACCESS_KEY_ID') ?? str(env, 'AWS_ACCESS_KEY_ID');
    const secretAccessKey = str(env, 'S3_SECRET_ACCESS_KEY') ?? str(env, 'AWS_SECRET_ACCESS_KEY');
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw new ConfigError(accessKeyId === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY', 'must be set together with its pair');
    }
    if (accessKeyId && secretAccessKey) {
      const sessionToken = str(env, 'AWS_SESSION_TOKEN');
      s3.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    }
  }
  return {
    nodeEnv,
    host,
    port,
    publicUrl: url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 200),
    databaseDirectUrl: url(env, 'DATABASE_DIRECT_URL', ['postgres:', 'postgresql:']),
    databasePreparedStatements: oneOf(env, 'DATABASE_PREPARED_STATEMENTS', ['auto', 'on', 'off'] as const, 'auto'),
    fileStorage,
    s3,
    sessionCacheTtlMs: int(env, 'SESSION_CACHE_TTL_MS', 5_000, 0, 60_000),
    dataDir: path.resolve(str(env, 'SMARTSUPPORT_DATA_DIR') ?? '.smartsupport'),
    jwtSecret,
    secretsKey,
    secretsKeyPrevious,
    jwtIssuer: str(env, 'JWT_ISSUER') ?? 'smartsupport',
    jwtAudience: str(env, 'JWT_AUDIENCE') ?? 'smartsupport-api',
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86400),
    refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 14 * 86400, 300, 90 * 86400),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, nodeEnv === 'test' ? 'silent' : 'info'),
    corsOrigins,
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    bodyLimitBytes: int(env, 'BODY_LIMIT_KB', 1024, 1, 102_400) * 1024,
    maxUploadBytes: int(env, 'MAX_UPLOAD_MB', 10, 1, 1024) * 1024 * 1024,
    runWorker: bool(env, 'RUN_WORKER', true),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    adminEmail,
    adminPassword,
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: str(env, 'MAIL_FROM') ?? 'SmartSupport <no-reply@smartsupport.local>',
    workflowApiUrl: url(env, 'WORKFLOW_API_URL', ['http:', 'https:']),
    workflowApiKey: str(env, 'WORKFLOW_API_KEY'),
    workflowSigningSecret,
    workflowTimeoutMs: int(env, 'WORKFLOW_TIMEOUT_MS', 10_000, 100, 120_000),
    workflowRetryBaseMs: int(env, 'WORKFLOW_RETRY_BASE_MS', 30_000, 10, 3_600_000),
    workflowRetryMaxMs: int(env, 'WORKFLOW_RETRY_MAX_MS', 6 * 3_600_000, 10, 24 * 3_600_000),
    workflowMaxAttempts: int(env, 'WORKFLOW_MAX_ATTEMPTS', 25, 1, 1000),
    workflowRetryHours: int(env, 'WORKFLOW_RETRY_HOURS', 72, 1, 24 * 30),
    eventRetentionDays: int(env, 'EVENT_RETENTION_DAYS', 30, 1, 3650),
    eventStreamMaxPerCaller: int(env, 'EVENT_STREAM_MAX_PER_CALLER', 5, 1, 1000),
    eventStreamLeaseSeconds: int(env, 'EVENT_STREAM_LEASE_SECONDS', 30, 1, 3600),
    eventStreamHeartbeatMs: int(env, 'EVENT_STREAM_HEARTBEAT_MS', 15_000, 50, 600_000),
    eventStreamBufferEvents: int(env, 'EVENT_STREAM_BUFFER_EVENTS', 500, 1, 100_000),
    eventStreamStallMs: int(env, 'EVENT_STREAM_STALL_MS', 30_000, 100, 600_000),
    webhookAllowPrivateTargets: bool(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    webhookDisableAfterHours: int(env, 'WEBHOOK_DISABLE_AFTER_HOURS', 72, 1, 24 * 30),
    webhookSecretOverlapHours: int(env, 'WEBHOOK_SECRET_OVERLAP_HOURS', 24, 0, 24 * 30),
    deliveryConcurrency: int(env, 'DELIVERY_CONCURRENCY', 8, 1, 256),
    deliveryConcurrencyPerDestination: int(env, 'DELIVERY_CONCURRENCY_PER_DESTINATION', 2, 1, 256),
    emailConcurrency: int(env, 'EMAIL_CONCURRENCY', 4, 1, 64),
    jobExpireSeconds: str(env, 'JOB_EXPIRE_SECONDS') === undefined ? undefined : int(env, 'JOB_EXPIRE_SECONDS', 0, 1, 3600),
    jobMaintenanceSeconds: int(env, 'JOB_MAINTENANCE_SECONDS', 20, 1, 3600),
    llmApiKey: str(env, 'LLM_API_KEY'),
    llmApiUrl: url(env, 'LLM_API_URL', ['http:', 'https:']) ?? 'https://openrouter.ai/api/v1',
    llmModel: str(env, 'LLM_MODEL') ?? 'openai/gpt-4o-mini',
    llmTimeoutMs: int(env, 'LLM_TIMEOUT_MS', 10_000, 100, 120_000),
    llmMaxTokens: int(env, 'LLM_MAX_TOKENS', 500, 16, 8192),
    chatRateLimitPerMinute: int(env, 'CHAT_RATE_LIMIT_PER_MINUTE', 20, 0, 100_000),
    slaWarningPercent: int(env, 'SLA_WARNING_PERCENT', 80, 1, 99),
    ticketReportLiveMax: int(env, 'TICKET_REPORT_LIVE_MAX', 100_000, 0, 1_000_000_000),
    metricsToken,
    registrationLimitPerHour: int(env, 'REGISTRATION_LIMIT_PER_HOUR', 20, 0, 1_000_000),
    inbound: loadInbound(env),
  };
}

function pair(env: Env, a: string, b: string): [string | undefined, string | undefined] {
  const x = str(env, a);
  const y = str(env, b);
  if ((x === undefined) !== (y === undefined)) throw new ConfigError(x === undefined ? a : b, `must be set together with ${x === undefined ? b : a}`);
  return [x, y];
}

const ADDRESS_RE = /^[^\s@<>"]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)$/;

function loadInbound(env: Env): InboundConfig {
  const address = str(env, 'INBOUND_ADDRESS');
  const m = address === undefined ? null : ADDRESS_RE.exec(address);
  if (address !== undefined && !m) throw new ConfigError('INBOUND_ADDRESS', `must be a plain address like helpdesk@example.com, got "${address}"`);
  if (address !== undefined && address.split('@')[0]!.includes('+')) throw new ConfigError('INBOUND_ADDRESS', 'must not contain "+" (it separates the signed reply tag)');
  const domains = (str(env, 'INBOUND_DOMAINS') ?? m?.[1] ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
  for (const d of domains) if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d)) throw new ConfigError('INBOUND_DOMAINS', `has an invalid domain "${d}"`);
  const smtpPort = str(env, 'INBOUND_SMTP_PORT') === undefined ? undefined : int(env, 'INBOUND_SMTP_PORT', 0, 0, 65535);
  const imapUrl = url(env, 'INBOUND_IMAP_URL', ['imap:', 'imaps:']);
  if ((smtpPort !== undefined || imapUrl !== undefined) && address === undefined) {
    throw new ConfigError('INBOUND_ADDRESS', 'is required when INBOUND_SMTP_PORT or INBOUND_IMAP_URL is set');
  }
  const [tlsKeyFile, tlsCertFile] = pair(env, 'INBOUND_SMTP_TLS_KEY', 'INBOUND_SMTP_TLS_CERT');
  const [smtpUser, smtpPassword] = pair(env, 'INBOUND_SMTP_USER', 'INBOUND_SMTP_PASSWORD');
  return {
    smtpPort,
    smtpHost: str(env, 'INBOUND_SMTP_HOST') ?? '127.0.0.1',
    lmtp: bool(env, 'INBOUND_LMTP', false),
    address: address?.toLowerCase(),
    domains,
    maxBytes: int(env, 'INBOUND_MAX_MB', 25, 1, 1024) * 1024 * 1024,
    tlsKeyFile,
    tlsCertFile,
    smtpUser,
    smtpPassword,
    imapUrl,
    imapFolder: str(env, 'INBOUND_IMAP_FOLDER') ?? 'INBOX',
    imapMoveTo: str(env, 'INBOUND_IMAP_MOVE_TO'),
    imapIdleSeconds: int(env, 'INBOUND_IMAP_IDLE_SECONDS', 50, 0, 3600),
    defaultCategory: str(env, 'INBOUND_DEFAULT_CATEGORY') ?? 'General',
    defaultSubCategory: str(env, 'INBOUND_DEFAULT_SUB_CATEGORY') ?? 'Email',
    reopenDays: int(env, 'INBOUND_REOPEN_DAYS', 7, 0, 3650),
    internalMarker: str(env, 'INBOUND_INTERNAL_MARKER') ?? '#internal',
    senderHourlyCap: int(env, 'INBOUND_SENDER_HOURLY_CAP', 20, 0, 100_000),
    bounce: bool(env, 'INBOUND_BOUNCE', false),
  };
}
