import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';
import { FAQ_COLUMNS, faqIdArg } from './columns.js';

export function registerShow(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'show', 'getFaq', 'show one FAQ entry'))
    .argument('<id>', 'FAQ id')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const { data } = await f.client().call('get', '/api/faqs/{id}/', { path: { id: faqIdArg(id) } });
      await print(f, data, { json: opts.json, columns: [...FAQ_COLUMNS, { key: 'updated_at', header: 'updated' }] });
    });
}
