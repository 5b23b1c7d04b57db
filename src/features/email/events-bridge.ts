/**
 * The email channel's events (docs/events.md, "Email channel"): recorded through `recordEvent` in
 * the caller's transaction. Events about received mail are for System Admins only (they carry
 * sender addresses of people who may have no account).
 */
import type { Knex } from 'knex';
import { recordEvent, SYSTEM_ACTOR, type EventInput } from '../events/events.js';

const iso = (v: unknown) => (v ? (v as Date).toISOString() : null);

export function presentInbound(r: Record<string, unknown>) {
  return {
    id: Number(r.id),
    source: r.source,
    message_id: r.message_id ?? null,
    envelope_from: r.envelope_from ?? null,
    from_address: r.from_address ?? null,
    subject: r.subject ?? null,
    size: Number(r.size),
    status: r.status,
    outcome: r.outcome ?? null,
    reason: r.reason ?? null,
    ticket_number: r.ticket_number ?? null,
    received_at: iso(r.received_at),
    processed_at: iso(r.processed_at),
    ...('body_text' in r ? { body_text: r.body_text ?? null } : {}),
  };
}

/** The snapshot of an inbound message in its events (`data.object`): as the admin API lists it (no body). */
export async function inboundSnapshot(trx: Knex | Knex.Transaction, id: number) {
  const row = await trx({ i: 'inbound_emails' }).leftJoin({ t: 'tickets' }, 't.id', 'i.ticket_id').where('i.id', id)
    .first('i.id', 'i.source', 'i.message_id', 'i.envelope_from', 'i.from_address', 'i.subject', 'i.size', 'i.status', 'i.outcome', 'i.reason', 't.ticket_number', 'i.received_at', 'i.processed_at');
  return presentInbound(row as Record<string, unknown>);
}

export type EmailEvent = Omit<EventInput, 'actor'> & { actor?: EventInput['actor'] };

export function emitEmailEvent(trx: Knex | Knex.Transaction, e: EmailEvent): Promise<string> {
  return recordEvent(trx, { ...e, actor: e.actor ?? SYSTEM_ACTOR, admin_only: e.admin_only ?? e.type.startsWith('email.') });
}
