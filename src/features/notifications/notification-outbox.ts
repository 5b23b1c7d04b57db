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
  'account_deactivated',
  'account_reactivated',
  'password_reset',
  'ticket_status_changed',
  'ticket_commented',
  'sla_alert',
  'ticket_received',
  'inbound_bounce',
  'announcement',
  'weekly_digest',
  'webhook_disabled',
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
  /** the last mail a deactivated person gets (sent although the account is deactivated) */
  account_deactivated: { first_name: string; last_name: string; company_id: string; reason: string | null };
  account_reactivated: { first_name: string; last_name: string; company_id: string; login_url: string };
  password_reset: { first_name: string; reset_url: string; expires_minutes: number };
  ticket_status_changed: { first_name: string; ticket_number: string; subject: string; from_status: string; to_status: string; comment: string | null };
  /** only for comments that are not internal */
  ticket_commented: { first_name: string; ticket_number: string; subject: string; commenter_name: string; comment: string };
  /** an SLA warning or breach; `due` is already written in the calendar's time zone */
  sla_alert: { first_name: string; ticket_number: string; subject: string; kind: 'warning' | 'breach'; target: string; due: string; policy: string };
  /** acknowledgement of a ticket opened by email (refused attachments listed) */
  ticket_received: { first_name: string; ticket_number: string; subject: string; refused_attachments: string[] };
  /** polite answer to mail we could not accept (unknown or inactive sender) */
  inbound_bounce: { subject: string };
  announcement: { first_name: string; title: string; body: string };
  /** the weekly report (docs/reports.md); durations already formatted ("3h 20m"), rates as "12.5%" or null */
  weekly_digest: {
    first_name: string;
    week_start: string;
    week_end: string;
    created: number;
    resolved: number;
    backlog_start: number;
    backlog_end: number;
    first_response_p50: string;
    resolution_p50: string;
    reopen_rate: string | null;
    top_questions: { question: string; count: number }[];
  };
  /** to every System Admin when an endpoint is disabled (continuous failure, or 410 Gone) */
  webhook_disabled: { first_name: string; endpoint_id: number; url: string; reason: string };
}

/** Templates that are about a ticket: they carry its thread headers (src/features/email/outbound.ts). */
export const TICKET_TEMPLATES: ReadonlySet<EmailTemplate> = new Set(['ticket_status_changed', 'ticket_commented', 'ticket_received']);
/** Automatic answers to a received mail: `Auto-Submitted: auto-replied` (the rest are `auto-generated`). */
export const REPLY_TEMPLATES: ReadonlySet<EmailTemplate> = new Set(['ticket_received', 'inbound_bounce']);
/** Templates a person may turn off (they carry List-Unsubscribe); security mails never do. */
export const OPTIONAL_TEMPLATES: ReadonlySet<EmailTemplate> = new Set(['ticket_status_changed', 'ticket_commented', 'announcement']);

export interface EmailRequest<K extends EmailTemplate = EmailTemplate> {
  template: K;
  to: string;
  data: EmailData[K];
  /** the ticket the mail is about: threads it (Message-ID stored, References the ticket's root) */
  ticketId?: number;
  /** the received Message-ID this mail answers (without angle brackets) */
  inReplyTo?: string;
}

export async function queueEmail<K extends EmailTemplate>(trx: Knex.Transaction, jobs: Jobs, msg: EmailRequest<K>): Promise<number> {
  const [row] = await trx('notifications')
    .insert({ template: msg.template, recipient: msg.to, data: JSON.stringify(msg.data), ticket_id: msg.ticketId ?? null, in_reply_to: msg.inReplyTo ?? null })
    .returning('id');
  await jobs.enqueue(trx, QUEUES.email, { notificationId: row.id });
  return row.id as number;
}
