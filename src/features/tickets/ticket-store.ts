/**
 * The only file in the tickets feature that writes SQL. Lists are one query per page: the owner and
 * assignee summaries are built with json_build_object in the same statement, never fetched per row.
 */
import type { Knex } from 'knex';
import { queryPrepared } from '../../db/knex.js';
import { createBatcher, type CreateBatcher, type CreateSql } from './create-batch.js';
import { paginate, paginateTemplate, type Page } from '../../http/pagination.js';
import type { IdRef } from '../../lib/ids.js';
import { EVENT_INSERT_COLUMNS, type EventInput } from '../events/events.js';
import type { ActorRef, AttachmentRow, CommentRow, HistoryInput, TicketRow } from './ticket-model.js';
import { TICKET_STATUSES, type TicketStatus } from './ticket-states.js';
import { ticketCountsByStatus } from '../reports/ticket-counts.js';
import { ticketTimes } from '../reports/ticket-times.js';

const person = (alias: string, build = 'json_build_object') =>
  `${build}('id', ${alias}.id, 'company_id', ${alias}.company_id, 'first_name', ${alias}.first_name, 'last_name', ${alias}.last_name, 'email', ${alias}.email, 'department', ${alias}.department)`;

/**
 * The owner and the assignee of the ticket row `t` as JSON, by primary-key lookups (see ticketQuery).
 * An unassigned ticket skips its lookup: a subquery run per row costs more than everything else
 * about the row (bench: 20 rows, ~7 µs each).
 */
const OWNER_SQL = `(SELECT ${person('e')} FROM employees e WHERE e.id = t.employee_id)`;
const ASSIGNEE_SQL = `CASE WHEN t.assigned_to IS NULL THEN NULL ELSE (SELECT ${person('a')} FROM employees a WHERE a.id = t.assigned_to) END`;
/** The owner given as a parameter: one lookup for the whole page (an InitPlan), not one per row. */
const FIXED_OWNER_SQL = `(SELECT ${person('e')} FROM employees e WHERE e.id = ?::bigint)`;

const isoSql = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The ticket as presentTicket shows it to its owner (no `sla` block), as SQL over the row `t` with
 * the people given as SQL: the same keys in the same order and the same values, timestamps as
 * JSON.stringify writes a Date. One list of fields, two renderings (below): the `ticket.created`
 * event's snapshot and an employee's list (test/tickets.test.ts holds the list to presentTicket's
 * output, test/events-log.test.ts the snapshot to the owner's GET of the ticket).
 */
function ticketJsonFields(t: string, employee: string, assignee: string): [string, string][] {
  return [
    ['id', `${t}.id`], ['ticket_number', `${t}.ticket_number`], ['subject', `${t}.subject`], ['category', `${t}.category`],
    ['sub_category', `${t}.sub_category`], ['description', `${t}.description`], ['priority', `${t}.priority`],
    ['department', `${t}.department`], ['status', `${t}.status`], ['submit_date', isoSql(`${t}.submit_date`)],
    ['update_date', isoSql(`${t}.update_date`)], ['approved_at', isoSql(`${t}.approved_at`)], ['response_time', `${t}.response_time`],
    ['resolved_at', isoSql(`${t}.resolved_at`)], ['resolution_time', `${t}.resolution_time`], ['time_closed', isoSql(`${t}.time_closed`)],
    ['rejection_reason', `${t}.rejection_reason`], ['version', `${t}.version`], ['scheduled_date', `to_char(${t}.scheduled_date, 'YYYY-MM-DD')`],
    ['employee', employee], ['assigned_to', assignee],
  ];
}

/** The ticket as one jsonb value, for the `ticket.created` event's snapshot (events.data is jsonb). */
function ticketJsonbSql(t: string, employee: string, assignee: string): string {
  return `jsonb_build_object(${ticketJsonFields(t, employee, assignee).map(([k, v]) => `'${k}', ${v}`).join(', ')})`;
}

/**
 * The ticket as JSON text, for a page of an employee's list: `row_to_json` of a one-row subselect
 * whose columns are the keys. The same values as json_build_object (both convert each value the same
 * way) for about a tenth less of PostgreSQL's time per page: json_build_object takes its 42 arguments
 * as variadic "any" and looks up each one's output function on every row (one client, prepared, 20
 * rows: ~255 → ~230 µs of backend CPU).
 */
function ticketJsonTextSql(t: string, employee: string, assignee: string): string {
  return `(SELECT row_to_json(j)::text FROM (SELECT ${ticketJsonFields(t, employee, assignee).map(([k, v]) => `${v} AS ${k}`).join(', ')}) j)`;
}

/** An employee's list row: the id (the cursor) and the ticket as JSON text, passed to the client as it is. */
export interface TicketJsonRow {
  id: number;
  json: string;
}

const TICKET_COLUMNS = [
  't.id', 't.ticket_number', 't.subject', 't.category', 't.sub_category', 't.description',
  't.priority', 't.department', 't.status', 't.submit_date', 't.update_date', 't.approved_at', 't.response_time',
  't.resolved_at', 't.resolution_time', 't.time_closed', 't.rejection_reason', 't.version',
];

/**
 * SELECT of tickets with their people, ready for presentTicket. The owner and assignee come from
 * primary-key lookups in the select list, not joins: PostgreSQL evaluates them after ORDER BY …
 * LIMIT, for the page's rows only, so no plan can instead hash-join the whole employees table
 * (what a search matching thousands of tickets got with joins: a Seq Scan of 50k employees,
 * bench/volume.ts). An inner join dropped nothing: employee_id is a foreign key.
 */
export function ticketQuery(db: Knex | Knex.Transaction, source: Knex.Raw | { t: string } = { t: 'tickets' }, opts: { sla?: boolean; json?: { owner: number } } = {}): Knex.QueryBuilder {
  if (opts.json) {
    // the owner's view built by PostgreSQL: no row decoding, date parsing or JSON.stringify in Node;
    // every row of it has the same owner, looked up once
    return db
      .from(source as unknown as string)
      .select('t.id', db.raw(`${ticketJsonTextSql('t', FIXED_OWNER_SQL, ASSIGNEE_SQL)} AS json`, [opts.json.owner]));
  }
  return db
    .from(source as unknown as string)
    .select(TICKET_COLUMNS)
    .select(
      db.raw(`to_char(t.scheduled_date, 'YYYY-MM-DD') AS scheduled_date`),
      db.raw(`${OWNER_SQL} AS employee`),
      db.raw(`${ASSIGNEE_SQL} AS assigned_to`),
      db.raw('t.employee_id AS owner_id'),
      db.raw('t.assigned_to AS assignee_id'),
      // the SLA clock: a primary-key lookup per returned row (a subquery, so it can never change the
      // list's plan); not read for employees, who are never shown the `sla` block (presentTicket)
      db.raw(opts.sla === false ? 'NULL::jsonb AS sla_row' : `(SELECT to_jsonb(s) - 'timers' FROM ticket_sla s WHERE s.ticket_id = t.id) AS sla_row`),
    );
}

function whereRef(qb: Knex.QueryBuilder, ref: IdRef): Knex.QueryBuilder {
  return ref.by === 'id' ? qb.where('t.id', ref.value) : qb.where('t.ticket_number', ref.value);
}

export async function findTicket(db: Knex | Knex.Transaction, ref: IdRef, opts: { lock?: boolean } = {}): Promise<TicketRow | undefined> {
  const qb = whereRef(ticketQuery(db), ref);
  if (opts.lock) qb.forUpdate('t');
  return (await qb.first()) as TicketRow | undefined;
}

export interface TicketFilters {
  /** restrict to this owner (employees see only their own) */
  owner?: number;
  status?: TicketStatus[];
  priority?: string;
  department?: string;
  category?: string;
  /** assigned to this person, by numeric id or company id (a subquery: no extra round trip) */
  assignee?: { id?: number; company_id?: string };
  /** owner by numeric id or company id */
  employee?: { id?: number; company_id?: string };
  submitted_after?: string;
  submitted_before?: string;
  q?: string;
  /** assigned_to = this person and not finished */
  mine?: number;
  /** breached: a target is overdue or was met late; at_risk: the earliest running target passed its warning */
  sla_state?: 'breached' | 'at_risk';
}

export async function listTickets(db: Knex, f: TicketFilters, page: { limit?: number; cursor?: string; order?: string }, opts: { sla?: false; json: true; template?: boolean }): Promise<Page<TicketJsonRow>>;
export async function listTickets(db: Knex, f: TicketFilters, page: { limit?: number; cursor?: string; order?: string }, opts?: { sla?: boolean; json?: false; template?: boolean }): Promise<Page<TicketRow>>;
/**
 * `json: true` (an owner's view, never with the SLA filter or order): each row is the id and the
 * ticket as JSON text (ticketJsonTextSql).
 */
export async function listTickets(db: Knex, f: TicketFilters, page: { limit?: number; cursor?: string; order?: string }, opts: { sla?: boolean; json?: boolean; template?: boolean } = {}): Promise<Page<TicketRow> | Page<TicketJsonRow>> {
  if (opts.json && f.owner === undefined) throw new Error("the owner's view needs the owner filter");
  if (opts.json && (f.sla_state || page.order === 'sla_due')) throw new Error('an SLA filter or order has no owner view');
  // company ids are stored upper-case
  const filters: TicketFilters = { ...f };
  if (f.assignee?.company_id) filters.assignee = { ...f.assignee, company_id: f.assignee.company_id.toUpperCase() };
  if (f.employee?.company_id) filters.employee = { ...f.employee, company_id: f.employee.company_id.toUpperCase() };
  const q = f.q?.trim();
  if (f.sla_state || page.order === 'sla_due') {
    // by due time, most urgent first: a range scan of ticket_sla_breach_at_idx, tickets by primary key
    const qb = listQuery(db, filters, opts);
    qb.join({ sl: 'ticket_sla' }, 'sl.ticket_id', 't.id').select(db.raw('sl.breach_at AS sla_breach_at')).whereNotNull('sl.breach_at');
    if (f.sla_state === 'breached') qb.where('sl.breach_at', '<=', db.fn.now());
    if (f.sla_state === 'at_risk') qb.where('sl.warn_at', '<=', db.fn.now()).where('sl.breach_at', '>', db.fn.now());
    return paginate<TicketRow & Record<string, unknown>>(qb, { limit: page.limit, cursor: page.cursor, keys: [{ column: 'sl.breach_at', prop: 'sla_breach_at' }, { column: 't.id', prop: 'id' }], direction: 'asc' }) as Promise<Page<TicketRow>>;
  }
  const direction = page.order === 'submit_date' ? 'asc' : 'desc';
  if (q) {
    // With `q`, the matching rows come from the GIN index first, fenced by OFFSET 0 so the planner
    // cannot instead walk the primary key backwards filtering every row (what it picks for
    // ORDER BY id LIMIT n when it overestimates how common the words are). Not prepared: the best
    // plan depends on the words.
    const number = /^tx\d{4,15}$/i.test(q);
    const source = db.raw(`(SELECT * FROM tickets WHERE search @@ websearch_to_tsquery('english', ?)${number ? ' OR ticket_number = ?' : ''} OFFSET 0) AS t`, number ? [q, q.toUpperCase()] : [q]);
    return paginate<TicketRow & Record<string, unknown>>(listQuery(db, filters, opts, source), { limit: page.limit, cursor: page.cursor, keys: [{ column: 't.id', prop: 'id' }], direction }) as Promise<Page<TicketRow>>;
  }
  // Without `q` the statement's text depends only on which filters are present and its plan not
  // on their values (an ordered index scan under LIMIT): compiled once per shape and prepared, it
  // is planned once per connection.
  const slots = filterSlots({ ...filters, q: undefined }); // a blank `q` searches nothing
  return paginateTemplate<TicketRow & Record<string, unknown>>(
    db,
    'ticket_list',
    `${opts.json ? 'owner-json' : opts.sla === false ? 'no-sla' : 'sla'} ${slots.shape}`,
    slots.values,
    (standIns) => listQuery(db, slots.rebuild(standIns), opts),
    // template: false — the same statement compiled afresh (test/ticket-list-template.test.ts compares the two)
    { limit: page.limit, cursor: page.cursor, keys: [{ column: 't.id', prop: 'id' }], direction, fresh: opts.template === false ? listQuery(db, filters, opts) : undefined },
  ) as Promise<Page<TicketRow>>;
}

/** The list's SELECT with its filters (no order, no limit), over `source` (default: tickets). */
function listQuery(db: Knex, f: TicketFilters, opts: { sla?: boolean; json?: boolean }, source?: Knex.Raw): Knex.QueryBuilder {
  const qb = ticketQuery(db, source, { sla: opts.sla, json: opts.json ? { owner: f.owner! } : undefined });
  if (f.owner !== undefined) qb.where('t.employee_id', f.owner);
  if (f.status?.length) qb.whereIn('t.status', f.status);
  if (f.priority) qb.where('t.priority', f.priority);
  if (f.department) qb.where('t.department', f.department);
  if (f.category) qb.where('t.category', f.category);
  if (f.assignee?.id !== undefined) qb.where('t.assigned_to', f.assignee.id);
  if (f.assignee?.company_id) qb.whereRaw('t.assigned_to = (SELECT id FROM employees WHERE company_id = ?)', [f.assignee.company_id]);
  if (f.employee?.id !== undefined) qb.where('t.employee_id', f.employee.id);
  if (f.employee?.company_id) qb.whereRaw('t.employee_id = (SELECT id FROM employees WHERE company_id = ?)', [f.employee.company_id]);
  if (f.submitted_after) qb.where('t.submit_date', '>=', f.submitted_after);
  if (f.submitted_before) qb.where('t.submit_date', '<', f.submitted_before);
  if (f.mine !== undefined) qb.where('t.assigned_to', f.mine).whereRaw(`t.status NOT IN ('Closed', 'Rejected', 'Withdrawn')`);
  return qb;
}

/**
 * The filters' values in a fixed order, the shape they leave in the SQL (which keys are present, how
 * many values each array has, which fields each object sets), and the filters rebuilt from any
 * values in that order — every key, so a filter added later is a bound value of the template too.
 * `q` and `sla_state` change the SQL by their value and never reach a template.
 */
export function filterSlots(f: TicketFilters): { shape: string; values: unknown[]; rebuild(v: readonly unknown[]): TicketFilters } {
  const values: unknown[] = [];
  const shape: string[] = [];
  const plan: ((v: readonly unknown[], out: Record<string, unknown>, at: { i: number }) => void)[] = [];
  for (const key of Object.keys(f).sort()) {
    const value = (f as Record<string, unknown>)[key];
    // absent, as listQuery reads them (its string filters are tested for truthiness)
    if (value === undefined || value === null || value === '') continue;
    if (key === 'q' || key === 'sla_state') throw new Error(`the filter ${key} has no template`);
    if (Array.isArray(value)) {
      shape.push(`${key}[${value.length}]`);
      values.push(...value);
      plan.push((v, out, at) => void (out[key] = v.slice(at.i, (at.i += value.length))));
    } else if (value !== null && typeof value === 'object') {
      const fields = Object.keys(value).filter((k) => ![undefined, null, ''].includes((value as Record<string, unknown>)[k] as never)).sort();
      shape.push(`${key}{${fields.join(',')}}`);
      for (const k of fields) values.push((value as Record<string, unknown>)[k]);
      plan.push((v, out, at) => void (out[key] = Object.fromEntries(fields.map((k) => [k, v[at.i++]]))));
    } else {
      shape.push(key);
      values.push(value);
      plan.push((v, out, at) => void (out[key] = v[at.i++]));
    }
  }
  return {
    shape: shape.join(' '),
    values,
    rebuild(v) {
      const out: Record<string, unknown> = {};
      const at = { i: 0 };
      for (const step of plan) step(v, out, at);
      return out as TicketFilters;
    },
  };
}

/** The ticket as presentTicket shows it, as SQL over `ins` (the inserted row) and its people `e`/`a`. */
const TICKET_SNAPSHOT_SQL = ticketJsonbSql('ins', person('e', 'jsonb_build_object'), `CASE WHEN a.id IS NULL THEN NULL ELSE ${person('a', 'jsonb_build_object')} END`);

/**
 * Insert a ticket, its `created` history entry and its `ticket.created` event, and read it back with
 * its people, in ONE statement (createStatement below): the hottest write is a single round trip.
 */
export async function insertTicketWithHistory(db: Knex | Knex.Transaction, values: Record<string, unknown>, actor: ActorRef, eventActor: EventInput['actor'] = null, opts: { event?: boolean } = {}): Promise<TicketRow> {
  const name = opts.event === false ? 'ticket_create_silent' : 'ticket_create';
  const eventValues = [eventActor?.kind ?? null, eventActor?.id ?? null, eventActor?.display ?? null];
  if ((db as Knex.Transaction).isTransaction || opts.event === false) {
    // in a transaction (files, an SLA, an Idempotency-Key): through knex on the transaction's connection
    const [row] = await queryPrepared<TicketRow>(db, name, createStatement(db, values, actor, eventValues, opts.event !== false));
    return row!;
  }
  // the hottest write, on the pool: batched with the creates waiting beside it (create-batch.ts)
  return ticketCreateBatcher(db).create({ values, actor, eventActor });
}

/** The pool's create batcher (its `stats` are read by tests and the bench). */
export const ticketCreateBatcher = (db: Knex): CreateBatcher => createBatcher(db, CREATE_SQL);

/** The pieces of the create statement that the batched one shares (create-batch.ts). */
export const CREATE_SQL: CreateSql = {
  select: (db) => ticketQuery(db, db.raw('ins AS t JOIN v ON v.id = t.id')).select(db.raw('v.ord::int AS ord')).orderBy('v.ord'),
  snapshot: TICKET_SNAPSHOT_SQL,
};

/**
 * The create statement: the ticket, its `created` history entry and (unless `event` is false) its
 * `ticket.created` event, then the ticket read back with its people, as data-modifying CTEs (atomic
 * on their own, so the common create needs no explicit transaction: one round trip). Exported for tests.
 */
export function createStatement(db: Knex | Knex.Transaction, values: Record<string, unknown>, actor: ActorRef, eventValues: readonly unknown[], event: boolean): Knex.QueryBuilder {
  const ins = db('tickets').insert(values).returning('*').toSQL(); // `?` placeholders
  const query = ticketQuery(db, db.raw('ins AS t'))
    .with('ins', db.raw(ins.sql, ins.bindings as Knex.RawBinding[]))
    .with(
      'h',
      db.raw(`INSERT INTO ticket_history (ticket_id, actor_kind, actor_id, actor_api_key_id, event, field, to_value) SELECT id, ?, ?, ?, 'created', 'status', 'New' FROM ins`, [
        actor.actor_kind,
        actor.actor_id,
        actor.actor_api_key_id,
      ] as Knex.RawBinding[]),
    );
  // `event: false`: the caller records `ticket.created` itself later in its transaction (e.g. the
  // email channel, after the attachments, with `via: email`) — never both, or the event doubles
  if (event) {
    query.with(
      'ev',
      db.raw(
        `INSERT INTO events (${EVENT_INSERT_COLUMNS})
         SELECT 'ticket.created', ?::text, ?::bigint, ?::text, 'ticket', ins.ticket_number, ins.id, NULL, ins.employee_id, 'all', 'tickets:read', jsonb_build_object('object', ${TICKET_SNAPSHOT_SQL})
         FROM ins JOIN employees e ON e.id = ins.employee_id LEFT JOIN employees a ON a.id = ins.assigned_to`,
        eventValues as Knex.RawBinding[],
      ),
    );
  }
  return query;
}

/** Update with a version bump; returns false if `where` matched nothing (e.g. a lost claim race). */
export async function updateTicket(trx: Knex.Transaction, id: number, values: Record<string, unknown>, where: Record<string, unknown> = {}): Promise<boolean> {
  const n = await trx('tickets')
    .where({ id, ...where })
    .update({ ...values, update_date: trx.fn.now(), version: trx.raw('version + 1') });
  return n > 0;
}

/** Raw SQL fragments for the timestamps a transition sets. */
export const sinceSubmit = (trx: Knex.Transaction) => trx.raw(`GREATEST(0, extract(epoch FROM now() - submit_date))::integer`);

export async function deleteTicket(trx: Knex.Transaction, id: number): Promise<void> {
  await trx('tickets').where({ id }).delete();
}

export async function addHistory(trx: Knex.Transaction, ticketId: number, actor: ActorRef, entries: HistoryInput[]): Promise<void> {
  if (!entries.length) return;
  await trx('ticket_history').insert(entries.map((e) => ({ ticket_id: ticketId, ...actor, field: null, from_value: null, to_value: null, is_internal: false, ...e })));
}

const commentSelect = (db: Knex | Knex.Transaction) =>
  db({ c: 'ticket_comments' })
    .leftJoin({ u: 'employees' }, 'u.id', 'c.user_id')
    .select('c.id', 'c.ticket_id', 'c.comment', 'c.is_internal', 'c.created_at')
    .select(db.raw(`CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('id', u.id, 'company_id', u.company_id, 'first_name', u.first_name, 'last_name', u.last_name) END AS author`));

export async function insertComment(trx: Knex.Transaction, values: { ticket_id: number; user_id: number | null; comment: string; is_internal: boolean }): Promise<CommentRow> {
  const [row] = await trx('ticket_comments').insert(values).returning('id');
  return (await commentSelect(trx).where('c.id', row.id).first()) as CommentRow;
}

export async function listAllComments(db: Knex | Knex.Transaction, ticketId: number, includeInternal: boolean): Promise<CommentRow[]> {
  const qb = commentSelect(db).where('c.ticket_id', ticketId).orderBy('c.id', 'asc').limit(500);
  if (!includeInternal) qb.where('c.is_internal', false);
  return (await qb) as CommentRow[];
}

export async function pageComments(db: Knex, ticketId: number, includeInternal: boolean, page: { limit?: number; cursor?: string }): Promise<Page<CommentRow>> {
  const qb = commentSelect(db).where('c.ticket_id', ticketId);
  if (!includeInternal) qb.where('c.is_internal', false);
  return paginate<CommentRow & Record<string, unknown>>(qb, { ...page, keys: [{ column: 'c.id', prop: 'id' }], direction: 'asc' }) as Promise<Page<CommentRow>>;
}

export async function pageHistory(db: Knex, ticketId: number, includeInternal: boolean, page: { limit?: number; cursor?: string }) {
  const qb = db({ h: 'ticket_history' })
    .leftJoin({ u: 'employees' }, 'u.id', 'h.actor_id')
    .leftJoin({ k: 'api_keys' }, 'k.id', 'h.actor_api_key_id')
    .where('h.ticket_id', ticketId)
    .select('h.id', 'h.ticket_id', 'h.event', 'h.field', 'h.from_value', 'h.to_value', 'h.is_internal', 'h.created_at')
    .select(
      db.raw(`json_build_object('kind', h.actor_kind, 'id', COALESCE(h.actor_id, h.actor_api_key_id),
        'name', CASE WHEN u.id IS NOT NULL THEN u.first_name || ' ' || u.last_name WHEN h.actor_kind = 'workflow' THEN 'workflow system' ELSE k.name END) AS actor`),
    );
  if (!includeInternal) qb.where('h.is_internal', false);
  return paginate(qb, { ...page, keys: [{ column: 'h.id', prop: 'id' }], direction: 'asc' });
}

export async function listAttachments(db: Knex | Knex.Transaction, ticketId: number): Promise<AttachmentRow[]> {
  return (await db('ticket_attachments').where({ ticket_id: ticketId }).orderBy('id').select('id', 'file_name', 'file_type', 'file_size', 'upload_date', 'uploaded_by')) as AttachmentRow[];
}

export async function employeeExists(db: Knex | Knex.Transaction, id: number): Promise<boolean> {
  return Boolean(await db('employees').where({ id }).first('id'));
}

/**
 * The report: counts by status (the count rollup: exact, now) and response/resolution percentiles by
 * department and priority (computed now on a small helpdesk, from a snapshot refreshed every five
 * minutes on a large one: `times_as_of` says when; src/features/reports/ticket-times.ts).
 */
export async function ticketReport(db: Knex, opts: { liveMax: number }) {
  // from the count rollup, not a scan of every ticket (src/features/reports/ticket-counts.ts)
  const counts = await ticketCountsByStatus(db);
  const by_status = Object.fromEntries(TICKET_STATUSES.map((s) => [s, 0])) as Record<TicketStatus, number>;
  for (const [status, n] of counts) by_status[status as TicketStatus] = n;
  const t = await ticketTimes(db, counts, opts.liveMax);
  return { by_status, times: t.times, times_as_of: t.as_of };
}

/** Workflow callbacks: claim an event key in the transaction (blocks on a concurrent duplicate). */
/**
 * Claim an inbound event id. A repeat gets the first result only when it is the same request
 * (`requestHash`, a sha256 of the body); the same id with a different body is `mismatch`.
 */
export async function claimCallbackEvent(trx: Knex.Transaction, eventKey: string, ticketId: number, requestHash: string): Promise<{ claimed: true } | { claimed: false; result: unknown } | { claimed: false; mismatch: true }> {
  const ins = await trx.raw(`INSERT INTO workflow_callbacks (event_key, ticket_id, request_hash) VALUES (?, ?, ?) ON CONFLICT (event_key) DO NOTHING RETURNING event_key`, [eventKey, ticketId, requestHash]);
  if (ins.rows.length) return { claimed: true };
  const row = await trx('workflow_callbacks').where({ event_key: eventKey }).first('result', 'request_hash', 'ticket_id');
  // rows from before request hashes were kept: at least the ticket must be the same
  const same = row && (row.request_hash ? row.request_hash === requestHash : Number(row.ticket_id) === ticketId);
  if (!same) return { claimed: false, mismatch: true };
  return { claimed: false, result: row?.result };
}

export async function storeCallbackResult(trx: Knex.Transaction, eventKey: string, result: unknown): Promise<void> {
  await trx('workflow_callbacks').where({ event_key: eventKey }).update({ result: JSON.stringify(result) });
}
