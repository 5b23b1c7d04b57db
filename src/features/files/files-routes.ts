/**
 * Files: ticket attachments (upload, download), profile images (upload) and /media/ serving.
 * See docs/files.md for limits, types, storage layout, permissions and signed URLs.
 */
import { actorOf } from '../events/events.js';
import type { AppContext } from '../../app/context.js';
import type { Feature } from '../../app/feature.js';
import { badRequest, notFound } from '../../http/errors.js';
import { signedAttachmentUrl } from '../../lib/signed-urls.js';
import { asFileList, storeTicketAttachments, type AttachmentRow } from './attachments-service.js';
import { logAccess, mayRead, missingScope, sendFile, signedMediaUrl } from './media-access.js';
import { ensureDefaultProfileImage, profileImageKey, replaceProfileImage } from './profile-images.js';
import { isValidKey } from './storage.js';
import { sweepStaleUploads } from './sweep.js';
import { TicketService } from '../tickets/ticket-service.js';

/** The public shape of an attachment (also used by the ticket detail). */
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

export const filesFeature: Feature = {
  name: 'files',
  async onStart(app) {
    await ensureDefaultProfileImage(app);
    await sweepStaleUploads(app);
  },
  routes: (app) => ({
    async uploadTicketAttachments(ctx) {
      const p = ctx.state.principal!;
      const files = asFileList(ctx.request.files?.['files[]'] ?? ctx.request.files?.files);
      const rows = await app.db.transaction(async (trx) => {
        // the owner or staff (404 otherwise, before anything else is said), locked while files are added
        const ticket = await new TicketService(app).visible(trx, p, ctx.state.input.params.id, true);
        if (files.length === 0) throw badRequest('validation_failed', 'Attach at least one file in the `files[]` field.', [{ field: 'files', message: 'is required' }]);
        const stored = await storeTicketAttachments(app, trx, ticket.id, files, p.kind === 'user' ? p.employeeId : null, p.kind === 'api_key' ? { apiKeyId: p.id } : {}, actorOf(p));
        await trx('tickets').where({ id: ticket.id }).update({ update_date: trx.fn.now() });
        return stored;
      });
      ctx.status = 201;
      ctx.body = { data: rows.map((r) => presentAttachment(app, r)) };
    },

    async downloadAttachment(ctx) {
      const id = Number(ctx.state.input.params.id);
      const operation = 'downloadAttachment';
      const p = ctx.state.principal;
      const row = Number.isSafeInteger(id)
        ? await app.db('ticket_attachments').where({ id }).first('id', 'storage_key', 'file_name', 'file_type')
        : undefined;
      const bySignature = ctx.state.signed?.resource === `attachment:${id}`;
      if (!bySignature) {
        const scope = missingScope(p);
        if (scope) {
          await logAccess(app, ctx, { operation, storage_key: row?.storage_key ?? null, attachment_id: id, result: 'denied', status: 403 });
          throw scope;
        }
      }
      if (!row || !(bySignature || (await mayRead(app, p, row.storage_key)))) {
        await logAccess(app, ctx, { operation, storage_key: row?.storage_key ?? null, attachment_id: id, result: row ? 'denied' : 'not_found', status: 404 });
        throw notFound('attachment');
      }
      await sendFile(app, ctx, { key: row.storage_key, mime: row.file_type, fileName: row.file_name, operation, attachmentId: Number(row.id) });
    },

    async getMedia(ctx) {
      const operation = 'getMedia';
      const { folder, file_name } = ctx.state.input.params as { folder: string; file_name: string };
      const key = `${folder}/${file_name}`;
      const p = ctx.state.principal;
      if (!isValidKey(key)) {
        await logAccess(app, ctx, { operation, storage_key: key, result: 'invalid_path', status: 404 });
        throw notFound('file');
      }
      const bySignature = ctx.state.signed?.resource === `media:${key}`;
      if (!bySignature) {
        const scope = missingScope(p);
        if (scope) {
          await logAccess(app, ctx, { operation, storage_key: key, result: 'denied', status: 403 });
          throw scope;
        }
      }
      if (!(bySignature || (await mayRead(app, p, key)))) {
        await logAccess(app, ctx, { operation, storage_key: key, result: 'denied', status: 404 });
        throw notFound('file');
      }
      let mime = 'application/octet-stream';
      let fileName = file_name;
      let attachmentId: number | undefined;
      if (folder === 'ticket_attachments') {
        const row = await app.db('ticket_attachments').where({ storage_key: key }).first('id', 'file_type', 'file_name');
        if (!row) {
          await logAccess(app, ctx, { operation, storage_key: key, result: 'not_found', status: 404 });
          throw notFound('file');
        }
        mime = row.file_type;
        fileName = row.file_name;
        attachmentId = Number(row.id);
      } else {
        mime = file_name.endsWith('.png') ? 'image/png' : file_name.endsWith('.webp') ? 'image/webp' : file_name.endsWith('.jpg') ? 'image/jpeg' : mime;
      }
      await sendFile(app, ctx, { key, mime, fileName, operation, attachmentId });
    },

    async uploadEmployeeImage(ctx) {
      const p = ctx.state.principal!;
      if (p.kind !== 'user') throw notFound('employee');
      const files = asFileList(ctx.request.files?.image);
      if (files.length !== 1) throw badRequest('validation_failed', 'Send exactly one file in the `image` field.', [{ field: 'image', message: 'is required' }]);
      const key = await replaceProfileImage(app, p.employeeId, files[0]);
      ctx.status = 200;
      ctx.body = { image: profileImageKey(key), image_url: signedMediaUrl(app, key) };
    },
  }),
};
