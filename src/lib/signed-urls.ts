/**
 * Short-lived signed URLs for files: links embedded in API responses and workflow payloads carry
 * `?signature=<token>` instead of a JWT or API key. The token is an HMAC over (resource, expiry)
 * with a key derived from the JWT secret, so it grants access to exactly one file until it expires.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from './crypto.js';

export interface SignedResource {
  /** what the token opens, e.g. `attachment:42` or `media:employee_images/ab12.webp` */
  resource: string;
  /** expiry, unix seconds */
  exp: number;
}

const derive = (secret: string) => createHmac('sha256', secret).update('smartsupport/signed-urls/v1').digest();

export function signResource(secret: string, resource: string, ttlSeconds: number, now = Math.floor(Date.now() / 1000)): string {
  const payload = Buffer.from(JSON.stringify({ r: resource, e: now + ttlSeconds })).toString('base64url');
  const mac = createHmac('sha256', derive(secret)).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

/** The signed resource if the token is authentic and unexpired; otherwise undefined. */
export function verifyResource(secret: string, token: string, now = Math.floor(Date.now() / 1000)): SignedResource | undefined {
  const [payload, mac, extra] = token.split('.');
  if (!payload || !mac || extra !== undefined) return undefined;
  const expected = createHmac('sha256', derive(secret)).update(payload).digest('base64url');
  if (!safeEqual(mac, expected)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { r?: unknown; e?: unknown };
    if (typeof v.r !== 'string' || typeof v.e !== 'number' || v.e <= now) return undefined;
    return { resource: v.r, exp: v.e };
  } catch {
    return undefined;
  }
}

/** Absolute download URL for a ticket attachment, valid for `ttlSeconds` (default 15 minutes). */
export function signedAttachmentUrl(publicUrl: string, secret: string, attachmentId: number, ttlSeconds = 900): string {
  return `${publicUrl}/api/attachments/${attachmentId}/download/?signature=${signResource(secret, `attachment:${attachmentId}`, ttlSeconds)}`;
}
