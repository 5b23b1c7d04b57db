/**
 * Sign-in, token refresh (rotation with reuse detection), sign-out, password change/forgot/reset.
 *
 * Login portals: `/api/token/employee/` is for the Employee role, `/api/token/admin/` for staff.
 * With the right password but the wrong portal the answer is 403 `wrong_portal` (it is only given
 * after the password checked out, so it reveals nothing to someone guessing).
 */
import type { AppContext } from '../../app/context.js';
import { STAFF_ROLES, type Principal, type Role } from '../../http/auth.js';
import { AppError, forbidden, unauthorized, unprocessable } from '../../http/errors.js';
import type { BeforeCommit } from '../../http/idempotency.js';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { pgQueryClient } from '../../db/knex.js';
import { QUEUES } from '../../jobs/queues.js';
import { signAccessToken } from '../../lib/jwt.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import * as employees from '../employees/employee-store.js';
import type { EmployeeRecord } from '../employees/employee-store.js';
import * as store from './auth-store.js';
import { flushAfterCommit } from './session-cache.js';
import type { LoginThrottle } from './login-throttle.js';
import { hashPassword, passwordProblems, verifyPassword } from './passwords.js';

export type Portal = 'employee' | 'admin';

export interface TokenPair {
  access: string;
  refresh: string;
  token_type: 'Bearer';
  expires_in: number;
}

const badCredentials = () => unauthorized('The email or password is incorrect.', 'invalid_credentials');

async function issuePair(app: AppContext, e: { id: number; role: string }, sessionId: string, refresh: string): Promise<TokenPair> {
  const access = await signAccessToken(app.jwt, { sub: String(e.id), role: e.role, sid: sessionId });
  return { access, refresh, token_type: 'Bearer', expires_in: app.jwt.accessTtlSeconds };
}

export async function login(app: AppContext, throttle: LoginThrottle, portal: Portal, email: string, password: string, ip: string, beforeCommit?: BeforeCommit<void>): Promise<TokenPair & { user: EmployeeRecord }> {
  // the attempt is reserved (atomically) before the password is checked: concurrent guesses
  // cannot all pass a limit that only counted failures afterwards
  const attempt = await throttle.reserve(email, ip);
  const e = await employees.findByEmail(app.db, email);
  const ok = await verifyPassword(e?.password_hash, password);
  if (!e || !ok) throw badCredentials();
  // the password was right: give the attempt back whatever the account's state
  await attempt.succeeded();
  if (e.status === 'Pending') throw forbidden('This account is waiting for an administrator to approve it.', 'account_pending');
  if (e.status === 'Rejected') throw forbidden('This account was not approved.', 'account_rejected');
  if (e.status === 'Deactivated') throw forbidden('This account has been deactivated.', 'account_deactivated');
  if (e.status !== 'Approved') throw badCredentials();
  const staff = STAFF_ROLES.includes(e.role as Role);
  if (portal === 'employee' && staff) throw forbidden('Staff sign in through /api/token/admin/.', 'wrong_portal');
  if (portal === 'admin' && !staff) throw forbidden('Employees sign in through /api/token/employee/.', 'wrong_portal');
  const { sessionId, refresh } = await app.db.transaction(async (trx) => {
    await trx('employees').where({ id: e.id }).update({ last_login_at: trx.fn.now() });
    const session = await store.createSession(trx, e.id, app.config.refreshTokenTtlSeconds);
    // an Idempotency-Key is marked used with the session (the tokens themselves are never stored)
    await beforeCommit?.(trx);
    return session;
  });
  const { password_hash: _omit, ...user } = e;
  void _omit;
  return { ...(await issuePair(app, e, sessionId, refresh)), user: { ...user, last_login_at: new Date() } };
}

export async function refresh(app: AppContext, presented: string, beforeCommit?: BeforeCommit<void>): Promise<TokenPair> {
  const result = await app.db.transaction(async (trx) => {
    const r = await store.rotateRefreshToken(trx, presented);
    if (!r.ok) return r;
    const e = await trx('employees').where({ id: r.employeeId }).first('id', 'role', 'status');
    if (!e || e.status !== 'Approved') {
      await store.revokeSession(trx, r.sessionId, 'account_inactive');
      return { ok: false as const, reason: 'revoked' as const };
    }
    await beforeCommit?.(trx); // only a rotation that succeeds uses the key
    return { ...r, role: e.role as string };
  });
  if (!result.ok) {
    // reuse revoked the family inside the transaction above (committed): report it distinctly
    if (result.reason === 'reused') throw unauthorized('This refresh token was already used; the session has been revoked. Sign in again.', 'refresh_token_reused');
    if (result.reason === 'expired') throw unauthorized('The session has expired; sign in again.', 'session_expired');
    throw unauthorized('The refresh token is not valid.', 'invalid_refresh_token');
  }
  return issuePair(app, { id: result.employeeId, role: result.role }, result.sessionId, result.refresh);
}

export async function logout(app: AppContext, principal: Principal, refreshToken?: string): Promise<void> {
  if (principal.kind === 'user' && principal.sessionId) await store.revokeSession(app.db, principal.sessionId, 'logout');
  if (refreshToken) {
    const sid = await store.sessionIdForRefresh(app.db, refreshToken);
    // only the caller's own sessions
    if (sid && (await app.db('auth_sessions').where({ id: sid, employee_id: principal.employeeId ?? -1 }).whereNull('revoked_at').update({ revoked_at: app.db.fn.now(), revoked_reason: 'logout' })) > 0) flushAfterCommit(app.db);
  }
}

export async function changePassword(app: AppContext, principal: Principal, current: string, next: string, beforeCommit?: BeforeCommit<void>): Promise<void> {
  if (principal.kind !== 'user') throw forbidden('Only people have passwords.', 'api_key_not_allowed');
  const e = await employees.findWithSecret(app.db, principal.employeeId);
  if (!e) throw unauthorized();
  if (!(await verifyPassword(e.password_hash, current))) {
    throw new AppError(422, 'wrong_password', 'The current password is incorrect.', { errors: [{ field: 'current_password', message: 'is incorrect' }] });
  }
  const problems = passwordProblems(next, 'new_password', [e.email, e.first_name, e.last_name]);
  if (next === current) problems.push({ field: 'new_password', message: 'must differ from the current password' });
  if (problems.length) throw unprocessable('invalid_password', 'The new password does not meet the rules.', problems);
  const hash = await hashPassword(next);
  await app.db.transaction(async (trx) => {
    await trx('employees').where({ id: e.id }).update({ password_hash: hash, password_changed_at: trx.fn.now(), updated_at: trx.fn.now() });
    await store.revokeEmployeeSessions(trx, e.id, 'password_changed', principal.sessionId);
    await beforeCommit?.(trx);
  });
}

export const FORGOT_RESPONSE = { detail: 'If an account exists for that email, a password reset link has been sent.' } as const;

/** At most this many reset mails per account per hour (further requests are answered the same, silently). */
export const RESET_MAILS_PER_HOUR = 3;

/**
 * The request only queues a job, whatever the address: the same work and the same answer whether
 * or not an account exists (no timing difference). The job (`sendResetLink`) does the lookup.
 */
export async function forgotPassword(app: AppContext, email: string, beforeCommit?: BeforeCommit<void>): Promise<void> {
  if (!beforeCommit) return void (await app.jobs.enqueue(app.db, QUEUES.passwordForgot, { email: email.trim() }));
  // with an Idempotency-Key: the job and the key's record commit together
  await app.db.transaction(async (trx) => {
    await app.jobs.enqueue(trx, QUEUES.passwordForgot, { email: email.trim() });
    await beforeCommit(trx);
  });
}

/** The `auth.password_forgot` job: a link for an Approved account, at most RESET_MAILS_PER_HOUR an hour. */
export async function sendResetLink(app: AppContext, mailCap: RateLimiterPostgres, email: string): Promise<'sent' | 'no_account' | 'capped'> {
  const e = await employees.findByEmail(app.db, email);
  // only accounts that can sign in get a link
  if (!e || e.status !== 'Approved') return 'no_account';
  try {
    await mailCap.consume(String(e.id), 1);
  } catch (err) {
    if (err instanceof RateLimiterRes) return 'capped';
    throw err;
  }
  await app.db.transaction(async (trx) => {
    const token = await store.createResetToken(trx, e.id, 'reset');
    await queueEmail(trx, app.jobs, {
      template: 'password_reset',
      to: e.email,
      data: { first_name: e.first_name, reset_url: store.resetPasswordUrl(app.config.publicUrl, token), expires_minutes: store.RESET_TOKEN_TTL_SECONDS / 60 },
    });
  });
  return 'sent';
}

export function resetMailCap(app: AppContext): RateLimiterPostgres {
  return new RateLimiterPostgres({
    // node-pg style, so the limiter's named statement becomes unnamed behind PgBouncer (DATABASE_PREPARED_STATEMENTS)
    storeClient: pgQueryClient(app.db),
    storeType: 'pool',
    tableName: 'rate_limits',
    tableCreated: true,
    keyPrefix: 'reset_mail',
    points: RESET_MAILS_PER_HOUR,
    duration: 3600,
    clearExpiredByTimeout: false,
  });
}

export async function resetPassword(app: AppContext, token: string, next: string, beforeCommit?: BeforeCommit<void>): Promise<void> {
  const problems = passwordProblems(next, 'new_password');
  if (problems.length) throw unprocessable('invalid_password', 'The new password does not meet the rules.', problems);
  const hash = await hashPassword(next);
  await app.db.transaction(async (trx) => {
    const employeeId = await store.consumeResetToken(trx, token);
    if (!employeeId) throw new AppError(400, 'invalid_reset_token', 'This reset link is invalid, expired or already used; request a new one.');
    // a link issued before the account was deactivated or erased does not bring it back
    const owner = await trx('employees').where({ id: employeeId }).first('status');
    if (!owner || owner.status === 'Deactivated' || owner.status === 'Erased') throw new AppError(400, 'invalid_reset_token', 'This reset link is invalid, expired or already used; request a new one.');
    await trx('employees').where({ id: employeeId }).update({ password_hash: hash, password_changed_at: trx.fn.now(), updated_at: trx.fn.now() });
    await store.revokeEmployeeSessions(trx, employeeId, 'password_reset');
    await beforeCommit?.(trx);
  });
}
