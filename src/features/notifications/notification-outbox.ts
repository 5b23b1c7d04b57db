/**
 * Queue an email as part of the caller's transaction: a notifications row (the delivery log)
 * plus an `email.send` job that points at it. Roll back the change and neither exists.
 */
import type { Knex } from 'knex';
import type { Jobs } from '../../jobs/boss.js';
import { QUEUES } from '../../jobs/queues.js';

export const EMAIL_TEMPLATES = [
  'account_pending',
  'account_approved',
  'account_rejected',
  'account_created',
  'password_reset',
  'ticket_status_changed',
  'ticket_commented',
] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

export interface EmailRequest {
  template: EmailTemplate;
  to: string;
  /** Values the template renders (names, ticket number, links). Never secrets other than one-time links. */
  data: Record<string, unknown>;
}

export async function queueEmail(trx: Knex.Transaction, jobs: Jobs, msg: EmailRequest): Promise<number> {
  const [row] = await trx('notifications')
    .insert({ template: msg.template, recipient: msg.to, data: JSON.stringify(msg.data) })
    .returning('id');
  await jobs.enqueue(trx, QUEUES.email, { notificationId: row.id });
  return row.id as number;
}
