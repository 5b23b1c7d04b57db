/**
 * Account rules: self-registration (Pending), admin creation (Approved at once), approval and
 * rejection (with the audit row and the email in the same transaction), profile edits.
 */
import type { Knex } from 'knex';
import { actorOf, recordEvent, SYSTEM_ACTOR, type EventInput, type EventType } from '../events/events.js';
import type { AppContext } from '../../app/context.js';
import type { Principal } from '../../http/auth.js';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { pgQueryClient } from '../../db/knex.js';
import { conflict, notFound, tooManyRequests, unprocessable, type FieldError } from '../../http/errors.js';
import type { BeforeCommit } from '../../http/idempotency.js';
import { parseIdRef } from '../../lib/ids.js';
import { profileImageUrl } from '../files/media-access.js';
import type { UploadedFile } from '../files/attachments-service.js';
import { processProfileImage } from '../files/profile-images.js';
import { fileStore } from '../files/storage.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import { hashPassword, passwordProblems } from '../auth/passwords.js';
import { createResetToken, resetPasswordUrl, revokeEmployeeSessions, SETUP_TOKEN_TTL_SECONDS } from '../auth/auth-store.js';
import * as store from './employee-store.js';
import { assertNotLastAdmin } from './lifecycle.js';
import type { EmployeeRecord } from './employee-store.js';

/** The API shape of an employee, `image_url` signed for this app (what every response shows). */
export const employeePresenter = (app: AppContext) => (e: EmployeeRecord): Record<string, unknown> => store.present(e, (image) => profileImageUrl(app, image));




export function employeeRef(raw: string) {
  const ref = parseIdRef(raw, 'MA');
  if (!ref) throw notFound('employee');
  return ref;
}

function loginUrl(app: AppContext) {
  return `${app.config.publicUrl}/login`;
}

const trimOrNull = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** What every new account is given, whoever creates it. */
interface NewEmployeeNames {
  first_name: string;
  last_name: string;
  middle_name?: string | null;
  suffix?: string | null;
  department: string;
  email: string;
}

/** Counts one registration for a client address; throws 429 when over REGISTRATION_LIMIT_PER_HOUR. */
export type RegistrationLimit = (ip: string) => Promise<void>;

export function registrationLimit(app: AppContext): RegistrationLimit | undefined {
  const points = app.config.registrationLimitPerHour;
  if (points <= 0) return undefined;
  // node-pg style, so the limiter's named statement becomes unnamed behind PgBouncer (DATABASE_PREPARED_STATEMENTS)
  const limiter = new RateLimiterPostgres({ storeClient: pgQueryClient(app.db), storeType: 'pool', tableName: 'rate_limits', tableCreated: true, keyPrefix: 'register_addr', points, duration: 3600, clearExpiredByTimeout: false });
  return async (ip) => {
    try {
      await limiter.consume(ip, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw tooManyRequests(err.msBeforeNext / 1000, `Too many registrations from your address; at most ${points} an hour.`);
      throw err;
    }
  };
}

export interface RegistrationInput extends NewEmployeeNames {
  password: string;
  confirm_password: string;
  [k: string]: unknown;
}

/**
 * `image`: the body parser's temporary file (removed with the request's temp dir; the image store
 * keeps its own copy). Cheap checks come first — fields, password rules, email taken, the
 * per-address registration limit — and only then the expensive work (image decoding in the bounded
 * image pool, password hashing), so an anonymous caller cannot make us do that work for nothing.
 */
export async function register(app: AppContext, input: RegistrationInput, image: UploadedFile | undefined, limit?: RegistrationLimit, ip = '', beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  const errors: FieldError[] = passwordProblems(input.password, 'password', [input.email, input.email.split('@')[0], input.first_name, input.last_name]);
  if (input.password !== input.confirm_password) errors.push({ field: 'confirm_password', message: 'does not match password' });
  if (errors.length) throw unprocessable('invalid_password', 'The password does not meet the rules.', errors);
  if (await store.emailTaken(app.db, input.email.trim())) throw conflict('email_taken', 'An account with this email already exists.');
  await limit?.(ip);
  // decode, resize and store the image (413/415 before anything is written); drop it if the account is not created
  const imageKey = image ? await processProfileImage(app, image) : null;
  let passwordHash: string;
  try {
    passwordHash = await hashPassword(input.password);
  } catch (err) {
    if (imageKey) await fileStore(app).delete(imageKey).catch(() => undefined);
    throw err;
  }
  try {
    return await createPending(app, input, passwordHash, imageKey, beforeCommit);
  } catch (err) {
    if (imageKey) await fileStore(app).delete(imageKey).catch(() => undefined);
    throw err;
  }
}

/** The employee as an event carries it: the account fields, never the image key or secrets. */
export function employeeSnapshot(e: EmployeeRecord): Record<string, unknown> {
  const iso = (v: Date | null) => (v ? new Date(v).toISOString() : null);
  return {
    id: e.id, company_id: e.company_id, first_name: e.first_name, last_name: e.last_name, middle_name: e.middle_name, suffix: e.suffix,
    department: e.department, email: e.email, role: e.role, status: e.status, date_created: iso(e.date_created), updated_at: iso(e.updated_at),
  };
}

/** An employee event: the person it is about may see it (their own account). */
export function employeeEvent(trx: Knex | Knex.Transaction, type: EventType, e: EmployeeRecord, actor: EventInput['actor'], extra: Record<string, unknown> = {}): Promise<string> {
  return recordEvent(trx, { type, actor, object: { type: 'employee', id: e.company_id }, subject_employee_id: e.id, data: { object: employeeSnapshot(e), ...extra } });
}

async function createPending(app: AppContext, input: RegistrationInput, passwordHash: string, imageKey: string | null, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  return app.db.transaction(async (trx) => {
    const e = await insertNewEmployee(trx, input, {
      password_hash: passwordHash,
      password_changed_at: trx.fn.now(),
      role: 'Employee',
      status: 'Pending',
      image: imageKey,
    });
    await queueEmail(trx, app.jobs, { template: 'account_pending', to: e.email, data: { first_name: e.first_name, last_name: e.last_name, company_id: e.company_id } });
    await employeeEvent(trx, 'employee.registered', e, { kind: 'employee', id: e.id, display: null });
    await beforeCommit?.(trx, e); // the Idempotency-Key's answer commits with the account
    return e;
  });
}

/**
 * Insert an account (both registration and admin creation): names trimmed, and a duplicate email —
 * found up front or lost in a race to the unique index — is 409 `email_taken`, never a 500.
 */
async function insertNewEmployee(trx: store.Db, input: NewEmployeeNames, fields: Record<string, unknown>): Promise<EmployeeRecord> {
  if (await store.emailTaken(trx, input.email)) throw conflict('email_taken', 'An account with this email already exists.');
  try {
    return await store.insertEmployee(trx, {
      first_name: input.first_name.trim(),
      last_name: input.last_name.trim(),
      middle_name: trimOrNull(input.middle_name),
      suffix: trimOrNull(input.suffix),
      department: input.department,
      email: input.email.trim(),
      ...fields,
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('email_taken', 'An account with this email already exists.');
    throw err;
  }
}

export interface AdminCreateInput extends NewEmployeeNames {
  role: string;
  password?: string;
}

export async function adminCreate(app: AppContext, input: AdminCreateInput, actor: EventInput['actor'] = SYSTEM_ACTOR, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  if (input.password !== undefined) {
    const errors = passwordProblems(input.password, 'password', [input.email, input.first_name, input.last_name]);
    if (errors.length) throw unprocessable('invalid_password', 'The password does not meet the rules.', errors);
  }
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  return app.db.transaction(async (trx) => {
    const e = await insertNewEmployee(trx, input, {
      password_hash: passwordHash,
      password_changed_at: passwordHash ? trx.fn.now() : null,
      role: input.role,
      status: 'Approved',
      notified: true,
    });
    let url: string | null = null;
    if (!passwordHash) {
      const token = await createResetToken(trx, e.id, 'setup', SETUP_TOKEN_TTL_SECONDS);
      url = resetPasswordUrl(app.config.publicUrl, token);
    }
    await queueEmail(trx, app.jobs, { template: 'account_created', to: e.email, data: { first_name: e.first_name, last_name: e.last_name, company_id: e.company_id, role: e.role, set_password_url: url } });
    await employeeEvent(trx, 'employee.created', e, actor);
    await beforeCommit?.(trx, e);
    return e;
  });
}

export async function getEmployee(app: AppContext, rawId: string): Promise<EmployeeRecord> {
  const e = await store.findEmployee(app.db, employeeRef(rawId));
  if (!e) throw notFound('employee');
  return e;
}

export async function patchEmployee(app: AppContext, rawId: string, patch: Record<string, unknown>, actor: EventInput['actor'] = SYSTEM_ACTOR): Promise<EmployeeRecord> {
  return app.db.transaction(async (trx) => {
    const e = await store.findEmployee(trx, employeeRef(rawId), { forUpdate: true });
    if (!e) throw notFound('employee');
    if (e.status === 'Erased') throw conflict('already_erased', 'This account has been erased and cannot be changed.', { current_status: e.status });
    const changes: Record<string, unknown> = {};
    for (const k of ['first_name', 'last_name', 'department', 'role'] as const) if (patch[k] !== undefined) changes[k] = typeof patch[k] === 'string' ? (patch[k] as string).trim() : patch[k];
    for (const k of ['middle_name', 'suffix'] as const) if (patch[k] !== undefined) changes[k] = trimOrNull(patch[k]);
    // keep at least one admin who can sign in (serialised with deactivation and erasure)
    if (changes.role !== undefined && changes.role !== e.role) await assertNotLastAdmin(trx as Knex.Transaction, e, 'demoted');
    if (Object.keys(changes).length === 0) return e;
    // access tokens carry the role: a role change signs the person out everywhere
    if (changes.role !== undefined && changes.role !== e.role) await revokeEmployeeSessions(trx, e.id, 'role_changed');
    const updated = (await store.updateEmployee(trx, e.id, changes))!;
    const previous = Object.fromEntries(Object.keys(changes).map((k) => [k, (e as unknown as Record<string, unknown>)[k] ?? null]));
    await employeeEvent(trx, 'employee.updated', updated, actor, { previous });
    return updated;
  });
}

async function transition(app: AppContext, rawId: string, to: 'Approved' | 'Rejected', actor: EventInput['actor'], after: (trx: store.Db, e: EmployeeRecord) => Promise<void>, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  return app.db.transaction(async (trx) => {
    const ref = employeeRef(rawId);
    const current = await store.findEmployee(trx, ref, { forUpdate: true });
    if (!current) throw notFound('employee');
    if (current.status !== 'Pending') {
      throw conflict('invalid_transition', `Only Pending accounts can be ${to.toLowerCase()}; this one is ${current.status}.`, { current_status: current.status });
    }
    const e = (await store.updateEmployee(trx, current.id, { status: to, notified: true }, { status: 'Pending' }))!;
    await after(trx, e);
    await employeeEvent(trx, to === 'Approved' ? 'employee.approved' : 'employee.rejected', e, actor);
    await beforeCommit?.(trx, e);
    return e;
  });
}

export function approve(app: AppContext, rawId: string, actor: EventInput['actor'] = SYSTEM_ACTOR, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  return transition(app, rawId, 'Approved', actor, async (trx, e) => {
    await queueEmail(trx as never, app.jobs, { template: 'account_approved', to: e.email, data: { first_name: e.first_name, last_name: e.last_name, company_id: e.company_id, login_url: loginUrl(app) } });
   }, beforeCommit);
}

export function reject(app: AppContext, actor: Principal, rawId: string, reason: string | null, beforeCommit?: BeforeCommit<EmployeeRecord>): Promise<EmployeeRecord> {
  return transition(app, rawId, 'Rejected', actorOf(actor), async (trx, e) => {
    let actorName: string | null = null;
    if (actor.employeeId) {
      const a = await trx('employees').where({ id: actor.employeeId }).first('first_name', 'last_name', 'company_id');
      if (a) actorName = `${a.first_name} ${a.last_name} (${a.company_id})`;
    } else {
      actorName = `API key #${actor.id}`;
    }
    await store.insertRejection(trx, {
      employee_id: e.id, company_id: e.company_id, first_name: e.first_name, last_name: e.last_name, middle_name: e.middle_name,
      suffix: e.suffix, email: e.email, department: e.department, reason, rejected_by: actor.employeeId, rejected_by_name: actorName,
    });
    // a rejected account has no sessions (a Pending one never had any; this keeps it so)
    await revokeEmployeeSessions(trx, e.id, 'rejected');
    await queueEmail(trx as never, app.jobs, { template: 'account_rejected', to: e.email, data: { first_name: e.first_name, last_name: e.last_name, reason } });
   }, beforeCommit);
}

export async function counts(app: AppContext): Promise<{ count: number; by_status: Record<string, number> }> {
  const by = await store.countByStatus(app.db);
  return { count: by.Rejected, by_status: by };
}

export async function updateProfile(app: AppContext, employeeId: number, patch: Record<string, unknown>): Promise<EmployeeRecord> {
  const changes: Record<string, unknown> = {};
  for (const k of ['first_name', 'last_name'] as const) if (patch[k] !== undefined) changes[k] = (patch[k] as string).trim();
  for (const k of ['middle_name', 'suffix'] as const) if (patch[k] !== undefined) changes[k] = trimOrNull(patch[k]);
  if (Object.keys(changes).length === 0) return getEmployee(app, String(employeeId));
  return app.db.transaction(async (trx) => {
    const before = await store.findEmployee(trx, { by: 'id', value: employeeId }, { forUpdate: true });
    const e = await store.updateEmployee(trx, employeeId, changes);
    if (!e || !before) throw notFound('employee');
    const previous = Object.fromEntries(Object.keys(changes).map((k) => [k, (before as unknown as Record<string, unknown>)[k] ?? null]));
    await employeeEvent(trx, 'employee.updated', e, { kind: 'employee', id: employeeId, display: null }, { previous });
    return e;
  });
}
