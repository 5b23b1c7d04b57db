import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print } from '../output/print.js';
import { FAQ_COLUMNS } from './columns.js';

export function registerList(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listFaqs', 'list the knowledge base, or search it with -q')))
    .option('-q, --query <text>', 'search (a natural question works)')
    .option('--tag <tag>', 'only entries with this tag')
    .action(async (opts: ListFlags & { query?: string; tag?: string; json?: boolean | string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/faqs/', { query: { q: opts.query, tag: opts.tag } }, opts);
      await print(f, page.data, { json: opts.json, columns: FAQ_COLUMNS });
      hintMore(f, page, opts);
    });
}
