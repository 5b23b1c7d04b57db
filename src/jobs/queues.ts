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
} as const);

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  [QUEUES.email]: { notificationId: number };
  /** `attempt`: the delivery's `attempts` count this job expects; a job whose attempt is stale is a no-op */
  [QUEUES.workflowDelivery]: { deliveryId: number; attempt?: number };
  [QUEUES.maintenance]: { task?: string };
  /** fires at `due` (ISO): a warning or a breach of one target; stale when the target's due time moved */
  [QUEUES.slaTimer]: { ticketId: number; target: 'first_response' | 'next_response' | 'resolution'; kind: 'warning' | 'breach'; due: string };
  /** a policy or calendar changed: re-copy it onto the open tickets that use it and recompute their due times */
  [QUEUES.slaRecompute]: { policyId?: number; calendarId?: number };
}

export interface QueuePolicy {
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  expireInSeconds: number;
  /** seconds to keep completed/failed jobs */
  retentionSeconds?: number;
}

/** Retry and expiry policy per queue; each gets a dead-letter queue named `<queue>.dead`. */
export const QUEUE_POLICIES: Record<QueueName, QueuePolicy> = {
  // email: ~10 tries over about an hour
  [QUEUES.email]: { retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 120 },
  // workflow: HTTP failures are rescheduled by the handler itself (backoff + jitter, ~3 days; see
  // docs/workflow.md); these pg-boss retries cover only crashes and database errors
  [QUEUES.workflowDelivery]: { retryLimit: 10, retryDelay: 1, retryBackoff: true, expireInSeconds: 120 },
  [QUEUES.maintenance]: { retryLimit: 2, retryDelay: 60, retryBackoff: false, expireInSeconds: 600 },
  // a timer that fails (database down) is retried soon: the alert is late, never lost or doubled
  [QUEUES.slaTimer]: { retryLimit: 20, retryDelay: 2, retryBackoff: true, expireInSeconds: 60 },
  [QUEUES.slaRecompute]: { retryLimit: 5, retryDelay: 10, retryBackoff: true, expireInSeconds: 900 },
};

export const deadLetterOf = (q: QueueName): string => `${q}.dead`;
