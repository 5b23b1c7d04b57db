import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { ticketArg, ticketPath } from './shared.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'delete', 'deleteTicket', 'delete a ticket and its files (asks first; --yes to skip)'))
    .argument('<ticket>', 'TX0042 or 42')
    .option('-y, --yes', 'do not ask for confirmation (required off a terminal)')
    .action(async (ticket: string, o) => {
      const f = factory();
      const path = ticketPath(ticket);
      if (!o.yes) {
        if (!f.interactive) throw usageError('--yes is required to delete without a terminal');
        const p = await f.prompter('--yes');
        if (!(await p.confirm({ message: `Delete ticket ${ticketArg(ticket)} and its files?`, default: false }))) {
          f.err('cancelled');
          return;
        }
      }
      await f.client().request('DELETE', path);
      if (o.json) f.out(JSON.stringify({ deleted: ticketArg(ticket) }));
      else f.err(`deleted ${ticketArg(ticket)}`);
    });
}
