import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { printTicket, ticketArg } from './shared.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'show', 'getTicket', 'show a ticket with its comments and attachments'))
    .argument('<ticket>', 'TX0042 or 42')
    .action(async (ticket: string, o) => {
      const f = factory();
      const res = await f.client().call('get', '/api/tickets/{id}/', { path: { id: ticketArg(ticket) } });
      await printTicket(f, res.data, o.json);
    });
}
