/**
 * The account lifecycle an admin needs after approval (issue 13):
 *
 * - deactivate (Approved → Deactivated): signs the person out everywhere at once (through the one
 *   session-revocation function), voids outstanding password links, and from then on they cannot
 *   sign in, reset a password or be emailed (the email worker checks at send time). Tickets stay.
 * - reactivate (Deactivated → Approved).
 * - erase (any status → Erased, irreversible, confirmed by repeating the company id): the person is
 *   anonymised everywhere — name "Former employee", an undeliverable placeholder email, no image
 *   (removed from the file store), no password, no chat conversations; their rejection record, the
 *   notification log and stored idempotent replays lose their personal data. Tickets, comments and
 *   history stay consistent: they point at the same row, which now reads "Former employee".
 * - export: one person's data as JSON (profile, tickets, comments, attachments list, audit).
 *
 * The last active System Admin can never be deactivated or erased (nor demoted: employee-service).
 * Each change writes an `employee_audit` row, its email and its event in the same transaction.
 */
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import type { Principal } from '../../http/auth.js';
import { conflict, notFound, unprocessable } from '../../http/errors.js';
import type { BeforeCommit } from '../../http/idempotency.js';
import { revokeEmployeeSessions } from '../auth/auth-store.js';
import { DEFAULT_PROFILE_IMAGE_KEY } from '../files/profile-images.js';
import { fileStore } from '../files/storage.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import { actorOf } from '../events/events.js';
import { employeeEvent, employeeRef } from './employee-service.js';
import * as store from './employee-store.js';
import type { EmployeeRecord } from './employee-store.js';

export const ERASED_FIRST_NAME = 'Former';
export const ERASED_LAST_NAME = 'employee';
/** `.invalid` is reserved (RFC 2606): mail to it can never be delivered. */
export const erasedEmail = (id: number): string => `erased-${id}@erased.invalid`;

type Action = 'deactivated' | 'reactivated' | 'erased';

/** Transaction-scoped advisory lock key serialising every change that can remove an active admin. */
const LAST_ADMIN_LOCK = 0x5353_4c41; // 'SSLA'

/**
 * Refuse when `e` is an active System Admin and the only one. Changes that could remove an active
 * admin (demotion, deactivation, erasure) take one advisory lock first and count afterwards (READ
 * COMMITTED: the count sees what the previous holder committed), so two admins removing each other
 * at once cannot both succeed — and, unlike locking every admin row, this cannot deadlock with the
 * row lock each of them already holds on its target.
 */
export async function assertNotLastAdmin(trx: Knex.Transaction, e: EmployeeRecord, what: string): Promise<void> {
  if (e.role !== 'System Admin' || e.status !== 'Approved') return;
  await trx.raw('SELECT pg_advisory_xact_lock(?)', [LAST_ADMIN_LOCK]);
  if ((await store.countActiveAdmins(trx)) <= 1) throw conflict('last_admin', `This is the only active System Admin and cannot be ${what}; promote someone else first.`);
}

async function audit(trx: Knex.Transaction, actor: Principal, e: EmployeeRecord, action: Action, reason: string | null): Promise<void> {
  await trx('employee_audit').insert({ employee_id: e.id, company_id: e.company_id, action, actor_kind: actor.kind === 'api_key' ? 'api_key' : 'user', actor_id: actor.id, reason });
}

/** `employee.deactivated` / `employee.reactivated` / `employee.erased`, in the caller's transaction. */
async function emitLifecycleEvent(trx: Knex.Transaction, actor: Principal, e: EmployeeRecord, action: Action, extra: Record<string, unknown>): Promise<void> {
  await employeeEvent(trx, `employee.${action}`, e, actorOf(actor), extra);
}

/**
 * The event log keeps snapshots: the events about this person (their account, their tickets) and
 * the ones they acted in lose the name, email and image they carried. Index-backed: by subject or
 * audience (events_audience_idx) and by object (events_object_idx).
 */
async function scrubEvents(trx: Knex.Transaction, e: EmployeeRecord, placeholder: string): Promise<void> {
  const names = [e.email, `${e.first_name} ${e.last_name}`, e.first_name, e.last_name, e.middle_name].filter((s): s is string => !!s && s.length >= 2);
  // longest first, so "Grace Hopper" goes before "Grace"; JSON-escaped as the values sit in the text
  const pairs = names.sort((a, b) => b.length - a.length).map((s) => [JSON.stringify(s).slice(1, -1), s === e.email ? placeholder : s === e.first_name ? ERASED_FIRST_NAME : s === e.last_name ? ERASED_LAST_NAME : `${ERASED_FIRST_NAME} ${ERASED_LAST_NAME}`]);
  let expr = 'data::text';
  const bindings: string[] = [];
  for (const [from, to] of pairs) {
    expr = `replace(${expr}, ?, ?)`;
    bindings.push(from!, to!);
  }
  await trx.raw(
    `UPDATE events SET data = (${expr})::jsonb, actor_display = CASE WHEN actor_kind = 'employee' AND actor_id = ? THEN NULL ELSE actor_display END
      WHERE audience_employee_id = ? OR subject_employee_id = ? OR (object_type = 'employee' AND object_id = ?) OR (actor_kind = 'employee' AND actor_id = ?)`,
    [...bindings, e.id, e.id, e.id, e.company_id, e.id],
  );
}

async function locked(trx: Knex.Transaction, rawId: string): Promise<EmployeeRecord> {
  const e = await store.findEmployee(trx, employeeRef(rawId), { forUpdate: true });
  if (!e) throw notFound('employee');
  return e;
}

const wrongState = (e: EmployeeRecord, verb: string, from: string) =>
  conflict('invalid_transition', `Only ${from} accounts can be ${verb}; this one is ${e.status}.`, { current_status: e.status });

export async function deactivate(app: AppContext, actor: Principal, rawId: string, reason: string | null, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  return app.db.transaction(async (trx) => {
    const e = await locked(trx, rawId);
    if (e.status !== 'Approved') throw wrongState(e, 'deactivated', 'Approved');
    await assertNotLastAdmin(trx, e, 'deactivated');
    const updated = (await store.updateEmployee(trx, e.id, { status: 'Deactivated', deactivated_at: trx.fn.now() }))!;
    // signed out everywhere at once: the one revocation path (access tokens die with their session)
    await revokeEmployeeSessions(trx, e.id, 'deactivated');
    await trx('password_reset_tokens').where({ employee_id: e.id }).whereNull('used_at').update({ used_at: trx.fn.now() });
    await audit(trx, actor, e, 'deactivated', reason);
    await queueEmail(trx, app.jobs, { template: 'account_deactivated', to: e.email, data: { first_name: e.first_name, last_name: e.last_name, company_id: e.company_id, reason } });
    await emitLifecycleEvent(trx, actor, updated, 'deactivated', { reason });
    await beforeCommit?.(trx, updated); // the Idempotency-Key's answer commits with the change
    return updated;
  });
}

export async function reactivate(app: AppContext, actor: Principal, rawId: string, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  return app.db.transaction(async (trx) => {
    const e = await locked(trx, rawId);
    if (e.status !== 'Deactivated') throw wrongState(e, 'reactivated', 'Deactivated');
    const updated = (await store.updateEmployee(trx, e.id, { status: 'Approved', deactivated_at: null }))!;
    await audit(trx, actor, e, 'reactivated', null);
    await queueEmail(trx, app.jobs, { template: 'account_reactivated', to: e.email, data: { first_name: e.first_name, last_name: e.last_name, company_id: e.company_id, login_url: `${app.config.publicUrl}/login` } });
    await emitLifecycleEvent(trx, actor, updated, 'reactivated', {});
    await beforeCommit?.(trx, updated); // the Idempotency-Key's answer commits with the change
    return updated;
  });
}

export async function erase(app: AppContext, actor: Principal, rawId: string, confirm: string, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  let oldImage: string | null = null;
  const erased = await app.db.transaction(async (trx) => {
    const e = await locked(trx, rawId);
    if (e.status === 'Erased') throw conflict('already_erased', 'This account has already been erased.', { current_status: e.status });
    if (confirm.trim().toUpperCase() !== e.company_id.toUpperCase()) {
      throw unprocessable('confirmation_mismatch', `Erasure is irreversible: send "confirm": "${e.company_id}" (the account's company id) to confirm.`, [{ field: 'confirm', message: 'must repeat the company id' }]);
    }
    await assertNotLastAdmin(trx, e, 'erased');
    oldImage = e.image;
    const placeholder = erasedEmail(e.id);
    const updated = (await store.updateEmployee(trx, e.id, {
      first_name: ERASED_FIRST_NAME,
      last_name: ERASED_LAST_NAME,
      middle_name: null,
      suffix: null,
      email: placeholder,
      image: null,
      password_hash: null,
      status: 'Erased',
      erased_at: trx.fn.now(),
      last_login_at: null,
    }))!;
    await revokeEmployeeSessions(trx, e.id, 'erased');
    await trx('password_reset_tokens').where({ employee_id: e.id }).delete();
    // copies of the person's data elsewhere
    await trx('employee_rejections').where({ employee_id: e.id }).update({ first_name: ERASED_FIRST_NAME, last_name: ERASED_LAST_NAME, middle_name: null, suffix: null, email: placeholder });
    await trx('employee_rejections').where({ rejected_by: e.id }).update({ rejected_by_name: `${ERASED_FIRST_NAME} ${ERASED_LAST_NAME}` });
    await trx('notifications').whereRaw('lower(recipient) = lower(?)', [e.email]).update({
      recipient: placeholder,
      data: JSON.stringify({ erased: true }),
      status: trx.raw(`CASE WHEN status = 'queued' THEN 'failed' ELSE status END`),
      last_error: trx.raw(`CASE WHEN status = 'queued' THEN 'not sent: the recipient was erased' ELSE last_error END`),
    });
    await trx('chat_conversations').where({ employee_id: e.id }).delete();
    // stored replays (24 h) of responses that showed this person
    // (not a claim still running — this very request's, if an admin erases their own account)
    await trx('idempotency_keys')
      .where((q) => q.where({ caller: `user:${e.id}` }).orWhereRaw('response_body::text ILIKE ?', [`%${e.email.replace(/[\\%_]/g, (c) => '\\' + c)}%`]))
      .andWhere({ state: 'done' })
      .delete();
    await audit(trx, actor, e, 'erased', null);
    if (await trx.schema.hasTable('events')) await scrubEvents(trx, e, placeholder);
    await emitLifecycleEvent(trx, actor, updated, 'erased', {});
    await beforeCommit?.(trx, updated); // the Idempotency-Key's answer commits with the change
    return updated;
  });
  // the image goes through the storage API once the erasure has committed
  if (oldImage && oldImage !== DEFAULT_PROFILE_IMAGE_KEY) {
    await fileStore(app).delete(oldImage).catch((err: Error) => app.log.warn({ err: err.message, employee_id: erased.id }, 'could not remove an erased person\'s image; remove it by hand'));
  }
  return erased;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v ?? null);

/** One person's data (GDPR art. 15/20), as plain JSON. */
export async function exportEmployee(app: AppContext, rawId: string, present: (e: EmployeeRecord) => Record<string, unknown>): Promise<Record<string, unknown>> {
  const db = app.db;
  const e = await store.findEmployee(db, employeeRef(rawId));
  if (!e) throw notFound('employee');
  const [tickets, comments, attachments, auditRows] = await Promise.all([
    db('tickets')
      .where({ employee_id: e.id })
      .orderBy('id')
      .select('id', 'ticket_number', 'subject', 'category', 'sub_category', 'description', 'priority', 'department', 'status', 'submit_date', 'update_date', 'resolved_at', 'time_closed', 'rejection_reason'),
    // what they wrote anywhere, and what others wrote publicly on their tickets
    db({ c: 'ticket_comments' })
      .join({ t: 'tickets' }, 't.id', 'c.ticket_id')
      .where('c.user_id', e.id)
      .orWhere((w) => w.where('t.employee_id', e.id).where('c.is_internal', false))
      .orderBy('c.id')
      .select('c.id', 't.ticket_number', 'c.comment', 'c.is_internal', 'c.created_at', db.raw('(c.user_id IS NOT DISTINCT FROM ?) AS written_by_subject', [e.id])),
    db({ a: 'ticket_attachments' })
      .join({ t: 'tickets' }, 't.id', 'a.ticket_id')
      .where('t.employee_id', e.id)
      .orWhere('a.uploaded_by', e.id)
      .orderBy('a.id')
      .select('a.id', 't.ticket_number', 'a.file_name', 'a.file_type', 'a.file_size', 'a.upload_date', db.raw('(a.uploaded_by IS NOT DISTINCT FROM ?) AS uploaded_by_subject', [e.id])),
    db('employee_audit').where({ employee_id: e.id }).orderBy('id').select('action', 'actor_kind', 'reason', 'created_at'),
  ]);
  const rows = <T extends Record<string, unknown>>(list: T[]) => list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'id' || k === 'file_size' ? Number(v) : iso(v)])));
  return {
    format: 'smartsupport.employee-export.v1',
    generated_at: new Date().toISOString(),
    profile: present(e),
    tickets: rows(tickets),
    comments: rows(comments),
    attachments: rows(attachments),
    account_history: rows(auditRows),
  };
}
