import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'approve', ['approveEmployee', 'listEmployees'], 'approve Pending accounts (System Admin); with no ids on a terminal, pick them from a list'))
    .argument('[ids...]', 'numeric ids or company IDs')
    .action(async (ids: string[], opts: { json?: boolean | string }) => {
      const f = factory();
      const [{ fetchList }, { forEachAccount }] = await Promise.all([import('../output/list.js'), import('./batch.js')]);
      let chosen = ids;
      if (chosen.length === 0) {
        const prompter = await f.prompter('<ids...>');
        const pending = await fetchList(f, '/api/employees/', { query: { status: 'Pending' } }, { all: true });
        if (pending.data.length === 0) {
          f.err('No Pending accounts.');
          return;
        }
        chosen = await prompter.checkbox({
          message: 'Approve which accounts?',
          choices: pending.data.map((e) => ({ name: `${e.company_id}  ${e.first_name} ${e.last_name} <${e.email}> — ${e.department}`, value: String(e.id) })),
        });
        if (chosen.length === 0) {
          f.err('Nothing selected.');
          return;
        }
      }
      await forEachAccount(f, chosen, { verb: 'approve', pastTense: 'approved' }, opts.json);
    });
}
