/**
 * Values that must be readable again (webhook signing secrets) are sealed at rest with AES-256-GCM
 * under the **secrets key** (`SECRETS_KEY`), not under anything derived from `JWT_SECRET`: rotating
 * the token key must not break every webhook.
 *
 * Sealed format: `v2.<kid>.<iv>.<tag>.<ciphertext>` (base64url parts). `kid` is a fingerprint of
 * the key (16 hex digits of a SHA-256), so a value names the key it needs and the key can be
 * rotated: the new key seals, keys in `SECRETS_KEY_PREVIOUS` still open, and values found under a
 * previous key are re-sealed (docs/deployment.md, "Secrets at rest"). The AAD binds the format, the key id and the
 * purpose (a value sealed for one column cannot be passed off as another).
 *
 * `v1.<iv>.<tag>.<ciphertext>` values (before the secrets key existed) were sealed with a key
 * derived from `JWT_SECRET`; they stay readable with the current `JWT_SECRET` and are re-sealed.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}

export interface Keyring {
  /** id of the key that seals */
  currentId: string;
  /** key id → key (the current one and SECRETS_KEY_PREVIOUS) */
  keys: Map<string, Buffer>;
  /** the pre-secrets-key (v1) key, derived from JWT_SECRET: read only */
  legacy: Buffer | undefined;
}

export const keyId = (key: Buffer): string => createHash('sha256').update('smartsupport secrets key id\0').update(key).digest('hex').slice(0, 16);

/** The v1 key: what webhook secrets were sealed with before SECRETS_KEY existed. */
export const legacyKeyFromJwtSecret = (jwtSecret: string): Buffer => createHash('sha256').update(`smartsupport webhook secrets\n${jwtSecret}`).digest();

export function createKeyring(current: Buffer, previous: Buffer[] = [], legacyJwtSecret?: string): Keyring {
  const keys = new Map<string, Buffer>();
  const currentId = keyId(current);
  keys.set(currentId, current);
  for (const k of previous) if (!keys.has(keyId(k))) keys.set(keyId(k), k);
  return { currentId, keys, legacy: legacyJwtSecret ? legacyKeyFromJwtSecret(legacyJwtSecret) : undefined };
}

const aad = (kid: string, purpose: string) => Buffer.from(`v2.${kid}.${purpose}`, 'utf8');

export function seal(ring: Keyring, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', ring.keys.get(ring.currentId)!, iv);
  c.setAAD(aad(ring.currentId, purpose));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return `v2.${ring.currentId}.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
}

/** True when `sealed` is not sealed with the current key (it should be re-sealed). */
export const isStale = (ring: Keyring, sealed: string): boolean => !sealed.startsWith(`v2.${ring.currentId}.`);

function decrypt(key: Buffer, iv: string, tag: string, ct: string, aadBytes: Buffer | undefined): string {
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  if (aadBytes) d.setAAD(aadBytes);
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
}

/**
 * Open a sealed value. Throws SealedValueError (never a raw crypto error) when the value names a key
 * that is not configured, or does not authenticate.
 */
export function open(ring: Keyring, purpose: string, sealed: string): { value: string; stale: boolean } {
  const parts = sealed.split('.');
  if (parts[0] === 'v2' && parts.length === 5) {
    const [, kid, iv, tag, ct] = parts as [string, string, string, string, string];
    const key = ring.keys.get(kid);
    if (!key) throw new SealedValueError(`sealed with an unknown key (key id ${kid}); configure that key in SECRETS_KEY_PREVIOUS (current SECRETS_KEY id ${ring.currentId})`);
    try {
      return { value: decrypt(key, iv, tag, ct, aad(kid, purpose)), stale: kid !== ring.currentId };
    } catch {
      throw new SealedValueError(`does not authenticate with key ${kid} (damaged or sealed for something else)`);
    }
  }
  if (parts[0] === 'v1' && parts.length === 4) {
    const [, iv, tag, ct] = parts as [string, string, string, string];
    if (!ring.legacy) throw new SealedValueError('sealed with the JWT_SECRET-derived key of an older version, and no JWT_SECRET is available');
    try {
      return { value: decrypt(ring.legacy, iv, tag, ct, undefined), stale: true };
    } catch {
      throw new SealedValueError('sealed with the JWT_SECRET-derived key of an older version, and JWT_SECRET has changed since; restore the old JWT_SECRET once so it can be re-sealed under SECRETS_KEY');
    }
  }
  throw new SealedValueError('is not a sealed value');
}

/**
 * Parse a key as configured: base64 (or base64url) of exactly 32 random bytes. Refuses other
 * lengths and obviously weak keys (fewer than 16 distinct byte values: repeated or patterned bytes;
 * a random 32-byte key has about 30).
 */
export function parseKey(raw: string): Buffer | string {
  const s = raw.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) return 'must be base64 of 32 random bytes (openssl rand -base64 32)';
  const key = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) return `must be base64 of exactly 32 bytes, got ${key.length} (openssl rand -base64 32)`;
  if (new Set(key).size < 16) return 'is too weak (repeated or patterned bytes): generate one with openssl rand -base64 32';
  return key;
}
