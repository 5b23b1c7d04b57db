import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'update', 'updateEmployee', "change an account's role, department or names (System Admin)"))
    .argument('<id>', 'numeric id or company ID')
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--middle-name <name>', 'middle name ("" clears it)')
    .option('--suffix <suffix>', 'suffix ("" clears it)')
    .option('--department <department>', 'department')
    .option('--role <role>', 'role')
    .action(async (id: string, opts: { firstName?: string; lastName?: string; middleName?: string; suffix?: string; department?: string; role?: string; json?: boolean | string }) => {
      const f = factory();
      const body: Record<string, unknown> = {};
      if (opts.firstName !== undefined) body.first_name = opts.firstName;
      if (opts.lastName !== undefined) body.last_name = opts.lastName;
      if (opts.middleName !== undefined) body.middle_name = opts.middleName || null;
      if (opts.suffix !== undefined) body.suffix = opts.suffix || null;
      if (opts.department !== undefined) body.department = opts.department;
      if (opts.role !== undefined) body.role = opts.role;
      if (Object.keys(body).length === 0) throw usageError('nothing to change: pass at least one of --first-name, --last-name, --middle-name, --suffix, --department, --role');
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
      const res = await f.client().request<Record<string, unknown>>('PATCH', `/api/employees/${encodeURIComponent(id)}/`, { body });
      await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
    });
}
