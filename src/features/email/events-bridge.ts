/**
 * The email channel's events (docs/events.md, "Email channel"): recorded through `recordEvent` in
 * the caller's transaction. Events about received mail are for System Admins only (they carry
 * sender addresses of people who may have no account).
 */
import type { Knex } from 'knex';
import { recordEvent, SYSTEM_ACTOR, type EventInput } from '../events/events.js';

export type EmailEvent = Omit<EventInput, 'actor'> & { actor?: EventInput['actor'] };

export function emitEmailEvent(trx: Knex | Knex.Transaction, e: EmailEvent): Promise<string> {
  return recordEvent(trx, { ...e, actor: e.actor ?? SYSTEM_ACTOR, admin_only: e.admin_only ?? e.type.startsWith('email.') });
}
