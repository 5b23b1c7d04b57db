import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'approve', ['approveEmployee', 'listEmployees'], 'approve Pending accounts (System Admin); with no ids on a terminal, pick them from a list'))
    .argument('[ids...]', 'numeric ids or company IDs')
    .action(async (ids: string[], opts: { json?: boolean | string }) => {
      const f = factory();
      const [{ print }, { EMPLOYEE_COLUMNS }, { fetchList }] = await Promise.all([import('../output/print.js'), import('./columns.js'), import('../output/list.js')]);
      let chosen = ids;
      if (chosen.length === 0) {
        const prompter = await f.prompter('<ids...>');
        const pending = await fetchList<Record<string, string>>(f, '/api/employees/', { status: 'Pending' }, { all: true });
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
      const done: Record<string, unknown>[] = [];
      let failed = 0;
      let code: number = EXIT.error;
      for (const id of chosen) {
        try {
          done.push((await f.client().request<Record<string, unknown>>('POST', `/api/employees/${encodeURIComponent(id)}/approve/`)).data);
        } catch (err) {
          const { describeError } = await import('../main.js');
          const d = describeError(err);
          failed += 1;
          code = d.code;
          f.err(`${id}: ${d.message}`);
        }
      }
      if (done.length) await print(f, done, { json: opts.json, columns: EMPLOYEE_COLUMNS });
      if (failed) throw new CliError(`${failed} of ${chosen.length} could not be approved`, code);
    });
}
