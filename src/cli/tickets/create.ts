import type { Command } from 'commander';
import { bodyFromFlags, defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { printTicket, TICKET_FIELD_FLAGS } from './shared.js';

const REQUIRED = ['subject', 'category', 'subCategory', 'description'] as const;

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'create', 'createTicket', 'create a ticket (prompts for the fields on a terminal)'))
    .option('--subject <text>', 'short summary')
    .option('--category <text>', 'category')
    .option('--sub-category <text>', 'sub-category')
    .option('--description <text>', 'what happened')
    .option('--scheduled-date <yyyy-mm-dd>', 'preferred date')
    .option('--priority <priority>', 'staff only')
    .option('--department <department>', 'staff only')
    .option('--employee-id <id>', 'staff/API keys: on behalf of this employee', (v) => Number(v))
    .action(async (o) => {
      const f = factory();
      const missing = REQUIRED.filter((k) => !o[k]);
      if (missing.length) {
        const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        const p = await f.prompter(missing.map(flag).join(', '));
        for (const k of missing) o[k] = await p.input({ message: `${k.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)}:`, validate: (v) => (v.trim() ? true : 'required') });
      }
      const body = bodyFromFlags(o, { ...TICKET_FIELD_FLAGS, employeeId: 'employee_id' });
      const res = await f.client().call('post', '/api/tickets/', { body });
      await printTicket(f, res.data, o.json);
    });
}
