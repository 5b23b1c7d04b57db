import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';
import { printList } from '../output/list.js';
import { TICKET_COLUMNS, filterQuery, withFilters } from './shared.js';

/** `tickets list` and the shortcuts `new`, `open`, `mine`. */
export function registerLists(noun: Command, factory: () => Factory): void {
  const list = withFilters(withPaging(withJson(defineVerb(noun, 'list', 'listTickets', 'list tickets (yours, or all for staff) with filters'))));
  list.action(async (o) => {
    const f = factory();
    await printList(f, '/api/tickets/', { query: filterQuery(o) }, o, { json: o.json, columns: TICKET_COLUMNS });
  });
  const views: [string, string, '/api/tickets/new/' | '/api/tickets/open/' | '/api/tickets/my-tickets/', string][] = [
    ['new', 'listNewTickets', '/api/tickets/new/', 'tickets waiting for approval (staff)'],
    ['open', 'listOpenTickets', '/api/tickets/open/', 'approved, unclaimed tickets (staff)'],
    ['mine', 'listMyTickets', '/api/tickets/my-tickets/', 'tickets assigned to me and not finished (staff)'],
  ];
  for (const [name, op, path, description] of views) {
    withPaging(withJson(defineVerb(noun, name, op, description)))
      .option('--order <order>', '-submit_date (newest first) or submit_date')
      .action(async (o) => {
        const f = factory();
        await printList(f, path, { query: { order: o.order } }, o, { json: o.json, columns: TICKET_COLUMNS });
      });
  }
}
