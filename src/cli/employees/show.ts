import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'show', 'getEmployee', 'show an account by id or company ID'))
    .argument('<id>', 'numeric id or company ID (MA0007)')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
      const res = await f.client().call('get', '/api/employees/{id}/', { path: { id } });
      await print(f, res.data, { json: opts.json, columns: [...EMPLOYEE_COLUMNS, { key: 'date_created', header: 'CREATED' }, { key: 'last_login_at', header: 'LAST LOGIN' }] });
    });
}
