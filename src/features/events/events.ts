/**
 * The event log's write side (see docs/events.md): `recordEvent` appends one event in the caller's
 * transaction. Nothing else is needed to publish it: committed rows are read in commit order by the
 * feed, the live stream and the webhook dispatcher (the row is its own outbox; the `events` table's
 * trigger wakes listeners up with NOTIFY).
 */
import type { Knex } from 'knex';
import type { Principal } from '../../http/auth.js';

export type EventVisibility = 'all' | 'staff' | 'admin';

/**
 * The catalogue (docs/events.md): the only types `recordEvent` accepts. Adding a type means adding
 * it here AND to the catalogue in docs/events.md; test/events-catalogue.test.ts fails when the two
 * differ or a type is not exercised end to end.
 */
export const EVENT_TYPES = [
  'ticket.created', 'ticket.updated', 'ticket.status_changed', 'ticket.assigned', 'ticket.deleted',
  'comment.created', 'attachment.added',
  'employee.registered', 'employee.created', 'employee.approved', 'employee.rejected', 'employee.updated',
  'employee.deactivated', 'employee.reactivated', 'employee.erased',
  'api_key.created', 'api_key.revoked',
  'faq.created', 'faq.updated', 'faq.deleted',
  'chat.escalated',
  'workflow.delivery_dead_lettered',
  'sla.warning', 'sla.breached', 'sla.policy_changed',
  'email.received', 'email.processed', 'email.quarantined', 'email.ignored', 'email.released',
  'announcement.created', 'announcement.archived',
  'webhook.created', 'webhook.updated', 'webhook.deleted', 'webhook.secret_rotated', 'webhook.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventInput {
  /** from the catalogue in docs/events.md, e.g. 'ticket.created' — lowercase `noun.verb_past` */
  type: EventType;
  actor: { kind: 'employee' | 'api_key' | 'system'; id: number | null; display?: string | null } | null;
  /** the object's public/human id, e.g. { type: 'ticket', id: 'TX0042' } */
  object: { type: string; id: string };
  /** internal ticket row id when the event is about a ticket (its owner may see it) */
  ticket_id?: number | null;
  /** the employee the event concerns (that person may see it) */
  subject_employee_id?: number | null;
  /** internal notes, staff-only data: never shown to employees */
  staff_only?: boolean;
  /** only System Admins (and keys with that role) see it: API keys, webhooks, configuration */
  admin_only?: boolean;
  /**
   * The API-key scope that lets a key see it. Default: `tickets:read` when `ticket_id` is set,
   * `employees:read` for an employee object, otherwise none (System Admin keys only).
   */
  scope?: string | null;
  /** snapshot of the object as the API presents it to a caller allowed to see the event */
  data: Record<string, unknown>;
}

/** Public id: `evt_` + 12 hex digits of the transaction id + 12 of the sequence; sorts in feed order. */
export function eventId(txid: number, seq: number): string {
  return `evt_${txid.toString(16).padStart(12, '0')}${seq.toString(16).padStart(12, '0')}`;
}

export function parseEventId(id: string): { txid: number; seq: number } | null {
  const m = /^evt_([0-9a-f]{12,})([0-9a-f]{12})$/.exec(id);
  if (!m) return null;
  const txid = parseInt(m[1]!, 16);
  const seq = parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(txid) || !Number.isSafeInteger(seq)) return null;
  return { txid, seq };
}

export function defaultScope(e: Pick<EventInput, 'ticket_id' | 'object' | 'scope' | 'admin_only'>): string | null {
  if (e.scope !== undefined) return e.scope;
  if (e.admin_only) return null;
  if (e.ticket_id) return 'tickets:read';
  if (e.object.type === 'employee') return 'employees:read';
  return null;
}

/** The columns of one event row, and the SQL that fills `audience_employee_id` from the ticket. */
function columns(e: EventInput) {
  return {
    type: e.type,
    actor_kind: e.actor?.kind ?? null,
    actor_id: e.actor?.id ?? null,
    actor_display: e.actor?.display ?? null,
    object_type: e.object.type,
    object_id: e.object.id,
    ticket_id: e.ticket_id ?? null,
    subject_employee_id: e.subject_employee_id ?? null,
    visibility: e.admin_only ? 'admin' : e.staff_only ? 'staff' : 'all',
    scope: defaultScope(e),
    data: JSON.stringify(e.data),
  };
}

/**
 * Append one event IN THE CALLER'S TRANSACTION (pass the transaction; with the pool it commits on
 * its own). Its fan-out needs no extra write: the webhook dispatcher reads committed events in
 * order, so an event is delivered if and only if its transaction committed. Returns 'evt_…'.
 */
export async function recordEvent(trx: Knex | Knex.Transaction, e: EventInput): Promise<string> {
  const c = columns(e);
  const r = await trx.raw(
    `INSERT INTO events (type, actor_kind, actor_id, actor_display, object_type, object_id, ticket_id, subject_employee_id, audience_employee_id, visibility, scope, data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?::bigint, (SELECT employee_id FROM tickets WHERE id = ?::bigint)), ?, ?, ?::jsonb)
     RETURNING txid, seq`,
    [c.type, c.actor_kind, c.actor_id, c.actor_display, c.object_type, c.object_id, c.ticket_id, c.subject_employee_id, c.subject_employee_id, c.ticket_id, c.visibility, c.scope, c.data],
  );
  const row = r.rows[0] as { txid: number; seq: number };
  return eventId(Number(row.txid), Number(row.seq));
}

/** Several events at once (one statement). */
export async function recordEvents(trx: Knex | Knex.Transaction, list: EventInput[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of list) ids.push(await recordEvent(trx, e));
  return ids;
}

/** Actor from a request principal (null principal: the system). */
export function actorOf(principal: Principal | undefined | null): EventInput['actor'] {
  if (!principal) return { kind: 'system', id: null, display: null };
  if (principal.kind === 'user') return { kind: 'employee', id: principal.employeeId, display: null };
  return { kind: 'api_key', id: principal.id, display: null };
}

export const SYSTEM_ACTOR: EventInput['actor'] = { kind: 'system', id: null, display: null };

/**
 * SQL for an event insert as a data-modifying CTE (for the ticket create statement, which stays one
 * round trip): `select` must yield the columns in `EVENT_INSERT_COLUMNS` order.
 */
export const EVENT_INSERT_COLUMNS = 'type, actor_kind, actor_id, actor_display, object_type, object_id, ticket_id, subject_employee_id, audience_employee_id, visibility, scope, data';
