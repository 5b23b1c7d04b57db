/**
 * Where the SLA engine meets the event log and the notification preferences (both on main now):
 * `emitSlaEvent` → `recordEvent` in the caller's transaction; `slaRecipients` filters through the
 * `sla_warnings` preference (staff audience, on by default) in one query.
 */
import type { Knex } from 'knex';
import { recordEvent, type EventInput } from '../events/events.js';
import { wantsEmailMany } from '../notifications/preferences.js';
import { presentTicket } from '../tickets/ticket-model.js';
import { findTicket } from '../tickets/ticket-store.js';

export type SlaEventInput = EventInput & { type: 'sla.warning' | 'sla.breached' | 'sla.policy_changed' };

/** The preference key SLA warning and breach emails answer to (docs/notifications.md). */
export const SLA_EMAIL_KEY = 'sla_warnings' as const;

export async function emitSlaEvent(trx: Knex | Knex.Transaction, e: SlaEventInput): Promise<string> {
  // like every event about an object: the ticket as the API presents it, at the time of the change
  const row = e.ticket_id == null ? undefined : await findTicket(trx, { by: 'id', value: e.ticket_id });
  return recordEvent(trx, row ? { ...e, data: { ...e.data, object: presentTicket(row, false) } } : e);
}

/** The people among `ids` who want SLA emails. */
export function wantsSlaEmail(db: Knex | Knex.Transaction, ids: number[]): Promise<Set<number>> {
  return wantsEmailMany(db, ids, SLA_EMAIL_KEY);
}
