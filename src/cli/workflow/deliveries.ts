import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print } from '../output/print.js';
import { DELIVERY_COLUMNS } from './columns.js';

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'deliveries', 'listWorkflowDeliveries', 'pushes of tickets to the workflow system, newest first')))
    .option('--ticket <id>', 'only this ticket (id or number, e.g. TX0042)')
    .option('--status <status>', 'pending, delivered, failed, dead, stopped or skipped')
    .action(async (opts: ListFlags & { json?: boolean | string; ticket?: string; status?: string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/workflow/deliveries/', { query: { ticket: opts.ticket, status: opts.status } }, opts);
      await print(f, page.data, { json: opts.json, columns: DELIVERY_COLUMNS });
      hintMore(f, page, opts);
    });
}
