/**
 * The `email.inbound` job: one stored message → guards → sender → thread → ticket or comment.
 * Everything it changes (ticket, comment, attachments, history, answer mail, the inbound row's
 * outcome) commits in ONE transaction that first locks the inbound row and checks it is still
 * `received`: a job that runs twice (crash, expiry) finds it processed and does nothing.
 *
 * Routing (docs/email.md):
 *   1. guards (guards.ts): own mail → dropped; bounce → noted on the ticket it is about; auto-replies → ignored
 *   2. sender: an Approved, active employee by From address; otherwise quarantined with the reason
 *      (and a polite bounce when INBOUND_BOUNCE=true)
 *   3. thread: signed reply address → In-Reply-To/References against our Message-IDs →
 *      `[TX0042]` subject token (owner or staff only) → none
 *   4. matched ticket: owner or staff add a comment (staff: `#internal` marker → internal note);
 *      anyone else is quarantined. Closed within INBOUND_REOPEN_DAYS → reopened; later, or
 *      Rejected/Withdrawn → a new ticket that names the old one.
 *   5. no ticket: a new ticket (per-sender hourly cap) and a threaded acknowledgement.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { AppError } from '../../http/errors.js';
import { storeTicketAttachments, validateUploads, MAX_FILES_PER_REQUEST, type UploadedFile } from '../files/attachments-service.js';
import { fileStore } from '../files/storage.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import { wantsEmail } from '../notifications/preferences.js';
import { commentEvent, ticketEvent } from '../tickets/ticket-service.js';
import type { TicketRow } from '../tickets/ticket-model.js';
import * as tickets from '../tickets/ticket-store.js';
import { loopToken, mailHost, messageIdList, subjectAndCategory, subjectTicketToken, ticketFromRoot, verifyReplyAddress } from './addresses.js';
import { emitEmailEvent, inboundSnapshot } from './events-bridge.js';
import { checkGuards } from './guards.js';
import { internalMarker, parseMail, trimReply, type ParsedInbound } from './parse.js';

const STAFF = new Set(['Ticket Coordinator', 'System Admin']);
const MAX_TEXT = 20_000;

interface Sender {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  role: string;
  status: string;
}

interface InboundRow {
  id: number;
  status: string;
  storage_key: string;
  envelope_from: string | null;
  envelope_to: string[];
  release_employee_id: number | null;
  released_by: number | null;
}

type Outcome = { status: 'processed' | 'quarantined' | 'ignored'; outcome: string; reason?: string | null; ticket_id?: number | null; comment_id?: number | null };

async function readRaw(app: AppContext, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await fileStore(app).open(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const clipText = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s);

/** An employee who is deactivated, in whatever shape the accounts feature records it. */
function deactivated(e: Record<string, unknown>): boolean {
  return Boolean(e.deactivated_at) || Boolean(e.erased_at) || e.is_active === false || e.active === false;
}

async function findSender(db: Knex | Knex.Transaction, address: string | undefined, overrideId: number | null): Promise<{ sender?: Sender; reason?: string }> {
  const row = overrideId
    ? await db('employees').where({ id: overrideId }).first()
    : address
      ? await db('employees').whereRaw('lower(email) = ?', [address.toLowerCase()]).first()
      : undefined;
  if (!row) return { reason: address ? 'unknown_sender' : 'no_sender_address' };
  if (deactivated(row)) return { reason: 'sender_deactivated' };
  if (row.status !== 'Approved') return { reason: `sender_${String(row.status).toLowerCase()}` };
  return { sender: { ...row, id: Number(row.id) } as Sender };
}

/** The ticket a reply belongs to, and how it was matched. */
async function findThread(app: AppContext, trx: Knex.Transaction, m: ParsedInbound, envelopeTo: string[], sender: Sender): Promise<{ ticket?: TicketRow; via?: string }> {
  const c = app.config.inbound;
  if (c.address) {
    const base = c.address.split('@')[0]!;
    for (const rcpt of [...envelopeTo, ...m.recipients]) {
      const number = verifyReplyAddress(app.jwt.secret, rcpt, base, c.domains);
      if (number) {
        const t = await tickets.findTicket(trx, { by: 'human', value: number }, { lock: true });
        if (t) return { ticket: t, via: 'reply_address' };
      }
    }
  }
  const ids = [...m.inReplyTo, ...m.references.slice().reverse()];
  if (ids.length) {
    const hit = await trx('email_messages').whereIn('message_id', ids.slice(0, 100)).orderBy('created_at', 'desc').first('ticket_id');
    if (hit) {
      const t = await tickets.findTicket(trx, { by: 'id', value: Number(hit.ticket_id) }, { lock: true });
      if (t) return { ticket: t, via: 'message_id' };
    }
  }
  const host = mailHost(c.address, app.config.mailFrom);
  const rootNumber = ids.map((id) => ticketFromRoot(id, host)).find(Boolean);
  const token = rootNumber ?? subjectTicketToken(m.subject);
  if (token) {
    // the thread root and the subject tag are not secret: they count only for the owner or staff
    const t = await tickets.findTicket(trx, { by: 'human', value: token }, { lock: true });
    if (t && (t.owner_id === sender.id || STAFF.has(sender.role))) return { ticket: t, via: rootNumber ? 'thread_root' : 'subject_token' };
  }
  return {};
}

interface AttachmentResult {
  accepted: number;
  refused: string[];
}

/** Each attachment through the upload checks on its own: a refused one is noted, the rest are stored. */
async function attach(app: AppContext, trx: Knex.Transaction, ticketId: number, uploaderId: number, m: ParsedInbound): Promise<AttachmentResult> {
  const refused: string[] = [];
  if (!m.attachments.length) return { accepted: 0, refused };
  const dir = path.join(app.config.dataDir, 'tmp', `mail-att-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    const ok: UploadedFile[] = [];
    for (const [i, a] of m.attachments.entries()) {
      const name = a.filename.replace(/[\r\n]/g, ' ').slice(0, 200);
      if (ok.length >= MAX_FILES_PER_REQUEST) {
        refused.push(`${name}: more than ${MAX_FILES_PER_REQUEST} attachments`);
        continue;
      }
      const file: UploadedFile = { filepath: path.join(dir, String(i)), originalFilename: name, size: a.content.length };
      await writeFile(file.filepath, a.content, { mode: 0o600 });
      try {
        await validateUploads([file], { maxBytes: app.config.maxUploadBytes });
        ok.push(file);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refused.push(`${name}: ${err.status === 413 ? 'too large' : 'file type not allowed'}`);
      }
    }
    let stored = 0;
    for (const f of ok) {
      // one savepoint per file: a file the store refuses (e.g. an image that cannot be re-encoded) is noted, the rest kept
      try {
        await trx.transaction((sp) => storeTicketAttachments(app, sp, ticketId, [f], uploaderId));
        stored++;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refused.push(`${f.originalFilename}: ${err.status === 413 ? 'too large' : 'could not be read'}`);
      }
    }
    if (refused.length) {
      await tickets.insertComment(trx, { ticket_id: ticketId, user_id: null, comment: `Attachments not accepted from the email:\n${refused.map((r) => `- ${r}`).join('\n')}`, is_internal: false });
    }
    return { accepted: stored, refused };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

const actorOf = (s: Sender) => ({ actor_kind: 'user' as const, actor_id: s.id, actor_api_key_id: null });
const personOf = (s: Sender) => ({ kind: 'employee' as const, id: s.id, display: `${s.first_name} ${s.last_name}` });

async function newTicket(app: AppContext, trx: Knex.Transaction, row: InboundRow, m: ParsedInbound, sender: Sender, body: string, followUpOf?: TicketRow): Promise<Outcome> {
  const c = app.config.inbound;
  // an admin's release bypasses the cap it was quarantined for
  if (c.senderHourlyCap > 0 && row.released_by === null) {
    // one sender's mails are counted one transaction at a time (several job loops run at once)
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`email-cap:${m.from ?? ''}`]);
    const { n } = (await trx('inbound_emails')
      .whereRaw('lower(from_address) = ?', [m.from ?? ''])
      .where('outcome', 'ticket_created')
      .where('received_at', '>', trx.raw("now() - interval '1 hour'"))
      .count('* as n')
      .first()) as { n: string };
    if (Number(n) >= c.senderHourlyCap) return { status: 'quarantined', outcome: 'quarantined', reason: `sender_hourly_cap: ${c.senderHourlyCap} tickets by email per hour` };
  }
  const sc = subjectAndCategory(m.subject);
  const description = clipText(followUpOf ? `Follow-up to ${followUpOf.ticket_number} (${followUpOf.status}).\n\n${body}` : body);
  const t = await tickets.insertTicketWithHistory(trx, { employee_id: sender.id, subject: sc.subject, category: sc.category ?? c.defaultCategory, sub_category: c.defaultSubCategory, description }, actorOf(sender), null, { event: false });
  if (followUpOf) await tickets.addHistory(trx, t.id, actorOf(sender), [{ event: 'updated', field: 'follow_up_of', to_value: followUpOf.ticket_number }]);
  const att = await attach(app, trx, t.id, sender.id, m);
  if (await wantsEmail(trx, sender.id, 'ticket_updates')) {
    await queueEmail(trx, app.jobs, {
      template: 'ticket_received',
      to: sender.email,
      ticketId: t.id,
      inReplyTo: m.messageId,
      data: { first_name: sender.first_name, ticket_number: t.ticket_number, subject: t.subject, refused_attachments: att.refused },
    });
  }
  const fresh = (await tickets.findTicket(trx, { by: 'id', value: t.id }))!;
  await ticketEvent(trx, 'ticket.created', fresh, personOf(sender), { via: 'email', ...(followUpOf ? { follow_up_of: followUpOf.ticket_number } : {}) });
  return { status: 'processed', outcome: followUpOf ? 'follow_up_ticket_created' : 'ticket_created', ticket_id: t.id };
}

async function addComment(app: AppContext, trx: Knex.Transaction, m: ParsedInbound, sender: Sender, ticket: TicketRow, body: string, via: string): Promise<Outcome> {
  const staff = STAFF.has(sender.role);
  const marked = staff ? internalMarker(body, app.config.inbound.internalMarker) : { internal: false, text: body };
  const text = clipText(marked.text.trim() || '(empty message)');
  let reopened = false;
  if (ticket.status === 'Closed') {
    // the documented closed-ticket rule: reopened by a reply within INBOUND_REOPEN_DAYS of closing
    await tickets.updateTicket(trx, ticket.id, { status: 'Open', time_closed: null });
    await tickets.addHistory(trx, ticket.id, actorOf(sender), [{ event: 'status_changed', field: 'status', from_value: 'Closed', to_value: 'Open' }]);
    reopened = true;
  }
  const c = await tickets.insertComment(trx, { ticket_id: ticket.id, user_id: sender.id, comment: text, is_internal: marked.internal });
  await tickets.addHistory(trx, ticket.id, actorOf(sender), [{ event: 'commented', is_internal: marked.internal }]);
  await tickets.updateTicket(trx, ticket.id, {});
  const att = await attach(app, trx, ticket.id, sender.id, m);
  if (reopened) {
    const fresh = (await tickets.findTicket(trx, { by: 'id', value: ticket.id }))!;
    await ticketEvent(trx, 'ticket.status_changed', fresh, personOf(sender), { from: 'Closed', to: 'Open', action: 'email_reply' });
  }
  await commentEvent(trx, ticket, c as never, personOf(sender));
  if (!marked.internal && sender.id !== ticket.owner_id && (await wantsEmail(trx, ticket.owner_id, 'ticket_comments'))) {
    await queueEmail(trx, app.jobs, {
      template: 'ticket_commented',
      to: ticket.employee.email,
      ticketId: ticket.id,
      data: { first_name: ticket.employee.first_name, ticket_number: ticket.ticket_number, subject: ticket.subject, commenter_name: `${sender.first_name} ${sender.last_name}`, comment: text },
    });
  }
  return { status: 'processed', outcome: marked.internal ? 'internal_note' : reopened ? 'ticket_reopened' : 'comment_added', reason: `matched by ${via}${att.refused.length ? `; ${att.refused.length} attachment(s) refused` : ''}`, ticket_id: ticket.id, comment_id: c.id };
}

/** A bounce about one of our mails: an internal note on that ticket; otherwise only recorded. */
async function noteBounce(trx: Knex.Transaction, m: ParsedInbound, raw: Buffer, reason: string): Promise<Outcome> {
  const ids = new Set([...m.inReplyTo, ...m.references]);
  // a DSN quotes the original headers in its body: look for Message-IDs there too
  for (const x of raw.toString('latin1').matchAll(/^message-id:\s*<([^<>\s]{1,900})>/gim)) ids.add(x[1]!);
  const hit = ids.size ? await trx('email_messages').whereIn('message_id', [...ids].slice(0, 200)).where({ direction: 'out' }).first('ticket_id') : undefined;
  if (!hit) return { status: 'ignored', outcome: 'bounce_ignored', reason };
  const ticketId = Number(hit.ticket_id);
  const c = await tickets.insertComment(trx, { ticket_id: ticketId, user_id: null, comment: `An email about this ticket could not be delivered (${reason}).\n\n${clipText(trimReply(m.text)).slice(0, 2000)}`, is_internal: true });
  await tickets.addHistory(trx, ticketId, { actor_kind: 'system', actor_id: null, actor_api_key_id: null }, [{ event: 'commented', is_internal: true }]);
  return { status: 'ignored', outcome: 'bounce_noted', reason, ticket_id: ticketId, comment_id: c.id };
}

async function route(app: AppContext, trx: Knex.Transaction, row: InboundRow, m: ParsedInbound, raw: Buffer): Promise<Outcome> {
  const c = app.config.inbound;
  const host = mailHost(c.address, app.config.mailFrom);
  const ownMessageId = m.messageId ? Boolean(await trx('email_messages').where({ message_id: m.messageId, direction: 'out' }).first('message_id')) : false;
  const ownAddresses = [c.address, /<?([^<>\s]+@[^<>\s]+)>?\s*$/.exec(app.config.mailFrom)?.[1]?.toLowerCase()].filter((a): a is string => Boolean(a));
  const hit = checkGuards(m, { loopToken: loopToken(app.jwt.secret, host), ownAddresses, envelopeFrom: row.envelope_from, ownMessageId });
  if (hit) {
    app.log.info({ inbound: row.id, guard: hit.guard, reason: hit.reason }, 'inbound email stopped by a loop guard');
    const reason = `${hit.guard}: ${hit.reason}`;
    if (hit.action === 'bounce') return noteBounce(trx, m, raw, reason);
    return { status: 'ignored', outcome: hit.action === 'drop' ? 'dropped' : 'ignored', reason };
  }
  const { sender, reason } = await findSender(trx, m.from, row.release_employee_id);
  if (!sender) {
    if (c.bounce && m.from) await queueEmail(trx, app.jobs, { template: 'inbound_bounce', to: m.from, inReplyTo: m.messageId, data: { subject: m.subject.slice(0, 200) || '(no subject)' } });
    return { status: 'quarantined', outcome: 'quarantined', reason };
  }
  const body = trimReply(m.text) || '(no text)';
  const thread = await findThread(app, trx, m, row.envelope_to, sender);
  if (thread.ticket) {
    const t = thread.ticket;
    if (t.owner_id !== sender.id && !STAFF.has(sender.role)) return { status: 'quarantined', outcome: 'quarantined', reason: `not_ticket_participant: ${t.ticket_number}` };
    const closedLongAgo = t.status === 'Closed' && (!t.time_closed || Date.now() - new Date(t.time_closed).getTime() > c.reopenDays * 86_400_000);
    if (closedLongAgo || t.status === 'Rejected' || t.status === 'Withdrawn') return newTicket(app, trx, row, m, sender, body, t);
    return addComment(app, trx, m, sender, t, body, thread.via!);
  }
  return newTicket(app, trx, row, m, sender, body);
}

/** The job handler. Throws (→ retry) on infrastructure errors; the last try marks the row failed. */
export function inboundHandler(app: AppContext) {
  return async (data: { inboundId: number }, job?: { retryCount?: number; retryLimit?: number }): Promise<void> => {
    const first = (await app.db('inbound_emails').where({ id: data.inboundId }).first()) as InboundRow | undefined;
    if (!first || first.status !== 'received') return;
    try {
      const raw = await readRaw(app, first.storage_key);
      const m = await parseMail(raw);
      await app.db.transaction(async (trx) => {
        const row = (await trx('inbound_emails').where({ id: data.inboundId }).forUpdate().first()) as InboundRow | undefined;
        if (!row || row.status !== 'received') return; // another run got here first
        const out = await route(app, trx, row, m, raw);
        if (m.messageId && out.ticket_id && out.status === 'processed') {
          await trx('email_messages').insert({ message_id: m.messageId, ticket_id: out.ticket_id, direction: 'in', inbound_email_id: row.id }).onConflict('message_id').ignore();
        }
        await trx('inbound_emails')
          .where({ id: row.id })
          .update({
            status: out.status,
            outcome: out.outcome,
            reason: out.reason ?? null,
            ticket_id: out.ticket_id ?? null,
            comment_id: out.comment_id ?? null,
            from_address: m.from ?? null,
            subject: m.subject.slice(0, 500),
            body_text: clipText(m.text),
            attempts: trx.raw('attempts + 1'),
            processed_at: trx.fn.now(),
          });
        app.log.info({ inbound: row.id, status: out.status, outcome: out.outcome, reason: out.reason, ticket_id: out.ticket_id }, 'inbound email processed');
        const type = out.status === 'quarantined' ? 'email.quarantined' : out.status === 'ignored' ? 'email.ignored' : 'email.processed';
        await emitEmailEvent(trx, { type, object: { type: 'inbound_email', id: String(row.id) }, ticket_id: out.ticket_id ?? null, staff_only: true, data: { object: await inboundSnapshot(trx, Number(row.id)), status: out.status, outcome: out.outcome, reason: out.reason ?? null } });
      });
    } catch (err) {
      const last = (job?.retryCount ?? 0) >= (job?.retryLimit ?? 0);
      if (last) {
        await app.db('inbound_emails')
          .where({ id: data.inboundId, status: 'received' })
          .update({ status: 'failed', reason: `processing failed: ${(err as Error).message}`.slice(0, 500), attempts: app.db.raw('attempts + 1') })
          .catch(() => undefined);
      }
      throw err;
    }
  };
}
