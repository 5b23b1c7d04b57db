import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** SHA-256 hex digest: for high-entropy secrets (API keys, refresh and reset tokens), never for passwords. */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** A URL-safe random token with `bytes` bytes of entropy. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
