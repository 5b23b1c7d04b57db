/**
 * Sessions (refresh-token families), refresh tokens and password-reset tokens. Tokens are opaque
 * random strings; only their sha256 is stored.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { randomToken, sha256 } from '../../lib/crypto.js';
import type { Db } from '../../db/knex.js';
import { flushAfterCommit } from './session-cache.js';


export const RESET_TOKEN_TTL_SECONDS = 3600;
/** an admin-created account's "set your password" link lives longer than a reset link */
export const SETUP_TOKEN_TTL_SECONDS = 72 * 3600;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Start a session (family) and issue its first refresh token. */
export async function createSession(db: Db, employeeId: number, ttlSeconds: number): Promise<{ sessionId: string; refresh: string }> {
  const sessionId = randomUUID();
  await db('auth_sessions').insert({ id: sessionId, employee_id: employeeId, expires_at: db.raw(`now() + make_interval(secs => ?)`, [ttlSeconds]) });
  const refresh = await issueRefreshToken(db, sessionId);
  return { sessionId, refresh };
}

async function issueRefreshToken(db: Db, sessionId: string): Promise<string> {
  const refresh = `ssr_${randomToken(32)}`;
  await db('refresh_tokens').insert({ session_id: sessionId, token_hash: sha256(refresh) });
  return refresh;
}

export type RotateResult =
  | { ok: true; sessionId: string; employeeId: number; refresh: string }
  | { ok: false; reason: 'unknown' | 'reused' | 'revoked' | 'expired' };

/**
 * Rotate a refresh token: mark it used (a conditional UPDATE, so of two concurrent calls only one
 * can win) and issue the next one in the same family. A token that was already used is reuse:
 * the whole family is revoked. Must run in a transaction.
 */
export async function rotateRefreshToken(trx: Knex.Transaction, presented: string): Promise<RotateResult> {
  const hash = sha256(presented);
  const claimed = await trx('refresh_tokens').where({ token_hash: hash }).whereNull('used_at').update({ used_at: trx.fn.now() }).returning(['session_id']);
  if (claimed.length === 0) {
    const seen = await trx('refresh_tokens').where({ token_hash: hash }).first('session_id');
    if (!seen) return { ok: false, reason: 'unknown' };
    await revokeSession(trx, seen.session_id, 'refresh_token_reuse');
    return { ok: false, reason: 'reused' };
  }
  const sessionId = claimed[0].session_id as string;
  const s = await trx('auth_sessions').where({ id: sessionId }).first('employee_id', 'revoked_at', trx.raw('expires_at <= now() AS expired'));
  if (!s || s.revoked_at) return { ok: false, reason: 'revoked' };
  if (s.expired) return { ok: false, reason: 'expired' };
  const refresh = await issueRefreshToken(trx, sessionId);
  return { ok: true, sessionId, employeeId: Number(s.employee_id), refresh };
}

export async function revokeSession(db: Db, sessionId: string, reason: string): Promise<void> {
  if (!UUID.test(sessionId)) return;
  const n = await db('auth_sessions').where({ id: sessionId }).whereNull('revoked_at').update({ revoked_at: db.fn.now(), revoked_reason: reason });
  if (n > 0) flushAfterCommit(db);
}

/** Revoke every live session of an employee, optionally keeping one (the caller's). */
export async function revokeEmployeeSessions(db: Db, employeeId: number, reason: string, keep?: string): Promise<number> {
  const q = db('auth_sessions').where({ employee_id: employeeId }).whereNull('revoked_at');
  if (keep && UUID.test(keep)) q.whereNot({ id: keep });
  const n = await q.update({ revoked_at: db.fn.now(), revoked_reason: reason });
  if (n > 0) flushAfterCommit(db);
  return n;
}

export async function sessionIdForRefresh(db: Db, presented: string): Promise<string | undefined> {
  const row = await db('refresh_tokens').where({ token_hash: sha256(presented) }).first('session_id');
  return row?.session_id;
}

/** The link a reset (or first "set password") email carries. */
export const resetPasswordUrl = (publicUrl: string, token: string): string => `${publicUrl}/reset-password?token=${encodeURIComponent(token)}`;

/** A single-use password reset (or first "set password") token; returns the secret to email. */
export async function createResetToken(db: Db, employeeId: number, purpose: 'reset' | 'setup', ttlSeconds = RESET_TOKEN_TTL_SECONDS): Promise<string> {
  const token = randomToken(32);
  await db('password_reset_tokens').insert({ employee_id: employeeId, token_hash: sha256(token), purpose, expires_at: db.raw(`now() + make_interval(secs => ?)`, [ttlSeconds]) });
  return token;
}

/** Consume a reset token (conditional update: single use even under concurrency). */
export async function consumeResetToken(trx: Knex.Transaction, token: string): Promise<number | undefined> {
  const [row] = await trx('password_reset_tokens')
    .where({ token_hash: sha256(token) })
    .whereNull('used_at')
    .where('expires_at', '>', trx.fn.now())
    .update({ used_at: trx.fn.now() })
    .returning(['employee_id']);
  if (!row) return undefined;
  // any other outstanding links for this person die with it
  await trx('password_reset_tokens').where({ employee_id: row.employee_id }).whereNull('used_at').update({ used_at: trx.fn.now() });
  return Number(row.employee_id);
}

/**
 * Maintenance: delete sessions past their absolute lifetime or revoked more than a day ago (their
 * refresh tokens go with them), and reset tokens that were used or expired. Returns counts.
 */
export async function purgeExpired(db: Knex): Promise<{ sessions: number; reset_tokens: number }> {
  const sessions = await db('auth_sessions')
    .where('expires_at', '<', db.fn.now())
    .orWhere('revoked_at', '<', db.raw(`now() - interval '1 day'`))
    .delete();
  const resetTokens = await db('password_reset_tokens')
    .whereNotNull('used_at')
    .orWhere('expires_at', '<', db.fn.now())
    .delete();
  return { sessions, reset_tokens: resetTokens };
}
