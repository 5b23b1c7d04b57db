import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print } from '../output/print.js';

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listNotifications', 'the email delivery log, newest first')))
    .option('--status <status>', 'queued, sent or failed')
    .option('--recipient <email>', 'only this recipient')
    .option('--template <name>', 'only this template, e.g. password_reset')
    .action(async (opts: ListFlags & { json?: boolean | string; status?: string; recipient?: string; template?: string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/admin/notifications/', { query: { status: opts.status, recipient: opts.recipient, template: opts.template } }, opts);
      await print(f, page.data, {
        json: opts.json,
        columns: [{ key: 'id' }, { key: 'created_at', header: 'created' }, { key: 'template' }, { key: 'recipient' }, { key: 'status' }, { key: 'attempts' }, { key: 'transport' }, { key: 'subject' }, { key: 'last_error', header: 'last error' }],
      });
      hintMore(f, page, opts);
    });
}
