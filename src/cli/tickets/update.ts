import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { bodyFromFlags, defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { printTicket, ticketArg, TICKET_FIELD_FLAGS } from './shared.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'update', 'updateTicket', 'change some fields of a ticket (PATCH)'))
    .argument('<ticket>', 'TX0042 or 42')
    .option('--subject <text>')
    .option('--category <text>')
    .option('--sub-category <text>')
    .option('--description <text>')
    .option('--scheduled-date <yyyy-mm-dd>', '"" clears it')
    .option('--priority <priority>', 'staff only')
    .option('--department <department>', 'staff only')
    .option('--if-match <etag>', 'fail (exit 5) if the ticket changed since this ETag')
    .action(async (ticket: string, o) => {
      const f = factory();
      const body = bodyFromFlags(o, TICKET_FIELD_FLAGS, ['scheduledDate']);
      if (!Object.keys(body).length) throw usageError('nothing to change: pass at least one field flag');
      const res = await f.client().call('patch', '/api/tickets/{id}/', { path: { id: ticketArg(ticket) }, body, headers: o.ifMatch ? { 'If-Match': o.ifMatch } : undefined });
      await printTicket(f, res.data, o.json);
    });
}
