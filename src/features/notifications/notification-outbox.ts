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
  'sla_alert',
] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

/**
 * What each template renders. Enqueuers must supply exactly these fields; links are absolute URLs
 * built from PUBLIC_URL. Never put secrets here other than a one-time link (password reset/setup).
 */
export interface EmailData {
  account_pending: { first_name: string; last_name: string; company_id: string };
  account_approved: { first_name: string; last_name: string; company_id: string; login_url: string };
  account_rejected: { first_name: string; last_name: string; reason: string | null };
  /** an admin created the account; set_password_url is a one-time link (null when a password was given) */
  account_created: { first_name: string; last_name: string; company_id: string; role: string; set_password_url: string | null };
  password_reset: { first_name: string; reset_url: string; expires_minutes: number };
  ticket_status_changed: { first_name: string; ticket_number: string; subject: string; from_status: string; to_status: string; comment: string | null };
  /** only for comments that are not internal */
  ticket_commented: { first_name: string; ticket_number: string; subject: string; commenter_name: string; comment: string };
  /** an SLA warning or breach; `due` is already written in the calendar's time zone */
  sla_alert: { first_name: string; ticket_number: string; subject: string; kind: 'warning' | 'breach'; target: string; due: string; policy: string };
}

export interface EmailRequest<K extends EmailTemplate = EmailTemplate> {
  template: K;
  to: string;
  data: EmailData[K];
}

export async function queueEmail<K extends EmailTemplate>(trx: Knex.Transaction, jobs: Jobs, msg: EmailRequest<K>): Promise<number> {
  const [row] = await trx('notifications')
    .insert({ template: msg.template, recipient: msg.to, data: JSON.stringify(msg.data) })
    .returning('id');
  await jobs.enqueue(trx, QUEUES.email, { notificationId: row.id });
  return row.id as number;
}
