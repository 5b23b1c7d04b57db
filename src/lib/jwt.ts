/**
 * Access tokens: short-lived HS256 JWTs. The algorithm, issuer, audience and `typ` are pinned,
 * so `alg: none`, a foreign key, or a refresh/other token presented as an access token all fail.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessClaims {
  sub: string;
  role: string;
  /** refresh-token family this access token belongs to (lets logout and reuse detection cut it off) */
  sid?: string;
}

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}

// One imported HMAC key per secret: importing it again for every token cost as much as the check.
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const keys = new Map<string, Promise<HmacKey>>();
function key(secret: string): Promise<HmacKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, k);
  }
  return k;
}

/**
 * Tokens already verified, with their claims, until they expire. A script or the CLI sends the
 * same access token on every request for its whole lifetime, and checking the signature is the
 * costliest step of a small request. Only tokens that passed every check are kept, keyed by the
 * exact token text, per settings object (one per running app); expiry is checked again on every
 * hit. Bounded: the oldest entry goes first.
 */
const VERIFIED_MAX = 10_000;
type Verified = AccessClaims & { exp: number; iat: number };
const verifiedBySettings = new WeakMap<JwtSettings, Map<string, Verified>>();

export async function signAccessToken(s: JwtSettings, claims: AccessClaims, now = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ role: claims.role, ...(claims.sid ? { sid: claims.sid } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE })
    .setSubject(claims.sub)
    .setIssuer(s.issuer)
    .setAudience(s.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + s.accessTtlSeconds)
    .setJti(crypto.randomUUID())
    .sign(await key(s.secret));
}

export type VerifyResult = { ok: true; claims: AccessClaims & { exp: number; iat: number } } | { ok: false; reason: 'expired' | 'invalid' };

export async function verifyAccessToken(s: JwtSettings, token: string, now = Math.floor(Date.now() / 1000)): Promise<VerifyResult> {
  let verified = verifiedBySettings.get(s);
  if (!verified) verifiedBySettings.set(s, (verified = new Map()));
  const hit = verified.get(token);
  if (hit) {
    if (hit.exp > now) return { ok: true, claims: hit };
    verified.delete(token);
    return { ok: false, reason: 'expired' };
  }
  const r = await verifyUncached(s, token, now);
  if (r.ok) {
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, r.claims);
  }
  return r;
}

async function verifyUncached(s: JwtSettings, token: string, now: number): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, await key(s.secret), {
      algorithms: ['HS256'],
      issuer: s.issuer,
      audience: s.audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'nbf'],
      currentDate: new Date(now * 1000),
    });
    if (typeof payload.sub !== 'string' || typeof payload.role !== 'string') return { ok: false, reason: 'invalid' };
    return {
      ok: true,
      claims: { sub: payload.sub, role: payload.role, sid: typeof payload.sid === 'string' ? payload.sid : undefined, exp: payload.exp!, iat: payload.iat! },
    };
  } catch (err) {
    return { ok: false, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
  }
}
