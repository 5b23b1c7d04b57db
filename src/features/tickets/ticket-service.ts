/**
 * Ticket business rules: who may see and change what, the transitions (through ticket-states.ts),
 * and what each change causes — history, the owner's email, workflow pushes — all in one transaction.
 */
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { isAdmin, isStaff, type Principal } from '../../http/auth.js';
import { AppError, conflict, forbidden, notFound, preconditionFailed, unprocessable } from '../../http/errors.js';
import type { BeforeCommit } from '../../http/idempotency.js';
import { JsonText } from '../../http/json-text.js';
import { sha256 } from '../../lib/crypto.js';
import { parseIdRef, type IdRef } from '../../lib/ids.js';
import { deleteTicketFiles, presentAttachment, storeTicketAttachments, type UploadedFile } from '../files/attachments-service.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import { SlaEngine, type SlaTicket } from '../sla/sla-engine.js';
import { wantsEmail } from '../notifications/preferences.js';
import { presentDelivery, queueWorkflowDelivery } from '../workflow/workflow-outbox.js';
import { actorOf, recordEvent, type EventInput, type EventType } from '../events/events.js';
import { CONTENT_FIELDS, STAFF_FIELDS, ifMatchOk, presentTicket, type ActorRef, type HistoryInput, type TicketRow } from './ticket-model.js';
import * as store from './ticket-store.js';
import { planTransition, type Actor, type TicketAction, type TicketStatus } from './ticket-states.js';

/** A single ticket as a write answers it: the row (for the ETag) and the body. */
export interface Single {
  row: TicketRow;
  body: unknown;
}

export function ticketRef(raw: string): IdRef {
  const ref = parseIdRef(raw, 'TX');
  if (!ref) throw notFound('ticket');
  return ref;
}

export const canSee = (p: Principal, t: TicketRow): boolean => isStaff(p) || (p.employeeId !== null && t.owner_id === p.employeeId);

/** A ticket event: object = the ticket, data.object = the ticket as the API shows it (plus `extra`). */
export function ticketEvent(trx: Knex | Knex.Transaction, type: EventType, row: TicketRow, actor: EventInput['actor'], extra: Record<string, unknown> = {}, opts: { staff_only?: boolean } = {}): Promise<string> {
  return recordEvent(trx, { type, actor, object: { type: 'ticket', id: row.ticket_number }, ticket_id: row.id, staff_only: opts.staff_only, data: { object: presentTicket(row, false), ...extra } });
}

/** The event actor of a history actor (the workflow system calls through its API key). */
function eventActor(a: ActorRef): EventInput['actor'] {
  if (a.actor_kind === 'user') return { kind: 'employee', id: a.actor_id, display: null };
  if (a.actor_kind === 'api_key' || a.actor_kind === 'workflow') return { kind: 'api_key', id: a.actor_api_key_id, display: a.actor_kind === 'workflow' ? 'workflow system' : null };
  return { kind: 'system', id: null, display: null };
}

/** A comment event (`comment.created`); internal notes are staff-only. */
export function commentEvent(trx: Knex | Knex.Transaction, row: TicketRow, c: { id: number; is_internal: boolean } & Record<string, unknown>, actor: EventInput['actor']): Promise<string> {
  return recordEvent(trx, {
    type: 'comment.created',
    actor,
    object: { type: 'comment', id: String(c.id) },
    ticket_id: row.id,
    staff_only: c.is_internal,
    data: { object: c, ticket_number: row.ticket_number },
  });
}

export function actorRef(p: Principal): ActorRef {
  return p.kind === 'user' ? { actor_kind: 'user', actor_id: p.employeeId, actor_api_key_id: null } : { actor_kind: 'api_key', actor_id: null, actor_api_key_id: p.id };
}

function personActor(p: Principal, t: TicketRow): Actor {
  return { kind: 'person', staff: isStaff(p), admin: isAdmin(p), owner: p.employeeId !== null && t.owner_id === p.employeeId };
}

/** The fields the SLA engine reads, from a ticket row. */
const slaTicket = (r: TicketRow): SlaTicket => ({ id: r.id, ticket_number: r.ticket_number, subject: r.subject, priority: r.priority, category: r.category, department: r.department, status: r.status, assigned_to: r.assignee_id, submit_date: r.submit_date });
const SLA_FIELDS = ['priority', 'category', 'department'];

export class TicketService {
  private readonly sla: SlaEngine;

  constructor(private readonly app: AppContext) {
    this.sla = new SlaEngine(app);
  }

  private get db(): Knex {
    return this.app.db;
  }

  /** A ticket the caller may see (404 otherwise), optionally locked in `trx`. */
  async visible(db: Knex | Knex.Transaction, p: Principal, raw: string, lock = false): Promise<TicketRow> {
    const row = await store.findTicket(db, ticketRef(raw), { lock });
    if (!row || !canSee(p, row)) throw notFound('ticket');
    return row;
  }

  async detail(p: Principal, row: TicketRow, db: Knex | Knex.Transaction = this.db) {
    const [attachments, comments] = await Promise.all([store.listAttachments(db, row.id), store.listAllComments(db, row.id, isStaff(p))]);
    return {
      ...presentTicket(row, isStaff(p)),
      attachments: attachments.map((a) => presentAttachment(this.app, { ...a, upload_date: a.upload_date.toISOString(), uploaded_by: a.uploaded_by === null ? null : Number(a.uploaded_by), file_size: Number(a.file_size) })),
      comments,
    };
  }

  async get(p: Principal, raw: string) {
    const row = await this.visible(this.db, p, raw);
    return { row, body: await this.detail(p, row) };
  }

  async list(p: Principal, query: Record<string, any>, preset: store.TicketFilters = {}) { // eslint-disable-line @typescript-eslint/no-explicit-any
    const f: store.TicketFilters = { ...preset };
    if (!isStaff(p)) f.owner = p.employeeId ?? -1;
    if (query.status) f.status = query.status;
    for (const k of ['priority', 'department', 'category', 'submitted_after', 'submitted_before', 'q'] as const) if (query[k]) f[k] = query[k];
    if (query.assigned_to) {
      const a = String(query.assigned_to);
      f.assignee = a === 'me' ? { id: p.employeeId ?? -1 } : /^\d+$/.test(a) ? { id: Number(a) } : { company_id: a };
    }
    if (query.sla_state) {
      if (!isStaff(p)) throw forbidden('Only staff can filter by SLA state.', 'sla_staff_only');
      f.sla_state = query.sla_state;
    }
    if (query.order === 'sla_due' && !isStaff(p)) throw forbidden('Only staff can sort by SLA due time.', 'sla_staff_only');
    if (query.employee) {
      const e = String(query.employee);
      f.employee = /^\d+$/.test(e) ? { id: Number(e) } : { company_id: e };
    }
    const pageOpts = { limit: query.limit, cursor: query.cursor, order: query.order };
    if (!isStaff(p)) {
      // an employee's own tickets: PostgreSQL writes each ticket's JSON (the owner's view, no SLA block)
      const page = await store.listTickets(this.db, f, pageOpts, { sla: false, json: true });
      return new JsonText(`{"data":[${page.data.map((r) => r.json).join(',')}],"next_cursor":${JSON.stringify(page.next_cursor)}}`);
    }
    const page = await store.listTickets(this.db, f, pageOpts, { sla: true });
    return { data: page.data.map((r) => presentTicket(r, true)), next_cursor: page.next_cursor };
  }

  /**
   * `beforeCommit` (the Idempotency-Key's record, src/http/idempotency.ts) runs last inside the
   * transaction with the result returned — every write method here takes one.
   */
  async create(p: Principal, body: Record<string, any>, files: UploadedFile[], beforeCommit?: BeforeCommit<Single>) { // eslint-disable-line @typescript-eslint/no-explicit-any
    const staff = isStaff(p);
    if (!staff) {
      const extra = ['priority', 'department', 'employee_id'].filter((k) => body[k] !== undefined && !(k === 'employee_id' && body[k] === p.employeeId));
      if (extra.length) throw unprocessable('field_not_allowed', 'Employees cannot set these fields.', extra.map((field) => ({ field, message: 'is not allowed' })));
    }
    const ownerId: number | null = body.employee_id ?? p.employeeId;
    if (ownerId === null) throw unprocessable('employee_required', 'An API key must name the ticket\'s employee_id.', [{ field: 'employee_id', message: 'is required' }]);
    if (body.employee_id !== undefined && !(await store.employeeExists(this.db, ownerId))) {
      throw unprocessable('unknown_employee', 'No such employee.', [{ field: 'employee_id', message: 'does not exist' }]);
    }
    const values: Record<string, unknown> = { employee_id: ownerId };
    for (const k of [...CONTENT_FIELDS, ...STAFF_FIELDS]) if (body[k] !== undefined) values[k] = body[k];
    // the SLA policy it gets (read first: most tickets of a desk without policies need no transaction)
    const sla = await this.sla.planFor({ priority: (values.priority as string | undefined) ?? null, category: values.category as string, department: (values.department as string | undefined) ?? null });
    if (!files.length && !sla && !beforeCommit) {
      // the ticket and its history entry are one atomic statement; a new ticket has no comments or files yet
      // (with an Idempotency-Key it is a transaction: the key's record commits with the ticket)
      const row = await store.insertTicketWithHistory(this.db, values, actorRef(p), actorOf(p));
      return { row, body: { ...presentTicket(row, staff), attachments: [], comments: [] } };
    }
    return this.db.transaction(async (trx) => {
      const created = await store.insertTicketWithHistory(trx, values, actorRef(p), actorOf(p));
      const id = created.id;
      if (sla) await this.sla.attach(trx, slaTicket(created), sla, actorRef(p));
      const stored = await storeTicketAttachments(this.app, trx, id, files, p.employeeId, p.kind === 'api_key' ? { apiKeyId: p.id } : {}, actorOf(p));
      // the answer is built from the rows in hand: only an SLA attached changes the ticket as read back
      const row = sla ? (await store.findTicket(trx, { by: 'id', value: id }))! : created;
      const out: Single = { row, body: { ...presentTicket(row, staff), attachments: stored.map((a) => presentAttachment(this.app, a)), comments: [] } };
      await beforeCommit?.(trx, out);
      return out;
    });
  }

  async update(p: Principal, raw: string, body: Record<string, any>, ifMatch: string | undefined, replace: boolean) { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.db.transaction(async (trx) => {
      const row = await this.visible(trx, p, raw, true);
      if (!ifMatchOk(ifMatch, row)) throw preconditionFailed();
      const staff = isStaff(p);
      if (!staff) {
        const extra = STAFF_FIELDS.filter((k) => body[k] !== undefined);
        if (extra.length) throw unprocessable('field_not_allowed', 'Only staff can set these fields.', extra.map((field) => ({ field, message: 'is not allowed' })));
        if (row.status !== 'New') throw conflict('not_editable', 'You can edit your ticket only while it is New.', { current_status: row.status });
      }
      const fields = staff ? [...CONTENT_FIELDS, ...STAFF_FIELDS] : [...CONTENT_FIELDS];
      const changes: Record<string, unknown> = {};
      const history: HistoryInput[] = [];
      for (const k of fields) {
        let v = body[k];
        if (v === undefined && replace && (k === 'scheduled_date' || (staff && (k === 'priority' || k === 'department')))) v = null;
        if (v === undefined) continue;
        const before = (row as unknown as Record<string, unknown>)[k] ?? null;
        if (before === v) continue;
        changes[k] = v;
        history.push({ event: 'updated', field: k, from_value: before === null ? null : String(before), to_value: v === null ? null : String(v) });
      }
      if (history.length) {
        await store.updateTicket(trx, row.id, changes);
        await store.addHistory(trx, row.id, actorRef(p), history);
      }
      let fresh = (await store.findTicket(trx, { by: 'id', value: row.id }))!;
      if (SLA_FIELDS.some((k) => k in changes)) {
        await this.sla.reevaluate(trx, slaTicket(fresh), actorRef(p));
        fresh = (await store.findTicket(trx, { by: 'id', value: row.id }))!;
      }
      if (history.length) {
        const previous = Object.fromEntries(Object.keys(changes).map((k) => [k, (row as unknown as Record<string, unknown>)[k] ?? null]));
        await ticketEvent(trx, 'ticket.updated', fresh, actorOf(p), { previous });
      }
      return { row: fresh, body: await this.detail(p, fresh, trx) };
    });
  }

  async remove(p: Principal, raw: string, ifMatch: string | undefined): Promise<void> {
    await this.db.transaction(async (trx) => {
      const row = await this.visible(trx, p, raw, true);
      if (!ifMatchOk(ifMatch, row)) throw preconditionFailed();
      const owner = p.employeeId !== null && row.owner_id === p.employeeId;
      if (!isAdmin(p)) {
        if (!owner) throw forbidden('Only a System Admin can delete this ticket.', 'delete_forbidden');
        if (row.status !== 'New') throw conflict('not_deletable', 'You can delete your ticket only while it is New.', { current_status: row.status });
      }
      // the files go once the delete has committed (kept if it rolls back)
      await deleteTicketFiles(this.app, trx, row.id);
      await ticketEvent(trx, 'ticket.deleted', row, actorOf(p));
      await store.deleteTicket(trx, row.id);
    });
  }

  /** Carry out a planned move; history + owner email in `trx`. Returns the fresh row. */
  private async apply(
    trx: Knex.Transaction,
    row: TicketRow,
    actor: ActorRef,
    action: TicketAction,
    plan: Extract<ReturnType<typeof planTransition>, { ok: true }>,
    extra: { values?: Record<string, unknown>; comment?: string | null; assignee?: number | null; commentAuthor?: number | null },
  ): Promise<TicketRow> {
    const values: Record<string, unknown> = { status: plan.to, ...(extra.values ?? {}) };
    const sinceSubmit = store.sinceSubmit(trx);
    if (plan.effects.approved) Object.assign(values, { approved_at: trx.fn.now(), response_time: sinceSubmit });
    if (plan.effects.resolved) Object.assign(values, { resolved_at: trx.fn.now(), resolution_time: sinceSubmit });
    if (plan.effects.closed) values.time_closed = trx.fn.now();
    const where: Record<string, unknown> = { status: plan.from };
    if (plan.effects.assign) {
      values.assigned_to = extra.assignee;
      where.assigned_to = null;
    }
    // conditional update: the row is locked, but the WHERE keeps the move correct on its own
    const moved = await store.updateTicket(trx, row.id, values, where);
    if (!moved) throw conflict(action === 'claim' ? 'already_claimed' : 'invalid_transition', 'The ticket changed meanwhile; fetch it again.', { current_status: row.status, allowed: [] });
    const history: HistoryInput[] = [{ event: 'status_changed', field: 'status', from_value: plan.from, to_value: plan.to }];
    if (plan.effects.assign) history.push({ event: 'assigned', field: 'assigned_to', from_value: null, to_value: String(extra.assignee) });
    await store.addHistory(trx, row.id, actor, history);
    const comment = extra.comment?.trim() ? extra.comment.trim() : null;
    // SLA before the ticket is read back (its sla block): approval may set the priority/department
    // (another policy), then the status move itself, then a staff comment that came with it
    const v = values as { priority?: string | null; department?: string | null; assigned_to?: number | null };
    const moved4sla: SlaTicket = { ...slaTicket(row), status: plan.to, priority: v.priority ?? row.priority, department: v.department ?? row.department, assigned_to: v.assigned_to ?? row.assignee_id };
    if (SLA_FIELDS.some((k) => values[k] !== undefined && values[k] !== (row as unknown as Record<string, unknown>)[k])) await this.sla.reevaluate(trx, moved4sla, actor);
    await this.sla.onStatus(trx, moved4sla, plan.from, plan.to, actor);
    if (comment && (action === 'approve' || action === 'claim' || action === 'update_status' || action === 'workflow')) await this.sla.onComment(trx, moved4sla, { staff: true, owner: false, internal: false }, actor);
    const fresh = (await store.findTicket(trx, { by: 'id', value: row.id }))!;
    const who = eventActor(actor);
    await ticketEvent(trx, 'ticket.status_changed', fresh, who, { from: plan.from, to: plan.to, action });
    if (plan.effects.assign) await ticketEvent(trx, 'ticket.assigned', fresh, who, { assignee_id: extra.assignee ?? null });
    if (comment && action !== 'reject') {
      const c = await store.insertComment(trx, { ticket_id: row.id, user_id: extra.commentAuthor ?? null, comment, is_internal: false });
      await store.addHistory(trx, row.id, actor, [{ event: 'commented' }]);
      await commentEvent(trx, fresh, c as never, who);
    }
    if (await wantsEmail(trx, row.owner_id, 'ticket_updates')) await queueEmail(trx, this.app.jobs, {
      template: 'ticket_status_changed',
      to: row.employee.email,
      ticketId: row.id,
      data: { first_name: row.employee.first_name, ticket_number: row.ticket_number, subject: row.subject, from_status: plan.from, to_status: plan.to, comment },
    });
    return fresh;
  }

  private refuse(plan: Extract<ReturnType<typeof planTransition>, { ok: false }>, row: TicketRow, action: TicketAction): never {
    if (plan.reason === 'forbidden') throw new AppError(403, action === 'update_status' ? 'reopen_forbidden' : 'not_allowed', plan.detail, { current_status: row.status, allowed: plan.allowed });
    if (action === 'claim' && row.assignee_id !== null) throw conflict('already_claimed', 'Someone has already claimed this ticket.', { current_status: row.status, allowed: plan.allowed });
    throw conflict('invalid_transition', plan.detail, { current_status: row.status, allowed: plan.allowed });
  }

  /** approve / reject / claim / update_status / withdraw / close, from an endpoint. */
  async transition(p: Principal, raw: string, action: Exclude<TicketAction, 'finalize' | 'workflow'>, body: Record<string, any>, ifMatch: string | undefined, beforeCommit?: BeforeCommit<Single>) { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.db.transaction(async (trx) => {
      const row = await this.visible(trx, p, raw, true);
      if (!ifMatchOk(ifMatch, row)) throw preconditionFailed();
      const plan = planTransition({ from: row.status, action, actor: personActor(p, row), to: body?.status as TicketStatus | undefined, approved: row.approved_at !== null });
      if (!plan.ok) this.refuse(plan, row, action);
      const values: Record<string, unknown> = {};
      if (action === 'approve') Object.assign(values, { priority: body.priority, department: body.department });
      if (action === 'reject') values.rejection_reason = body.rejection_reason;
      const fresh = await this.apply(trx, row, actorRef(p), action, plan, {
        values,
        comment: action === 'reject' ? body.rejection_reason : body?.comment,
        assignee: p.employeeId,
        commentAuthor: p.employeeId,
      });
      if (plan.effects.push) await queueWorkflowDelivery(trx, this.app.jobs, row.id, 'approved');
      const out: Single = { row: fresh, body: await this.detail(p, fresh, trx) };
      await beforeCommit?.(trx, out);
      return out;
    });
  }

  async finalize(p: Principal, raw: string, ifMatch: string | undefined, beforeCommit?: BeforeCommit<ReturnType<typeof presentDelivery>>) {
    return this.db.transaction(async (trx) => {
      const row = await this.visible(trx, p, raw, true);
      if (!ifMatchOk(ifMatch, row)) throw preconditionFailed();
      const plan = planTransition({ from: row.status, action: 'finalize', actor: personActor(p, row), approved: row.approved_at !== null });
      if (!plan.ok) this.refuse(plan, row, 'finalize');
      const queued = await queueWorkflowDelivery(trx, this.app.jobs, row.id, 'finalized');
      await store.addHistory(trx, row.id, actorRef(p), [{ event: 'updated', field: 'workflow_delivery', to_value: queued.event_id, is_internal: true }]);
      const out = presentDelivery({ ...queued, ticket_number: row.ticket_number });
      await beforeCommit?.(trx, out);
      return out;
    });
  }

  /** Inbound status from the workflow system: same state machine, never pushes back out. */
  async workflowStatus(apiKeyId: number, body: { ticket_id?: number | string; ticket_number?: string; status: TicketStatus; comment?: string; event_id?: string }, eventKey: string | undefined, beforeCommit?: BeforeCommit<{ replayed: boolean; result: unknown }>) {
    const rawRef = body.ticket_number ?? String(body.ticket_id);
    const ref = parseIdRef(rawRef, 'TX');
    if (!ref) throw notFound('ticket');
    return this.db.transaction(async (trx) => {
      // locked first: a repeat of this event waits here for the first one, then finds its result
      const row = await store.findTicket(trx, ref, { lock: true });
      if (!row) throw notFound('ticket');
      if (eventKey) {
        const c = await store.claimCallbackEvent(trx, eventKey, row.id, sha256(JSON.stringify(body)));
        if ('mismatch' in c) throw unprocessable('idempotency_key_reused', 'This webhook-id (or event_id) was already used for a different request; send a new id for a new event.');
        if (!c.claimed && c.result) {
          const again = { replayed: true, result: c.result as unknown };
          await beforeCommit?.(trx, again);
          return again;
        }
      }
      const plan = planTransition({ from: row.status, action: 'workflow', actor: { kind: 'workflow', staff: true, admin: false, owner: false }, to: body.status, approved: row.approved_at !== null });
      if (!plan.ok) this.refuse(plan, row, 'workflow');
      const fresh = await this.apply(trx, row, { actor_kind: 'workflow', actor_id: null, actor_api_key_id: apiKeyId }, 'workflow', plan, { comment: body.comment, commentAuthor: null });
      const result = { ticket_id: fresh.id, ticket_number: fresh.ticket_number, from_status: plan.from, status: fresh.status, event_id: eventKey ?? null, applied_at: fresh.update_date.toISOString() };
      if (eventKey) await store.storeCallbackResult(trx, eventKey, result);
      const out = { replayed: false, result: result as unknown };
      await beforeCommit?.(trx, out);
      return out;
    });
  }

  async comments(p: Principal, raw: string, page: { limit?: number; cursor?: string }) {
    const row = await this.visible(this.db, p, raw);
    return store.pageComments(this.db, row.id, isStaff(p), page);
  }

  async comment(p: Principal, raw: string, body: { comment: string; is_internal?: boolean }, beforeCommit?: BeforeCommit<unknown>) {
    const internal = Boolean(body.is_internal);
    if (internal && !isStaff(p)) throw forbidden('Only staff can write internal comments.', 'internal_comment_forbidden');
    return this.db.transaction(async (trx) => {
      const row = await this.visible(trx, p, raw);
      const c = await store.insertComment(trx, { ticket_id: row.id, user_id: p.employeeId, comment: body.comment, is_internal: internal });
      await store.addHistory(trx, row.id, actorRef(p), [{ event: 'commented', is_internal: internal }]);
      await store.updateTicket(trx, row.id, {});
      await this.sla.onComment(trx, slaTicket(row), { staff: isStaff(p), owner: p.employeeId !== null && p.employeeId === row.owner_id, internal }, actorRef(p));
      await commentEvent(trx, row, c as never, actorOf(p));
      if (!internal && p.employeeId !== row.owner_id && (await wantsEmail(trx, row.owner_id, 'ticket_comments'))) {
        await queueEmail(trx, this.app.jobs, {
          template: 'ticket_commented',
          to: row.employee.email,
          ticketId: row.id,
          data: { first_name: row.employee.first_name, ticket_number: row.ticket_number, subject: row.subject, commenter_name: c.author ? `${c.author.first_name} ${c.author.last_name}` : 'SmartSupport', comment: body.comment },
        });
      }
      await beforeCommit?.(trx, c);
      return c;
    });
  }

  async history(p: Principal, raw: string, page: { limit?: number; cursor?: string }) {
    const row = await this.visible(this.db, p, raw);
    return store.pageHistory(this.db, row.id, isStaff(p), page);
  }

  report() {
    return store.ticketReport(this.db, { liveMax: this.app.config.ticketReportLiveMax });
  }
}
