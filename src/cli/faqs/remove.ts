import type { Command } from 'commander';
import { defineVerb } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import type { Factory } from '../factory.js';
import { faqIdArg } from './columns.js';

export function registerRemove(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'remove', 'deleteFaq', 'remove an FAQ entry (System Admin)')
    .argument('<id>', 'FAQ id')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (id: string, opts: { yes?: boolean }) => {
      const f = factory();
      faqIdArg(id);
      if (!opts.yes) {
        const ok = await (await f.prompter('--yes')).confirm({ message: `Remove FAQ ${id}?`, default: false });
        if (!ok) throw new CliError('not removed', EXIT.error);
      }
      await f.client().request('DELETE', `/api/faqs/${id}/`);
      f.err(`removed FAQ ${id}`);
    });
}
