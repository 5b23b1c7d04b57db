/**
 * The two call sites that wait for other branches (see the report in docs/sla.md "Status"):
 *
 * - `recordEvent` (events branch, src/features/events/events.ts): until it is on main, SLA events are
 *   not written to the event log; replace the body of `emitSlaEvent` with
 *   `await recordEvent(trx, e)`.
 * - `wantsEmail(db, employeeId, key)` (reports branch, notification preferences): until it is on
 *   main, everyone who would get an SLA email gets it; replace the body of `wantsSlaEmail` with
 *   `return wantsEmail(db, employeeId, key)`.
 */
import type { Knex } from 'knex';

export interface SlaEventInput {
  type: 'sla.warning' | 'sla.breached' | 'sla.policy_changed';
  actor: { kind: 'system'; id: null; display?: string | null } | { kind: 'employee' | 'api_key'; id: number | null; display?: string | null } | null;
  object: { type: string; id: string };
  ticket_id?: number | null;
  staff_only?: boolean;
  data: Record<string, unknown>;
}

/** Preference keys this feature adds (docs/sla.md). */
export const SLA_EMAIL_KEYS = { warning: 'sla_warning', breach: 'sla_breach' } as const;

// CALL SITE (events branch): `return recordEvent(trx, e);`
export async function emitSlaEvent(_trx: Knex | Knex.Transaction, _e: SlaEventInput): Promise<string | null> {
  return null;
}

// CALL SITE (reports branch): `return wantsEmail(db, employeeId, key);`
export async function wantsSlaEmail(_db: Knex | Knex.Transaction, _employeeId: number, _key: string): Promise<boolean> {
  return true;
}
