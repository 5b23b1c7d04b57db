/** `smartsupport whoami`: the signed-in account. */
import type { Command } from 'commander';
import { tagOperations, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  tagOperations(noun, ['getProfile']);
  withJson(noun).action(async (opts: { json?: boolean | string }) => {
    const f = factory();
    const { print } = await import('../output/print.js');
    const { EMPLOYEE_COLUMNS } = await import('../employees/columns.js');
    const res = await f.client().call('get', '/api/employee/profile/');
    await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
  });
}
