/** `smartsupport tickets attach TX0042 FILE…` — upload attachments to a ticket (wired into the tickets noun). */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { ticketArg } from './shared.js';

export function registerAttach(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'attach', 'uploadTicketAttachments', 'attach files to a ticket (type detected by the server; progress on a terminal)'))
    .argument('<ticket>', 'ticket id or number, e.g. TX0042')
    .argument('<files...>', 'files to attach (up to 10)')
    .action(async (ticket: string, files: string[], opts: { json?: boolean | string }) => {
      const f = factory();
      const [{ buildUploadForm }, { print }] = await Promise.all([import('../attachments/upload.js'), import('../output/print.js')]);
      const { form, done } = await buildUploadForm(f, 'files', files, 'uploading');
      let res;
      try {
        res = await f.client().call('post', '/api/tickets/{id}/attachments/', { path: { id: ticketArg(ticket) }, form });
      } finally {
        done();
      }
      await print(f, res.data.data, {
        json: opts.json,
        columns: [{ key: 'id' }, { key: 'file_name', header: 'name' }, { key: 'file_type', header: 'type' }, { key: 'file_size', header: 'bytes' }, { key: 'upload_date', header: 'uploaded' }],
      });
    });
}
