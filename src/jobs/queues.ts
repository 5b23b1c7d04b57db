/**
 * Queue names and their payloads. A queue's name is part of the data in the database:
 * never rename one without a migration that moves its jobs.
 */
export const QUEUES = Object.freeze({
  email: 'email.send',
  workflowDelivery: 'workflow.deliver',
  maintenance: 'maintenance.run',
  /** process one stored inbound email (src/features/email) */
  emailInbound: 'email.inbound',
  /** one IMAP polling session for the whole cluster (scheduled; singleton queue) */
  imapPoll: 'email.imap_poll',
  /** email an announcement to its audience */
  announcement: 'announcement.send',
} as const);

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  [QUEUES.email]: { notificationId: number };
  /** `attempt`: the delivery's `attempts` count this job expects; a job whose attempt is stale is a no-op */
  [QUEUES.workflowDelivery]: { deliveryId: number; attempt?: number };
  [QUEUES.maintenance]: { task?: string };
  [QUEUES.emailInbound]: { inboundId: number };
  [QUEUES.imapPoll]: Record<string, never>;
  [QUEUES.announcement]: { announcementId: number };
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
export const QUEUE_POLICIES: Record<QueueName, QueuePolicy> = {
  // email: ~10 tries over about an hour
  [QUEUES.email]: { retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 120 },
  // workflow: HTTP failures are rescheduled by the handler itself (backoff + jitter, ~3 days; see
  // docs/workflow.md); these pg-boss retries cover only crashes and database errors
  [QUEUES.workflowDelivery]: { retryLimit: 10, retryDelay: 1, retryBackoff: true, expireInSeconds: 120 },
  [QUEUES.maintenance]: { retryLimit: 2, retryDelay: 60, retryBackoff: false, expireInSeconds: 600 },
  // inbound mail: the raw message is stored, so retrying is always safe; after the last try the row is `failed` (replayable)
  [QUEUES.emailInbound]: { retryLimit: 8, retryDelay: 5, retryBackoff: true, expireInSeconds: 300 },
  // one IMAP session at a time for the cluster; a lost one is replaced by the next scheduled poll
  [QUEUES.imapPoll]: { retryLimit: 0, retryDelay: 0, retryBackoff: false, expireInSeconds: 600, policy: 'stately' },
  [QUEUES.announcement]: { retryLimit: 5, retryDelay: 10, retryBackoff: true, expireInSeconds: 600 },
};

export const deadLetterOf = (q: QueueName): string => `${q}.dead`;
