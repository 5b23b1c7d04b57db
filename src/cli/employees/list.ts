import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listEmployees', 'list accounts (staff)')))
    .option('--status <status>', 'Pending, Approved or Rejected')
    .option('--role <role>', 'Employee, "Ticket Coordinator" or "System Admin"')
    .option('--department <department>', 'e.g. "IT Department"')
    .option('-q, --query <text>', 'search names, email and company ID')
    .action(async (opts: { status?: string; role?: string; department?: string; query?: string; json?: boolean | string; limit?: number; cursor?: string; all?: boolean }) => {
      const f = factory();
      const [{ fetchList, hintMore }, { print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/list.js'), import('../output/print.js'), import('./columns.js')]);
      const page = await fetchList(f, '/api/employees/', { query: { status: opts.status, role: opts.role, department: opts.department, q: opts.query } }, opts);
      await print(f, page.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
      hintMore(f, page, opts);
    });
}
