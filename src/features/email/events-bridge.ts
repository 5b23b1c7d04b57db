/**
 * EVENTS CALL SITE (one place): the email channel's events go through here.
 *
 * TODO(events): when `src/features/events/events.ts` (recordEvent, /work/wt/EVENTS-INTERFACE.md) is
 * on main, replace the body with `return recordEvent(trx, { actor: e.actor ?? { kind: 'system', id: null }, ...e })`.
 * Until then this is deliberately a no-op; every caller already passes the transaction of the change.
 */
import type { Knex } from 'knex';

export interface EmailEvent {
  type: string;
  actor?: { kind: 'employee' | 'api_key' | 'system'; id: number | null; display?: string | null } | null;
  object: { type: string; id: string };
  ticket_id?: number | null;
  subject_employee_id?: number | null;
  staff_only?: boolean;
  data: Record<string, unknown>;
}

export async function emitEmailEvent(_trx: Knex | Knex.Transaction, _e: EmailEvent): Promise<string | null> {
  return null;
}
