/**
 * Queue names and their payloads. A queue's name is part of the data in the database:
 * never rename one without a migration that moves its jobs.
 */
export const QUEUES = Object.freeze({
  email: 'email.send',
  workflowDelivery: 'workflow.deliver',
  maintenance: 'maintenance.run',
  slaTimer: 'sla.timer',
  slaRecompute: 'sla.recompute',
  /** process one stored inbound email (src/features/email) */
  emailInbound: 'email.inbound',
  /** one IMAP polling session for the whole cluster (scheduled; singleton queue) */
  imapPoll: 'email.imap_poll',
  /** email an announcement to its audience */
  announcement: 'announcement.send',
  webhookDelivery: 'webhook.deliver',
  /** a forgot-password request, done off the request path so both answers cost the same */
  passwordForgot: 'auth.password_forgot',
  weeklyDigest: 'reports.weekly-digest',
  /** fold the ticket count deltas into ticket_counts (scheduled every minute, one job per cluster) */
  foldTicketCounts: 'reports.fold-counts',
  /** refresh the ticket report's all-time percentiles snapshot (scheduled every 5 minutes, one job per cluster) */
  ticketTimes: 'reports.ticket-times',
} as const);

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  [QUEUES.email]: { notificationId: number };
  /** `attempt`: the delivery's `attempts` count this job expects; a job whose attempt is stale is a no-op */
  [QUEUES.workflowDelivery]: { deliveryId: number; attempt?: number; trigger?: 'auto' | 'manual' };
  /** same contract as the workflow's (src/features/events/delivery.ts) */
  [QUEUES.webhookDelivery]: { deliveryId: number; attempt?: number; trigger?: 'auto' | 'manual' };
  [QUEUES.maintenance]: { task?: string };
  /** fires at `due` (ISO): a warning or a breach of one target; stale when the target's due time moved */
  [QUEUES.slaTimer]: { ticketId: number; target: 'first_response' | 'next_response' | 'resolution'; kind: 'warning' | 'breach'; due: string };
  /** a policy or calendar changed: re-copy it onto the open tickets that use it and recompute their due times */
  [QUEUES.slaRecompute]: { policyId?: number; calendarId?: number };
  [QUEUES.emailInbound]: { inboundId: number };
  [QUEUES.imapPoll]: Record<string, never>;
  [QUEUES.announcement]: { announcementId: number };
  [QUEUES.passwordForgot]: { email: string };
  /** `week_start` (YYYY-MM-DD, a Monday): the week to report; default the last full week */
  [QUEUES.weeklyDigest]: { week_start?: string };
  [QUEUES.foldTicketCounts]: Record<string, never>;
  [QUEUES.ticketTimes]: Record<string, never>;
}

export interface QueuePolicy {
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  expireInSeconds: number;
  /** seconds to keep completed/failed jobs */
  retentionSeconds?: number;
  /** pg-boss queue policy; `stately` = at most one queued and one active job cluster-wide */
  policy?: 'standard' | 'singleton' | 'stately' | 'short';
}

/** Retry and expiry policy per queue; each gets a dead-letter queue named `<queue>.dead`. */
/*
 * expireInSeconds is the job's lease: a job whose worker died is retried once its lease has run out
 * and pg-boss's maintenance (JOB_MAINTENANCE_SECONDS) has noticed. Leases fit the job: an email send
 * is bounded by the SMTP timeouts (mailer.ts, 50 s at worst), a delivery by WORKFLOW_TIMEOUT_MS
 * (workflowLeaseSeconds); docs/operations.md states the resulting recovery bound.
 */
export const QUEUE_POLICIES: Record<QueueName, QueuePolicy> = {
  // email: ~10 tries over about an hour
  [QUEUES.email]: { retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 },
  // workflow: HTTP failures are rescheduled by the handler itself (backoff + jitter, ~3 days; see
  // docs/workflow.md); these pg-boss retries cover only crashes and database errors
  [QUEUES.workflowDelivery]: { retryLimit: 10, retryDelay: 1, retryBackoff: true, expireInSeconds: 30 },
  // webhooks: as the workflow (the engine reschedules HTTP failures itself; lease from WEBHOOK_TIMEOUT_MS)
  [QUEUES.webhookDelivery]: { retryLimit: 10, retryDelay: 1, retryBackoff: true, expireInSeconds: 30 },
  [QUEUES.maintenance]: { retryLimit: 2, retryDelay: 60, retryBackoff: false, expireInSeconds: 600 },
  // a timer that fails (database down) is retried soon: the alert is late, never lost or doubled
  [QUEUES.slaTimer]: { retryLimit: 20, retryDelay: 2, retryBackoff: true, expireInSeconds: 60 },
  [QUEUES.slaRecompute]: { retryLimit: 5, retryDelay: 10, retryBackoff: true, expireInSeconds: 900 },
  // inbound mail: the raw message is stored, so retrying is always safe; after the last try the row is `failed` (replayable)
  [QUEUES.emailInbound]: { retryLimit: 8, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 },
  // one IMAP session at a time for the cluster; a lost one is replaced by the next scheduled poll
  [QUEUES.imapPoll]: { retryLimit: 0, retryDelay: 0, retryBackoff: false, expireInSeconds: 600, policy: 'stately' },
  [QUEUES.announcement]: { retryLimit: 5, retryDelay: 10, retryBackoff: true, expireInSeconds: 600 },
  // a lookup and a token insert: a short lease
  [QUEUES.passwordForgot]: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 30 },
  // the digest claims its week in the database, so a retry or a second worker never mails twice
  [QUEUES.weeklyDigest]: { retryLimit: 3, retryDelay: 300, retryBackoff: true, expireInSeconds: 600 },
  // one statement under an advisory lock; a fold that fails changes nothing and the next minute's job
  // folds everything pending (readers are exact without folds: they add the pending deltas)
  [QUEUES.foldTicketCounts]: { retryLimit: 1, retryDelay: 10, retryBackoff: false, expireInSeconds: 120, policy: 'stately' },
  // one read-only aggregate and an upsert; a lost refresh is replaced by the next (readers recompute a stale snapshot)
  [QUEUES.ticketTimes]: { retryLimit: 1, retryDelay: 30, retryBackoff: false, expireInSeconds: 120, policy: 'stately' },
};

export const deadLetterOf = (q: QueueName): string => `${q}.dead`;

/** The delivery lease: the outbound timeout plus 20 s for the database work around it (at least 30 s). */
export function workflowLeaseSeconds(workflowTimeoutMs: number): number {
  return Math.max(QUEUE_POLICIES[QUEUES.workflowDelivery].expireInSeconds, Math.ceil(workflowTimeoutMs / 1000) + 20);
}
