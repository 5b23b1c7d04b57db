/**
 * Files: ticket attachments (upload, download), profile images (upload) and /media/ serving.
 * See docs/files.md for limits, types, storage layout, permissions and signed URLs.
 */
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import { actorOf } from '../events/events.js';
import type { AppContext } from '../../app/context.js';
import type { Feature } from '../../app/feature.js';
import { badRequest, notFound } from '../../http/errors.js';
import { asFileList, presentAttachment, storeTicketAttachments } from './attachments-service.js';
import { authorizeFile, sendFile, signedMediaUrl } from './media-access.js';
import { ensureDefaultProfileImage, profileImageKey, replaceProfileImage } from './profile-images.js';
import { sweepStaleUploads } from './sweep.js';
import { TicketService } from '../tickets/ticket-service.js';

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
      const a = answerInTransaction(ctx, (body: unknown): Answer => ({ status: 201, body }));
      const body = await app.db.transaction(async (trx) => {
        // the owner or staff (404 otherwise, before anything else is said), locked while files are added
        const ticket = await new TicketService(app).visible(trx, p, ctx.state.input.params.id, true);
        if (files.length === 0) throw badRequest('validation_failed', 'Attach at least one file in the `files[]` field.', [{ field: 'files', message: 'is required' }]);
        const stored = await storeTicketAttachments(app, trx, ticket.id, files, p.kind === 'user' ? p.employeeId : null, p.kind === 'api_key' ? { apiKeyId: p.id } : {}, actorOf(p));
        await trx('tickets').where({ id: ticket.id }).update({ update_date: trx.fn.now() });
        // an Idempotency-Key's answer commits with the files' rows
        const out: unknown = { data: stored.map((r) => presentAttachment(app, r)) };
        await a.beforeCommit?.(trx, out);
        return out;
      });
      a.send(body);
    },

    async downloadAttachment(ctx) {
      const file = await authorizeFile(app, ctx, 'downloadAttachment', { attachmentId: Number(ctx.state.input.params.id) });
      await sendFile(app, ctx, { ...file, operation: 'downloadAttachment' });
    },

    async getMedia(ctx) {
      const { folder, file_name } = ctx.state.input.params as { folder: string; file_name: string };
      const file = await authorizeFile(app, ctx, 'getMedia', { key: `${folder}/${file_name}` });
      await sendFile(app, ctx, { ...file, operation: 'getMedia' });
    },

    async uploadEmployeeImage(ctx) {
      const p = ctx.state.principal!;
      if (p.kind !== 'user') throw notFound('employee');
      const files = asFileList(ctx.request.files?.image);
      if (files.length !== 1) throw badRequest('validation_failed', 'Send exactly one file in the `image` field.', [{ field: 'image', message: 'is required' }]);
      const a = answerInTransaction(ctx, (key: string): Answer => ({ status: 200, body: { image: profileImageKey(key), image_url: signedMediaUrl(app, key) } }));
      a.send(await replaceProfileImage(app, p.employeeId, files[0], a.beforeCommit));
    },
  }),
};
