/**
 * THE hand-off between tickets and the files module (issue 5), in one place. Ticket creation calls
 * `ticketFiles.attach` for multipart `files[]`, in the creating transaction; ticket deletion calls
 * `ticketFiles.remove` with the storage keys after the delete commits. The files module installs its
 * implementation at merge (`setTicketFileHandlers`). Until then, uploads at creation are refused
 * (422 `attachments_unavailable`) rather than silently dropped.
 */
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';

/** An uploaded part as koa-body/formidable gives it. */
export interface UploadedFile {
  filepath: string;
  originalFilename: string | null;
  mimetype: string | null;
  size: number;
}

export interface TicketFileHandlers {
  /** Validate, store and record (ticket_attachments + history 'attachment_added') the files. */
  attach(trx: Knex.Transaction, app: AppContext, ticketId: number, files: UploadedFile[], uploadedBy: number | null): Promise<void>;
  /** Delete stored files of a deleted ticket (after commit; must tolerate missing files). */
  remove(app: AppContext, storageKeys: string[]): Promise<void>;
}

export const ticketFiles: Partial<TicketFileHandlers> = {};

export function setTicketFileHandlers(h: TicketFileHandlers): void {
  Object.assign(ticketFiles, h);
}
