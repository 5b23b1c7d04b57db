import type { Command } from 'commander';
import { bodyFromFlags, defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { printTicket, ticketArg, TICKET_FIELD_FLAGS } from './shared.js';

/** `tickets replace`: PUT every editable field at once (fields not given are cleared or reset by the server). */
export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'replace', 'replaceTicket', 'replace all editable fields of a ticket (PUT); optional fields left out are cleared'))
    .argument('<ticket>', 'TX0042 or 42')
    .requiredOption('--subject <text>', 'short summary')
    .requiredOption('--category <text>', 'category')
    .requiredOption('--sub-category <text>', 'sub-category')
    .requiredOption('--description <text>', 'what happened')
    .option('--scheduled-date <yyyy-mm-dd>', 'preferred date')
    .option('--priority <priority>', 'staff only')
    .option('--department <department>', 'staff only')
    .option('--if-match <etag>', 'fail (exit 5) if the ticket changed since this ETag')
    .action(async (ticket: string, o) => {
      const f = factory();
      const body = bodyFromFlags(o, TICKET_FIELD_FLAGS);
      const res = await f.client().call('put', '/api/tickets/{id}/', { path: { id: ticketArg(ticket) }, body, headers: o.ifMatch ? { 'If-Match': o.ifMatch } : undefined });
      await printTicket(f, res.data, o.json);
    });
}
