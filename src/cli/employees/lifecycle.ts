/** `employees deactivate|reactivate|erase|export`: the account lifecycle after approval (docs/accounts.md). */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'deactivate', 'deactivateEmployee', 'deactivate accounts: signed out at once, cannot sign in or be emailed (System Admin)'))
    .argument('<ids...>', 'numeric ids or company IDs')
    .option('--reason <text>', 'why (goes into the audit and the email)')
    .action(async (ids: string[], opts: { reason?: string; json?: boolean | string }) => {
      const f = factory();
      const { forEachAccount } = await import('./batch.js');
      await forEachAccount(f, ids, { verb: 'deactivate', pastTense: 'deactivated', body: opts.reason === undefined ? undefined : { reason: opts.reason || null } }, opts.json);
    });

  withJson(defineVerb(noun, 'reactivate', 'reactivateEmployee', 'reactivate deactivated accounts (System Admin)'))
    .argument('<ids...>', 'numeric ids or company IDs')
    .action(async (ids: string[], opts: { json?: boolean | string }) => {
      const f = factory();
      const { forEachAccount } = await import('./batch.js');
      await forEachAccount(f, ids, { verb: 'reactivate', pastTense: 'reactivated' }, opts.json);
    });

  withJson(defineVerb(noun, 'erase', 'eraseEmployee', 'erase a person for good: anonymised everywhere, irreversible (System Admin)'))
    .argument('<id>', 'numeric id or company ID (MA0042)')
    .option('--confirm <company-id>', 'repeat the company ID to confirm (asked on a terminal otherwise)')
    .action(async (id: string, opts: { confirm?: string; json?: boolean | string }) => {
      const f = factory();
      const confirm = opts.confirm ?? (await (await f.prompter('--confirm')).input({ message: `Erasing ${id} cannot be undone. Type its company ID to confirm` }));
      const res = await f.client().call('post', '/api/employees/{id}/erase/', { path: { id }, body: { confirm } });
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
      await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
    });

  defineVerb(noun, 'export', ['exportEmployee', 'exportMyData'], "print one person's data as JSON (profile, tickets, comments, attachments); no id: your own")
    .argument('[id]', 'numeric id or company ID (System Admin); omit for your own data')
    .action(async (id: string | undefined) => {
      const f = factory();
      const res = id === undefined ? await f.client().call('get', '/api/employee/profile/export/') : await f.client().call('get', '/api/employees/{id}/export/', { path: { id } });
      f.out(JSON.stringify(res.data, null, 2));
    });
}
