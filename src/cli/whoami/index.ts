/** `smartsupport whoami`: the signed-in account. */
import type { Command } from 'commander';
import { withJson } from '../command.js';
import type { Factory } from '../factory.js';

const OPS = Symbol.for('smartsupport.operationIds');

export function register(noun: Command, factory: () => Factory): void {
  (noun as unknown as Record<symbol, string[]>)[OPS] = ['getProfile'];
  withJson(noun).action(async (opts: { json?: boolean | string }) => {
    const f = factory();
    const { print } = await import('../output/print.js');
    const { EMPLOYEE_COLUMNS } = await import('../employees/columns.js');
    const res = await f.client().request<Record<string, unknown>>('GET', '/api/employee/profile/');
    await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
  });
}
