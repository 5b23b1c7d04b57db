/**
 * Ticket attachments: the single place that validates and stores uploaded files for a ticket
 * (used by POST /api/tickets/{id}/attachments/ and by multipart ticket creation), and the removal
 * of a ticket's files when the ticket is deleted.
 *
 * Consistency: files are validated first (size, count, type from content), then moved into the
 * store and recorded in the caller's transaction. If that transaction rolls back, the stored files
 * are removed again; formidable's temp files are removed by the server after every request.
 */
import { recordEvent, type EventInput } from '../events/events.js';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { tooLarge, unsupportedMediaType } from '../../http/errors.js';
import { detectType, sanitizeFileName, type DetectedType } from './detect.js';
import { loadSharp, withImageSlot } from './image-pool.js';
import { fileStore, newKey } from './storage.js';
import { signedAttachmentUrl } from '../../lib/signed-urls.js';

const REENCODED = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** The part of a formidable file we use. */
export interface UploadedFile {
  filepath: string;
  originalFilename?: string | null;
  size: number;
}

/** Most files one request may attach (formidable's maxFiles is the same number). */
export const MAX_FILES_PER_REQUEST = 10;

export interface AttachmentRow {
  id: number;
  ticket_id: number;
  storage_key: string;
  file_name: string;
  file_type: string;
  file_size: number;
  upload_date: string;
  uploaded_by: number | null;
}

/**
 * The API shape of an attachment (schema `Attachment`): the upload answer (`uploadTicketAttachments`),
 * the ticket detail's `attachments` (`getTicket`, `createTicket`, ticket updates) — one shape everywhere.
 */
export function presentAttachment(app: AppContext, a: Pick<AttachmentRow, 'id' | 'file_name' | 'file_type' | 'file_size' | 'upload_date' | 'uploaded_by'>) {
  return {
    id: Number(a.id),
    file_name: a.file_name,
    file_type: a.file_type,
    file_size: Number(a.file_size),
    upload_date: new Date(a.upload_date).toISOString(),
    uploaded_by: a.uploaded_by === null ? null : Number(a.uploaded_by),
    url: signedAttachmentUrl(app.config.publicUrl, app.jwt.secret, Number(a.id)),
  };
}

/** Normalise what koa-body gives for a field (one file, several, or nothing) into an array, in the order sent. */
export function asFileList(value: unknown): UploadedFile[] {
  if (!value) return [];
  const list = (Array.isArray(value) ? value : [value]) as (UploadedFile & { part_index?: number })[];
  return [...list].sort((a, b) => (a.part_index ?? 0) - (b.part_index ?? 0));
}

const mb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;

/** Check size and content type; returns the detected types in order. Throws 413/415. */
export async function validateUploads(files: UploadedFile[], limits: { maxBytes: number; maxFiles?: number; allowed?: Set<string> }): Promise<DetectedType[]> {
  const maxFiles = limits.maxFiles ?? MAX_FILES_PER_REQUEST;
  if (files.length > maxFiles) throw tooLarge(`At most ${maxFiles} files can be uploaded at once.`);
  for (const f of files) {
    if (f.size > limits.maxBytes) throw tooLarge(`Each file must be at most ${mb(limits.maxBytes)}.`);
  }
  const types: DetectedType[] = [];
  for (const f of files) {
    const t = f.size > 0 ? await detectType(f.filepath, f.originalFilename ?? '') : undefined;
    if (!t || (limits.allowed && !limits.allowed.has(t.mime))) {
      throw unsupportedMediaType('This file type is not allowed. Allowed: images (JPEG, PNG, GIF, WebP), PDF, Word/Excel/PowerPoint (docx, xlsx, pptx), plain text, CSV and zip.');
    }
    types.push(t);
  }
  return types;
}

/** Largest image attachment we decode (e.g. 8000×5000); bigger is refused from its header (413). */
export const ATTACHMENT_IMAGE_MAX_PIXELS = 40_000_000;

/**
 * Re-encode an image attachment in its own format (JPEG, PNG, GIF incl. animation, WebP): only the
 * decoded pixels survive, so trailing data and embedded chunks of a polyglot (GIF/JS, PNG/HTML),
 * and metadata (EXIF/GPS), are dropped. Writes `<file>.clean` next to the upload (in the request's
 * temp dir) and returns it with its size. 413 past the pixel limit, 415 when it does not decode.
 */
export async function reencodeImage(file: UploadedFile, type: DetectedType): Promise<UploadedFile> {
  return withImageSlot(async () => {
    const { default: sharp } = await loadSharp();
    const animated = type.mime === 'image/gif' || type.mime === 'image/webp';
    const img = sharp(file.filepath, { limitInputPixels: ATTACHMENT_IMAGE_MAX_PIXELS, failOn: 'error', animated });
    const out = `${file.filepath}.clean`;
    try {
      const pipeline = type.mime === 'image/jpeg' ? img.rotate().jpeg({ quality: 90 }) : type.mime === 'image/png' ? img.png() : type.mime === 'image/gif' ? img.gif() : img.webp({ quality: 90 });
      const info = await pipeline.toFile(out);
      return { filepath: out, originalFilename: file.originalFilename, size: info.size };
    } catch (err) {
      if (/pixel limit/i.test((err as Error).message)) throw tooLarge(`The image is too large: at most ${ATTACHMENT_IMAGE_MAX_PIXELS / 1_000_000} megapixels.`);
      throw unsupportedMediaType('The image could not be decoded.');
    }
  });
}

/** Remove stored objects once the transaction turns out to have rolled back. */
function removeOnRollback(app: AppContext, trx: Knex.Transaction, keys: string[]): void {
  const store = fileStore(app);
  trx.executionPromise?.catch(async () => {
    for (const k of keys) await store.delete(k).catch((err: Error) => app.log.warn({ key: k, err: err.message }, 'could not remove file after rollback'));
  });
}

/**
 * Validate and store `files` as attachments of ticket `ticketId` inside `trx`: records plus one
 * `attachment_added` history entry per file. The ticket must exist and the caller must already be
 * allowed to change it. Throws 413 (size/count) or 415 (type) before anything is stored.
 */
export async function storeTicketAttachments(
  app: AppContext,
  trx: Knex.Transaction,
  ticketId: number,
  files: UploadedFile[],
  uploaderId: number | null,
  actor: { apiKeyId?: number } = {},
  eventActor: EventInput['actor'] = null,
): Promise<AttachmentRow[]> {
  if (files.length === 0) return [];
  const types = await validateUploads(files, { maxBytes: app.config.maxUploadBytes });
  // images are kept only as we re-encoded them (see reencodeImage)
  files = await Promise.all(files.map((f, i) => (REENCODED.has(types[i].mime) ? reencodeImage(f, types[i]) : f)));
  const store = fileStore(app);
  const stored: string[] = [];
  const rows: AttachmentRow[] = [];
  try {
    for (const [i, f] of files.entries()) {
      const key = newKey('ticket_attachments', types[i].ext);
      await store.put(key, { path: f.filepath }, { trx });
      stored.push(key);
      const [row] = await trx('ticket_attachments')
        .insert({
          ticket_id: ticketId,
          storage_key: key,
          file_name: sanitizeFileName(f.originalFilename, types[i]),
          file_type: types[i].mime,
          file_size: f.size,
          uploaded_by: uploaderId,
        })
        .returning('*');
      rows.push({ ...row, id: Number(row.id), ticket_id: Number(row.ticket_id), file_size: Number(row.file_size), uploaded_by: row.uploaded_by === null ? null : Number(row.uploaded_by) });
      await trx('ticket_history').insert({
        ticket_id: ticketId,
        actor_id: uploaderId,
        actor_kind: actor.apiKeyId ? 'api_key' : 'user',
        actor_api_key_id: actor.apiKeyId ?? null,
        event: 'attachment_added',
        field: 'attachments',
        to_value: row.file_name,
      });
      await recordEvent(trx, {
        type: 'attachment.added',
        actor: eventActor,
        object: { type: 'attachment', id: String(row.id) },
        ticket_id: ticketId,
        data: {
          object: { id: Number(row.id), file_name: row.file_name, file_type: row.file_type, file_size: Number(row.file_size), upload_date: new Date(row.upload_date).toISOString() },
          ticket_number: (await trx('tickets').where({ id: ticketId }).first('ticket_number'))?.ticket_number ?? null,
        },
      });
    }
  } catch (err) {
    for (const k of stored) await store.delete(k).catch(() => undefined);
    throw err;
  }
  removeOnRollback(app, trx, stored);
  return rows;
}

/**
 * Call inside the transaction that deletes ticket `ticketId` (before the DELETE): the attachment
 * rows go with the ticket (ON DELETE CASCADE) and, once the transaction has committed, their files
 * are removed from the store. A rollback leaves the files in place.
 */
export async function deleteTicketFiles(app: AppContext, trx: Knex.Transaction, ticketId: number): Promise<string[]> {
  const keys = (await trx('ticket_attachments').where({ ticket_id: ticketId }).pluck('storage_key')) as string[];
  if (keys.length === 0) return keys;
  const store = fileStore(app);
  const remove = async () => {
    for (const k of keys) await store.delete(k).catch((err: Error) => app.log.warn({ key: k, err: err.message }, 'could not remove attachment file'));
  };
  if (trx.executionPromise) trx.executionPromise.then(remove, () => undefined);
  else await remove();
  return keys;
}
