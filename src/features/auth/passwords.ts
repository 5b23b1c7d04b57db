/**
 * Password rules and hashing: 8–128 characters, not a common password; argon2id at the OWASP
 * parameters (m=19456 KiB, t=2, p=1) through @node-rs/argon2, whose async calls run on libuv's
 * thread pool, so hashing never blocks the event loop.
 */
import { hash, verify } from '@node-rs/argon2';
import type { FieldError } from '../../http/errors.js';
import { isCommonPassword } from './common-passwords.js';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

// Algorithm.Argon2id (a const enum in the binding's types, so spelled out here)
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS as never);
}

/** A fixed hash to verify against when the account does not exist, so both paths cost the same. */
let dummy: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    dummy ??= hashPassword('not-a-real-password-' + Math.random());
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}

/** Problems with a new password (empty = acceptable). */
export function passwordProblems(password: string, field = 'password', context: string[] = []): FieldError[] {
  if (password.length < PASSWORD_MIN) return [{ field, message: `must be at least ${PASSWORD_MIN} characters` }];
  if (password.length > PASSWORD_MAX) return [{ field, message: `must be at most ${PASSWORD_MAX} characters` }];
  if (isCommonPassword(password)) return [{ field, message: 'is too common; choose a less guessable password' }];
  const lower = password.toLowerCase();
  if (context.some((c) => c && c.length >= 4 && lower === c.toLowerCase())) return [{ field, message: 'must not be your email or name' }];
  return [];
}
