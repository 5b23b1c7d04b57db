/**
 * The `email.send` handler. Idempotent: a notification already `sent` is never sent again (a job
 * can run twice — after a crash, or when an expired job is retried). Transport errors are recorded
 * on the row and rethrown so pg-boss retries with backoff; after the last retry the row is `failed`
 * (and pg-boss moves the job to `email.send.dead`). A notification that cannot be rendered fails at
 * once: retrying would not help.
 */
import { createHash } from 'node:crypto';
import type PgBoss from 'pg-boss';
import type { AppContext } from '../../app/context.js';
import type { JobPayloads, QUEUES } from '../../jobs/queues.js';
import type { Mailer } from './mailer.js';
import { EMAIL_TEMPLATES, type EmailTemplate } from './notification-outbox.js';
import { recordOutbound, threadHeaders } from '../email/outbound.js';
import { renderEmail } from './templates.js';

/** Templates whose data holds a one-time link: the data is scrubbed once the message is sent. */
const SENSITIVE: ReadonlySet<EmailTemplate> = new Set(['password_reset', 'account_created']);

const clip = (s: string, n = 500) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function mailDomain(mailFrom: string): string {
  const m = /@([A-Za-z0-9.-]+)/.exec(mailFrom);
  return m?.[1] ?? 'smartsupport.local';
}

/** Stable per notification, so a receiving system can drop a duplicate after an at-least-once resend. */
export function messageIdFor(id: number, createdAt: Date, mailFrom: string): string {
  const h = createHash('sha256').update(`${id}:${createdAt.toISOString()}`).digest('hex').slice(0, 16);
  return `<notification-${id}.${h}@${mailDomain(mailFrom)}>`;
}

export function emailHandler(app: AppContext, mailer: Mailer) {
  return async (data: JobPayloads[typeof QUEUES.email], job: Pick<PgBoss.JobWithMetadata, 'retryCount' | 'retryLimit'>): Promise<void> => {
    const row = await app.db('notifications').where({ id: data.notificationId }).first();
    if (!row || row.status === 'sent') return;
    const bump = { attempts: app.db.raw('attempts + 1'), transport: mailer.kind };
    if (!(EMAIL_TEMPLATES as readonly string[]).includes(row.template)) {
      await app.db('notifications').where({ id: row.id }).update({ ...bump, status: 'failed', last_error: `unknown template "${clip(row.template, 60)}"` });
      return;
    }
    // a deactivated (or erased) person is not emailed, except the mail that tells them so; checked
    // at send time so mail queued before the deactivation is stopped too
    if (row.template !== 'account_deactivated') {
      const inactive = await app.db('employees').whereRaw('lower(email) = lower(?)', [row.recipient]).whereIn('status', ['Deactivated', 'Erased']).first('id');
      if (inactive) {
        await app.db('notifications').where({ id: row.id }).update({ ...bump, status: 'failed', last_error: 'not sent: the recipient\'s account is deactivated' });
        return;
      }
    }
    let rendered;
    try {
      rendered = renderEmail(row.template as EmailTemplate, row.data, { publicUrl: app.config.publicUrl });
    } catch (err) {
      await app.db('notifications').where({ id: row.id }).update({ ...bump, status: 'failed', last_error: clip(`render failed: ${(err as Error).message}`) });
      return;
    }
    const messageId = messageIdFor(row.id, new Date(row.created_at), app.config.mailFrom);
    const ticketNumber = row.ticket_id ? ((await app.db('tickets').where({ id: row.ticket_id }).first('ticket_number'))?.ticket_number ?? null) : null;
    const thread = threadHeaders(app.config, app.jwt.secret, { template: row.template as EmailTemplate, ticketNumber, inReplyTo: row.in_reply_to ?? null });
    // recorded before sending: a reply can arrive before the row says `sent`
    if (ticketNumber) await recordOutbound(app.db, messageId, Number(row.ticket_id), Number(row.id));
    try {
      const sent = await mailer.send({ to: row.recipient, subject: rendered.subject, html: rendered.html, text: rendered.text, messageId, ...thread });
      await app.db('notifications').where({ id: row.id }).update({
        ...bump,
        status: 'sent',
        subject: rendered.subject,
        message_id: sent.messageId,
        last_error: null,
        sent_at: app.db.fn.now(),
        ...(SENSITIVE.has(row.template as EmailTemplate) ? { data: JSON.stringify({ scrubbed: true }) } : {}),
      });
    } catch (err) {
      const last = (job.retryCount ?? 0) >= (job.retryLimit ?? 0);
      await app.db('notifications').where({ id: row.id }).update({ ...bump, status: last ? 'failed' : 'queued', subject: rendered.subject, last_error: clip((err as Error).message || 'send failed') });
      throw err;
    }
  };
}
