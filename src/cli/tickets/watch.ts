/** `smartsupport tickets watch TX0042`: print each change of one ticket as it happens, until it is Closed. */
import type { Command } from 'commander';
import { defineVerb } from '../command.js';
import { eventLine, follow } from '../events/follow.js';
import type { Factory } from '../factory.js';

const FINAL = new Set(['Closed']);

export function register(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'watch', ['getTicket', 'streamEvents'], 'show each change of a ticket as it happens, until it is Closed (Ctrl-C to stop)')
    .argument('<id>', 'ticket number (TX0042) or id')
    .option('--json', 'one JSON event per line (NDJSON)')
    .action(async (id: string, opts: { json?: boolean }) => {
      const f = factory();
      const ticket = (await f.client().call('get', '/api/tickets/{id}/', { path: { id } })).data as { ticket_number: string; status: string; subject: string };
      if (!opts.json) f.err(`${ticket.ticket_number} "${ticket.subject}" is ${ticket.status}; watching for changes…`);
      if (FINAL.has(ticket.status)) return;
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      try {
        await follow(f, {
          query: { object: ticket.ticket_number },
          signal: ac.signal,
          onEvent: (e) => {
            f.out(opts.json ? JSON.stringify(e) : eventLine(e));
            if (e.type === 'ticket.deleted') return true;
            return e.type === 'ticket.status_changed' && FINAL.has(String(e.data.to));
          },
        });
      } finally {
        process.off('SIGINT', stop);
      }
    });
}
