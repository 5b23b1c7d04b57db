/**
 * The event log's read side: who may see which event (as SQL for the feed and as a predicate for
 * the live stream and the webhook dispatcher — the two must agree), type patterns, the commit
 * horizon, and how an event is presented.
 */
import type { Knex } from 'knex';
import { isAdmin, isStaff, type Principal } from '../../http/auth.js';
import { eventId, parseEventId } from './events.js';

export interface EventRow {
  seq: number;
  txid: number;
  type: string;
  actor_kind: string | null;
  actor_id: number | null;
  actor_display: string | null;
  object_type: string;
  object_id: string;
  ticket_id: number | null;
  subject_employee_id: number | null;
  audience_employee_id: number | null;
  visibility: 'all' | 'staff' | 'admin';
  scope: string | null;
  data: Record<string, unknown>;
  created_at: Date;
}

/** Who reads: a request principal, or a webhook endpoint's owner (same rules). */
export type Viewer = Principal;

export interface Position {
  txid: number;
  seq: number;
}

export const START: Position = { txid: 0, seq: 0 };

export const positionOf = (r: { txid: number; seq: number }): Position => ({ txid: Number(r.txid), seq: Number(r.seq) });
export const after = (a: Position, b: Position): boolean => a.txid > b.txid || (a.txid === b.txid && a.seq > b.seq);

/** `ticket.*`, `*`, `comment.created`: lowercase segments, `*` for any rest. */
export const TYPE_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

export function typeMatcher(patterns: string[] | undefined): (type: string) => boolean {
  if (!patterns?.length) return () => true;
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.]/g, '\\.')).join('.*')}$`));
  return (type) => res.some((r) => r.test(type));
}

/** The same patterns as SQL LIKE (`*` → `%`; `_` escaped). */
function typeLikes(patterns: string[]): string[] {
  return patterns.map((p) => p.replace(/_/g, '\\_').replace(/\*/g, '%'));
}

/** May `v` see this event? Mirror of `whereVisible`. */
export function canSeeEvent(v: Viewer, e: Pick<EventRow, 'audience_employee_id' | 'visibility' | 'scope'>): boolean {
  if (v.kind === 'api_key') {
    if (e.scope === null ? !isAdmin(v) : !v.scopes.includes(e.scope as never)) return false;
  }
  if (isAdmin(v)) return true;
  if (isStaff(v)) return e.visibility !== 'admin';
  return v.employeeId !== null && e.visibility === 'all' && e.audience_employee_id !== null && Number(e.audience_employee_id) === v.employeeId;
}

/** Restrict `qb` (over `events`) to what `v` may see. Index-backed for employees (audience index). */
export function whereVisible(qb: Knex.QueryBuilder, v: Viewer): Knex.QueryBuilder {
  if (v.kind === 'api_key') {
    if (isAdmin(v)) qb.where((w) => w.whereNull('scope').orWhereIn('scope', v.scopes));
    else qb.whereIn('scope', v.scopes);
  }
  if (isAdmin(v)) return qb;
  if (isStaff(v)) return qb.whereNot('visibility', 'admin');
  if (v.employeeId === null) return qb.whereRaw('false');
  return qb.where({ audience_employee_id: v.employeeId, visibility: 'all' });
}

export interface FeedFilter {
  types?: string[];
  /** a ticket number (every event about the ticket, its comments and files) or another object id */
  object?: string;
  from?: Position;
  since?: string;
}

/**
 * The commit horizon, as SQL evaluated with the statement's own snapshot: the oldest transaction
 * that was still running when the snapshot was taken (its events, and any later ones, may still
 * appear), or the snapshot's xmax when none was. Transactions that pg_stat_activity shows to be in
 * ANOTHER database of the cluster are left out (they cannot write our events), so a long writer
 * elsewhere does not hold our feed back; anything not positively known to be elsewhere counts.
 */
export const HORIZON_SQL = `(SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
   FROM pg_snapshot_xip(pg_current_snapshot()) AS x
  WHERE (x::text::bigint % 4294967296) NOT IN (
    SELECT backend_xid::text::bigint FROM pg_stat_activity WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL))`;

/** Events after `filter.from`, below the commit horizon, in log order. */
export async function readEvents(db: Knex, v: Viewer | null, filter: FeedFilter, limit: number): Promise<EventRow[]> {
  const qb = db('events').select('*');
  const from = filter.from ?? START;
  qb.whereRaw('(txid, seq) > (?, ?)', [from.txid, from.seq]);
  qb.whereRaw(`txid < ${HORIZON_SQL}`);
  if (filter.types?.length && !filter.types.includes('*')) {
    qb.where((w) => {
      for (const l of typeLikes(filter.types!)) w.orWhere('type', 'like', l);
    });
  }
  if (filter.object) {
    const o = filter.object;
    qb.where((w) => w.where('object_id', o).orWhere('ticket_id', db('tickets').where({ ticket_number: o.toUpperCase() }).select('id')));
  }
  if (filter.since) {
    // the first transaction with an event at or after `since`, by the created_at index; then log order
    qb.where('created_at', '>=', filter.since).whereRaw('txid >= coalesce((SELECT min(txid) FROM events WHERE created_at >= ?), 0)', [filter.since]);
  }
  if (v) whereVisible(qb, v);
  return (await qb.orderBy([{ column: 'txid' }, { column: 'seq' }]).limit(limit)) as EventRow[];
}

/** The current commit horizon's position: every event below it is final. */
export async function horizon(db: Knex): Promise<number> {
  const r = await db.raw(`SELECT ${HORIZON_SQL} AS x`);
  return Number(r.rows[0].x);
}

export function presentEvent(r: EventRow) {
  return {
    id: eventId(Number(r.txid), Number(r.seq)),
    type: r.type,
    created_at: new Date(r.created_at).toISOString(),
    actor: r.actor_kind ? { kind: r.actor_kind, id: r.actor_id === null ? null : Number(r.actor_id), display: r.actor_display } : null,
    object: { type: r.object_type, id: r.object_id },
    data: r.data,
  };
}

export type PresentedEvent = ReturnType<typeof presentEvent>;

export { eventId, parseEventId };
