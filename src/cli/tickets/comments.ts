/** `tickets comment`, `tickets comments`, `tickets history`. */
import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore } from '../output/list.js';
import { print } from '../output/print.js';
import { ticketArg } from './shared.js';

const author = (v: unknown) => (v && typeof v === 'object' ? `${(v as { first_name: string }).first_name} ${(v as { last_name: string }).last_name}` : '');

export function registerComments(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'comment', 'createTicketComment', 'comment on a ticket'))
    .argument('<ticket>', 'TX0042 or 42')
    .argument('<text>', 'the comment')
    .option('--internal', 'staff only: hidden from the employee')
    .action(async (ticket: string, text: string, o) => {
      const f = factory();
      const res = await f.client().call('post', '/api/tickets/{id}/comments/', { path: { id: ticketArg(ticket) }, body: { comment: text, is_internal: Boolean(o.internal) } });
      await print(f, res.data, { json: o.json, columns: [{ key: 'id' }, { key: 'is_internal', header: 'internal' }, { key: 'comment' }] });
    });
  withPaging(withJson(defineVerb(noun, 'comments', 'listTicketComments', "list a ticket's comments")))
    .argument('<ticket>', 'TX0042 or 42')
    .action(async (ticket: string, o) => {
      const f = factory();
      const page = await fetchList(f, '/api/tickets/{id}/comments/', { path: { id: ticketArg(ticket) } }, o);
      await print(f, page.data, { json: o.json, columns: [{ key: 'created_at', header: 'when' }, { key: 'author', format: author }, { key: 'is_internal', header: 'internal' }, { key: 'comment' }] });
      hintMore(f, page, o);
    });
  withPaging(withJson(defineVerb(noun, 'history', 'listTicketHistory', "show a ticket's history")))
    .argument('<ticket>', 'TX0042 or 42')
    .action(async (ticket: string, o) => {
      const f = factory();
      const page = await fetchList(f, '/api/tickets/{id}/history/', { path: { id: ticketArg(ticket) } }, o);
      await print(f, page.data, {
        json: o.json,
        columns: [{ key: 'created_at', header: 'when' }, { key: 'actor', format: (v) => (v as { name: string | null; kind: string }).name ?? (v as { kind: string }).kind }, { key: 'event' }, { key: 'field' }, { key: 'from_value', header: 'from' }, { key: 'to_value', header: 'to' }],
      });
      hintMore(f, page, o);
    });
}
