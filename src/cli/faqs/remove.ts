import type { Command } from 'commander';
import { confirmOrStop, defineVerb, withJson, withYes } from '../command.js';
import type { Factory } from '../factory.js';
import { faqIdArg } from './columns.js';

export function registerRemove(noun: Command, factory: () => Factory): void {
  withYes(withJson(defineVerb(noun, 'remove', 'deleteFaq', 'remove an FAQ entry (System Admin; asks first, --yes to skip)')))
    .argument('<id>', 'FAQ id')
    .action(async (id: string, opts: { yes?: boolean; json?: boolean | string }) => {
      const f = factory();
      faqIdArg(id);
      await confirmOrStop(f, opts.yes, `Remove FAQ ${id}?`);
      await f.client().call('delete', '/api/faqs/{id}/', { path: { id } });
      if (opts.json !== undefined) f.out(JSON.stringify({ deleted: Number(id) }, null, 2));
      else f.err(`removed FAQ ${id}`);
    });
}
