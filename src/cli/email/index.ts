/** `smartsupport email list|show|release` — received mail and its quarantine (System Admin). */
import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print, type Column } from '../output/print.js';

const COLUMNS: Column[] = [{ key: 'id' }, { key: 'status' }, { key: 'from_address', header: 'from' }, { key: 'subject' }, { key: 'outcome' }, { key: 'reason' }, { key: 'ticket_number', header: 'ticket' }, { key: 'received_at', header: 'received' }];
const STATUSES = ['received', 'processed', 'quarantined', 'ignored', 'failed'] as const;

function idArg(id: string): string {
  if (!/^\d{1,15}$/.test(id)) throw usageError(`not a message id: ${id}`);
  return id;
}

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listInboundEmails', 'list received mail; --quarantined for the quarantine')))
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--quarantined', 'same as --status quarantined')
    .action(async (opts: ListFlags & { status?: string; quarantined?: boolean; json?: boolean | string }) => {
      const f = factory();
      const status = opts.quarantined ? 'quarantined' : opts.status;
      if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) throw usageError(`--status must be one of ${STATUSES.join(', ')}`);
      const page = await fetchList(f, '/api/admin/inbound-emails/', { query: { status: status as (typeof STATUSES)[number] | undefined } }, opts);
      await print(f, page.data, { json: opts.json, columns: COLUMNS });
      hintMore(f, page, opts);
    });
  withJson(defineVerb(noun, 'show', 'getInboundEmail', 'show one received message with its full text'))
    .argument('<id>', 'message id')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('get', '/api/admin/inbound-emails/{id}/', { path: { id: idArg(id) } });
      await print(f, data, { json: opts.json, columns: [...COLUMNS, { key: 'message_id' }, { key: 'body_text', header: 'text' }] });
    });
  withJson(defineVerb(noun, 'release', 'releaseInboundEmail', 'release a quarantined (or replay a failed) message'))
    .argument('<id>', 'message id')
    .option('--as <employee_id>', 'process it as this employee (numeric id)')
    .action(async (id: string, opts: { as?: string; json?: boolean | string }) => {
      const f = factory();
      if (opts.as !== undefined && !/^\d{1,15}$/.test(opts.as)) throw usageError('--as takes a numeric employee id');
      const body = opts.as !== undefined ? { employee_id: Number(opts.as) } : {};
      const { data } = await f.client().call('post', '/api/admin/inbound-emails/{id}/release/', { path: { id: idArg(id) }, body });
      await print(f, data, { json: opts.json, columns: COLUMNS });
    });
}
