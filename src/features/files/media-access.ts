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
import { fileStore, isValidKey, type ByteRange } from './storage.js';

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

/** A ticket attachment with what its read rule needs: the ticket's owner and assignee. */
interface AttachmentAccessRow {
  id: number;
  storage_key: string;
  file_name: string;
  file_type: string;
  owner_id: number | null;
  assignee_id: number | null;
}

async function loadAttachment(app: AppContext, where: { 'a.id': number } | { 'a.storage_key': string }): Promise<AttachmentAccessRow | undefined> {
  const row = await app.db('ticket_attachments as a')
    .join('tickets as t', 't.id', 'a.ticket_id')
    .where(where)
    .first('a.id', 'a.storage_key', 'a.file_name', 'a.file_type', 't.employee_id as owner_id', 't.assigned_to as assignee_id');
  if (!row) return undefined;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return { ...row, id: Number(row.id), owner_id: num(row.owner_id), assignee_id: num(row.assignee_id) };
}

/**
 * Whether a person/API key may read the file with `key` (object-level rule, not the signature);
 * `attachment`: the attachment row stored under `key` (already loaded, with its ticket's people).
 */
async function mayRead(app: AppContext, p: Principal | undefined, key: string, attachment: AttachmentAccessRow | undefined): Promise<boolean> {
  if (!p) return false;
  if (p.kind === 'api_key') return p.scopes.includes('media:read');
  if (isStaff(p)) return true;
  if (key.startsWith('employee_images/')) {
    if (key === DEFAULT_PROFILE_IMAGE_KEY) return true;
    const me = await app.db('employees').where({ id: p.employeeId }).first('image');
    return Boolean(me?.image) && me.image === key;
  }
  if (key.startsWith('ticket_attachments/')) {
    return attachment !== undefined && (attachment.owner_id === p.employeeId || attachment.assignee_id === p.employeeId);
  }
  return false;
}

/** A stored file the caller may read, with what sendFile needs. */
export interface AuthorizedFile {
  key: string;
  mime: string;
  fileName: string;
  attachmentId?: number;
}

const MIME_BY_EXTENSION: Record<string, string> = { png: 'image/png', webp: 'image/webp', jpg: 'image/jpeg' };

/**
 * The one authorization of file reads, for `downloadAttachment` (`{ attachmentId }`) and `getMedia`
 * (`{ key }`): the attachment is loaded once with its ticket's owner and assignee; a signature for
 * exactly this resource, or the object-level rule (mayRead), grants it. Every denial is logged and
 * answers 403 (an API key without `media:read`) or 404 (nothing revealed).
 */
export async function authorizeFile(app: AppContext, ctx: ApiContext, operation: string, ask: { attachmentId: number } | { key: string }): Promise<AuthorizedFile> {
  const p = ctx.state.principal;
  const byId = 'attachmentId' in ask;
  const askedId = byId ? ask.attachmentId : undefined;
  const missing = () => notFound(byId ? 'attachment' : 'file');
  const deny = async (key: string | null, result: AccessResult, status: number) =>
    logAccess(app, ctx, { operation, storage_key: key, ...(byId ? { attachment_id: askedId } : {}), result, status });
  let row: AttachmentAccessRow | undefined;
  let key: string | null;
  if (byId) {
    row = Number.isSafeInteger(ask.attachmentId) ? await loadAttachment(app, { 'a.id': ask.attachmentId }) : undefined;
    key = row?.storage_key ?? null;
  } else {
    key = ask.key;
    if (!isValidKey(key)) {
      await deny(key, 'invalid_path', 404);
      throw missing();
    }
    if (key.startsWith('ticket_attachments/')) row = await loadAttachment(app, { 'a.storage_key': key });
  }
  const bySignature = ctx.state.signed?.resource === (byId ? `attachment:${ask.attachmentId}` : `media:${key}`);
  if (!bySignature) {
    const scope = missingScope(p);
    if (scope) {
      await deny(key, 'denied', 403);
      throw scope;
    }
  }
  if (byId && !row) {
    await deny(key, 'not_found', 404);
    throw missing();
  }
  if (!(bySignature || (await mayRead(app, p, key!, row)))) {
    await deny(key, 'denied', 404);
    throw missing();
  }
  if (row) return { key: row.storage_key, mime: row.file_type, fileName: row.file_name, attachmentId: row.id };
  if (key!.startsWith('ticket_attachments/')) {
    await deny(key, 'not_found', 404);
    throw missing();
  }
  const fileName = key!.slice(key!.indexOf('/') + 1);
  return { key: key!, mime: MIME_BY_EXTENSION[fileName.split('.').pop() ?? ''] ?? 'application/octet-stream', fileName };
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
