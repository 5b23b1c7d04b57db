/**
 * Who may read which stored file (the seed's rules), the access log, and streaming a file with
 * safe headers and Range support.
 *
 * - staff (Ticket Coordinator, System Admin): everything
 * - employees: attachments of their own tickets (or tickets assigned to them), their own profile
 *   image and the default image
 * - API keys: everything, with the `media:read` scope
 * - a valid `?signature=`: exactly the one resource it was issued for
 * Anything else answers 404 (the object's existence is not revealed); every decision is logged in
 * `file_access_log`.
 */
import type { AppContext } from '../../app/context.js';
import type { ApiContext } from '../../app/feature.js';
import { AppError, notFound } from '../../http/errors.js';
import { isStaff, type Principal } from '../../http/auth.js';
import { signResource } from '../../lib/signed-urls.js';
import { DEFAULT_PROFILE_IMAGE_KEY, profileImageKey } from './profile-images.js';
import { fileStore, type ByteRange } from './storage.js';

export type AccessResult = 'granted' | 'denied' | 'not_found' | 'invalid_path' | 'range_not_satisfiable';

export interface AccessEntry {
  operation: string;
  storage_key: string | null;
  attachment_id?: number | null;
  result: AccessResult;
  status: number;
}

export async function logAccess(app: AppContext, ctx: ApiContext, e: AccessEntry): Promise<void> {
  const p = ctx.state.principal;
  await app.db('file_access_log').insert({
    actor_kind: p ? p.kind : ctx.state.signed ? 'signed_url' : 'anonymous',
    actor_id: p ? p.id : null,
    operation: e.operation,
    // what was asked for, made printable (it may be hostile input)
    storage_key: e.storage_key === null ? null : e.storage_key.replace(/[\u0000-\u001F\u007F]/g, '?').slice(0, 300),
    attachment_id: e.attachment_id ?? null,
    result: e.result,
    status: e.status,
    request_id: ctx.state.requestId ?? null,
  });
}

/** Signed URL for a stored file under /media/ (short-lived; for links in responses and payloads). */
export function signedMediaUrl(app: AppContext, key: string, ttlSeconds = 900): string {
  return `${app.config.publicUrl}/media/${key}?signature=${signResource(app.jwt.secret, `media:${key}`, ttlSeconds)}`;
}

/** Short-lived signed URL of an employee's profile image (`image` column), or of the default image. */
export const profileImageUrl = (app: AppContext, image: string | null | undefined): string => signedMediaUrl(app, profileImageKey(image));

/** Whether a person/API key may read the file with `key` (object-level rule, not the signature). */
export async function mayRead(app: AppContext, p: Principal | undefined, key: string): Promise<boolean> {
  if (!p) return false;
  if (p.kind === 'api_key') return p.scopes.includes('media:read');
  if (isStaff(p)) return true;
  if (key.startsWith('employee_images/')) {
    if (key === DEFAULT_PROFILE_IMAGE_KEY) return true;
    const me = await app.db('employees').where({ id: p.employeeId }).first('image');
    return Boolean(me?.image) && me.image === key;
  }
  if (key.startsWith('ticket_attachments/')) {
    const row = await app.db('ticket_attachments as a')
      .join('tickets as t', 't.id', 'a.ticket_id')
      .where('a.storage_key', key)
      .where((q) => q.where('t.employee_id', p.employeeId).orWhere('t.assigned_to', p.employeeId))
      .first('a.id');
    return Boolean(row);
  }
  return false;
}

/** 403 for an API key lacking media:read (the edge lets any key through so the denial is logged). */
export function missingScope(p: Principal | undefined): AppError | undefined {
  if (p?.kind === 'api_key' && !p.scopes.includes('media:read')) {
    return new AppError(403, 'insufficient_scope', 'This API key lacks the "media:read" scope.', { required_scope: 'media:read' });
  }
  return undefined;
}

/** RFC 6266 / RFC 5987: an ASCII fallback plus the exact UTF-8 name. */
export function contentDisposition(fileName: string, type: 'attachment' | 'inline' = 'attachment'): string {
  const fallback = fileName.replace(/[^\x20-\x7E]/g, '_').replace(/["\\]/g, '_') || 'download';
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Parse a single `bytes=` range; undefined = serve everything; 'unsatisfiable' = 416. */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return header.trim().startsWith('bytes=') && !header.includes(',') ? 'unsatisfiable' : undefined; // several ranges: send it all
  const [, a, b] = m;
  if (a === '' && b === '') return 'unsatisfiable';
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Stream a stored file with download headers; handles Range (206/416). */
export async function sendFile(
  app: AppContext,
  ctx: ApiContext,
  f: { key: string; mime: string; fileName: string; operation: string; attachmentId?: number },
): Promise<void> {
  const store = fileStore(app);
  const size = await store.size(f.key);
  if (size === undefined) {
    await logAccess(app, ctx, { operation: f.operation, storage_key: f.key, attachment_id: f.attachmentId, result: 'not_found', status: 404 });
    throw notFound('file');
  }
  const range = parseRange(ctx.get('Range') || undefined, size);
  if (range === 'unsatisfiable') {
    await logAccess(app, ctx, { operation: f.operation, storage_key: f.key, attachment_id: f.attachmentId, result: 'range_not_satisfiable', status: 416 });
    throw new AppError(416, 'range_not_satisfiable', `The file has ${size} bytes; the requested range is outside it.`, {}, { 'Content-Range': `bytes */${size}` });
  }
  const stream = await store.open(f.key, range);
  await logAccess(app, ctx, { operation: f.operation, storage_key: f.key, attachment_id: f.attachmentId, result: 'granted', status: range ? 206 : 200 });
  ctx.set('Content-Type', f.mime);
  ctx.set('Content-Disposition', contentDisposition(f.fileName));
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Cache-Control', 'private, max-age=300');
  ctx.set('Content-Security-Policy', "sandbox; default-src 'none'");
  ctx.set('Accept-Ranges', 'bytes');
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    ctx.length = range.end - range.start + 1;
  } else {
    ctx.status = 200;
    ctx.length = size;
  }
  ctx.body = stream;
}
