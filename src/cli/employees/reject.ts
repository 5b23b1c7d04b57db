import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'reject', 'rejectEmployee', 'reject Pending accounts with a reason (System Admin)'))
    .argument('<ids...>', 'numeric ids or company IDs')
    .option('--reason <text>', 'why (goes into the audit and the email)')
    .action(async (ids: string[], opts: { reason?: string; json?: boolean | string }) => {
      const f = factory();
      const { forEachAccount } = await import('./batch.js');
      const reason = opts.reason ?? (await (await f.prompter('--reason')).input({ message: 'Reason' }));
      await forEachAccount(f, ids, { verb: 'reject', pastTense: 'rejected', body: { reason: reason || null } }, opts.json);
    });
}
