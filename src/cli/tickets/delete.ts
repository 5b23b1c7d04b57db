import type { Command } from 'commander';
import { confirmOrStop, defineVerb, withJson, withYes } from '../command.js';
import type { Factory } from '../factory.js';
import { ticketArg } from './shared.js';

export function register(noun: Command, factory: () => Factory): void {
  withYes(withJson(defineVerb(noun, 'delete', 'deleteTicket', 'delete a ticket and its files (asks first; --yes to skip)')))
    .argument('<ticket>', 'TX0042 or 42')
    .action(async (ticket: string, o) => {
      const f = factory();
      const id = ticketArg(ticket);
      await confirmOrStop(f, o.yes, `Delete ticket ${id} and its files?`);
      await f.client().call('delete', '/api/tickets/{id}/', { path: { id } });
      if (o.json !== undefined) f.out(JSON.stringify({ deleted: ticketArg(ticket) }, null, 2));
      else f.err(`deleted ${ticketArg(ticket)}`);
    });
}
