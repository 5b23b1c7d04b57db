import type { Command } from 'commander';
import { bodyFromFlags, defineVerb, NAME_FLAGS, withJson } from '../command.js';
import type { BodyOf } from '../../client/typed.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'create', 'adminCreateEmployee', 'create an approved account (System Admin); emails a set-password link unless --password-stdin'))
    .requiredOption('--first-name <name>', 'first name')
    .requiredOption('--last-name <name>', 'last name')
    .option('--middle-name <name>', 'middle name')
    .option('--suffix <suffix>', 'Jr., Sr., II … X')
    .requiredOption('--department <department>', '"IT Department", "Asset Department" or "Budget Department"')
    .requiredOption('--email <email>', 'email')
    .option('--role <role>', 'Employee, "Ticket Coordinator" or "System Admin"', 'Employee')
    .option('--password-stdin', 'set the password now, read from stdin')
    .action(async (opts: { firstName: string; lastName: string; middleName?: string; suffix?: string; department: string; email: string; role: string; passwordStdin?: boolean; json?: boolean | string }) => {
      const f = factory();
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('./columns.js')]);
      const body = bodyFromFlags(opts, { ...NAME_FLAGS, department: 'department', email: 'email', role: 'role' } satisfies Record<string, keyof BodyOf<'/api/admin/create-employee/', 'post'>>);
      if (opts.passwordStdin) body.password = (await f.stdinLines())[0];
      const res = await f.client().call('post', '/api/admin/create-employee/', { body });
      await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
    });
}
