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

const key = (secret: string) => new TextEncoder().encode(secret);

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
    .sign(key(s.secret));
}

export type VerifyResult = { ok: true; claims: AccessClaims & { exp: number; iat: number } } | { ok: false; reason: 'expired' | 'invalid' };

export async function verifyAccessToken(s: JwtSettings, token: string): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, key(s.secret), {
      algorithms: ['HS256'],
      issuer: s.issuer,
      audience: s.audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'nbf'],
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
