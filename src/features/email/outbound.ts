/**
 * Threading and loop headers for every mail we send (used by the `email.send` worker):
 *
 * - Message-ID: our own (stable per notification), recorded in email_messages for tickets so a
 *   reply's In-Reply-To/References finds the ticket;
 * - In-Reply-To: the received message this answers, else the ticket's thread root;
 * - References: the thread root `<ticket-TX0042@host>` first, then the answered message;
 * - Reply-To: the ticket's signed reply address (when INBOUND_ADDRESS is set);
 * - Auto-Submitted: auto-replied for answers to received mail, auto-generated for the rest;
 * - X-SmartSupport-Loop: our installation's token (our own mail coming back is dropped);
 * - List-Unsubscribe: on mails a person may turn off (never on security mail).
 */
import type { Knex } from 'knex';
import type { Config } from '../../config/config.js';
import type { OutgoingMail } from '../notifications/mailer.js';
import { OPTIONAL_TEMPLATES, REPLY_TEMPLATES, TICKET_TEMPLATES, type EmailTemplate } from '../notifications/notification-outbox.js';
import { loopToken, mailHost, signedReplyAddress, threadRoot } from './addresses.js';

export interface ThreadInput {
  template: EmailTemplate;
  ticketNumber: string | null;
  inReplyTo: string | null;
}

export function threadHeaders(config: Pick<Config, 'inbound' | 'mailFrom' | 'publicUrl'>, secret: string, t: ThreadInput): Pick<OutgoingMail, 'inReplyTo' | 'references' | 'replyTo' | 'headers'> {
  const host = mailHost(config.inbound.address, config.mailFrom);
  const headers: Record<string, string> = {
    'Auto-Submitted': REPLY_TEMPLATES.has(t.template) ? 'auto-replied' : 'auto-generated',
    'X-SmartSupport-Loop': loopToken(secret, host),
    'X-Auto-Response-Suppress': 'All',
  };
  if (OPTIONAL_TEMPLATES.has(t.template)) {
    // the preferences endpoint (GET/PUT /api/employee/profile/notifications/, `smartsupport profile notifications`)
    headers['List-Unsubscribe'] = `<${config.publicUrl}/api/employee/profile/notifications/>`;
  }
  const out: Pick<OutgoingMail, 'inReplyTo' | 'references' | 'replyTo' | 'headers'> = { headers };
  if (t.ticketNumber && TICKET_TEMPLATES.has(t.template)) {
    const root = threadRoot(t.ticketNumber, host);
    const answered = t.inReplyTo ? `<${t.inReplyTo}>` : undefined;
    out.inReplyTo = answered ?? root;
    out.references = answered ? [root, answered] : [root];
    if (config.inbound.address) out.replyTo = signedReplyAddress(secret, config.inbound.address, t.ticketNumber);
  } else if (t.inReplyTo) {
    out.inReplyTo = `<${t.inReplyTo}>`;
    out.references = [`<${t.inReplyTo}>`];
  }
  return out;
}

/** Remember a Message-ID we sent about a ticket (idempotent). */
export async function recordOutbound(db: Knex, messageId: string, ticketId: number, notificationId: number): Promise<void> {
  await db('email_messages')
    .insert({ message_id: messageId.replace(/^<|>$/g, ''), ticket_id: ticketId, direction: 'out', notification_id: notificationId })
    .onConflict('message_id')
    .ignore();
}
