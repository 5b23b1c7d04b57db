import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'reject', 'rejectEmployee', 'reject Pending accounts with a reason (System Admin)'))
    .argument('<ids...>', 'numeric ids or company IDs')
    .option('--reason <text>', 'why (goes into the audit and the email)')
    .action(async (ids: string[], opts: { reason?: string; json?: boolean | string }) => {
      const f = factory();
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
      const reason = opts.reason ?? (await (await f.prompter('--reason')).input({ message: 'Reason' }));
      const done: Record<string, unknown>[] = [];
      let failed = 0;
      let code: number = EXIT.error;
      for (const id of ids) {
        try {
          done.push((await f.client().request<Record<string, unknown>>('POST', `/api/employees/${encodeURIComponent(id)}/reject/`, { body: { reason: reason || null } })).data);
        } catch (err) {
          const { describeError } = await import('../main.js');
          const d = describeError(err);
          failed += 1;
          code = d.code;
          f.err(`${id}: ${d.message}`);
        }
      }
      if (done.length) await print(f, done, { json: opts.json, columns: EMPLOYEE_COLUMNS });
      if (failed) throw new CliError(`${failed} of ${ids.length} could not be rejected`, code);
    });
}
