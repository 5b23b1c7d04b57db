import type { Command } from 'commander';
import { bodyFromFlags, CLEARABLE_NAME_FLAGS, defineVerb, NAME_FLAGS, withJson, withNameOptions } from '../command.js';
import { usageError } from '../errors.js';
import type { BodyOf } from '../../client/typed.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withNameOptions(withJson(defineVerb(noun, 'update', 'updateEmployee', "change an account's role, department or names (System Admin)")).argument('<id>', 'numeric id or company ID'))
    .option('--department <department>', 'department')
    .option('--role <role>', 'role')
    .action(async (id: string, opts: { firstName?: string; lastName?: string; middleName?: string; suffix?: string; department?: string; role?: string; json?: boolean | string }) => {
      const f = factory();
      const body = bodyFromFlags(opts, { ...NAME_FLAGS, department: 'department', role: 'role' } satisfies Record<string, keyof BodyOf<'/api/employees/{id}/', 'patch'>>, CLEARABLE_NAME_FLAGS);
      if (Object.keys(body).length === 0) throw usageError('nothing to change: pass at least one of --first-name, --last-name, --middle-name, --suffix, --department, --role');
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
      const res = await f.client().call('patch', '/api/employees/{id}/', { path: { id }, body });
      await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
    });
}
