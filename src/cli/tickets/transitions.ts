/** The transition verbs: approve, reject, claim, status, finalize, withdraw, close. */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';
import { printTicket, ticketArg } from './shared.js';

type BodyOf = (o: Record<string, string | undefined>, args: string[]) => Record<string, unknown> | undefined;

/** `show`: how to print the answer (default: the ticket). */
function verb(noun: Command, factory: () => Factory, name: string, op: string, action: 'approve' | 'reject' | 'claim' | 'update-status' | 'finalize' | 'withdraw' | 'close', description: string, body: BodyOf, setup: (c: Command) => Command = (c) => c, extraArgs: string[] = [], show: (f: Factory, data: unknown, json: boolean | string | undefined) => Promise<void> = printTicket) {
  let c = withJson(defineVerb(noun, name, op, description)).argument('<ticket>', 'TX0042 or 42');
  for (const a of extraArgs) c = c.argument(`<${a}>`);
  setup(c.option('--if-match <etag>', 'fail (exit 5) if the ticket changed since this ETag')).action(async (ticket: string, ...rest: unknown[]) => {
    const o = rest[extraArgs.length] as Record<string, string | undefined>;
    const f = factory();
    const res = await f.client().call('post', `/api/tickets/{id}/${action}/` as const, { path: { id: ticketArg(ticket) }, body: body(o, rest.slice(0, extraArgs.length) as string[]), headers: o.ifMatch ? { 'If-Match': o.ifMatch } : undefined });
    await show(f, res.data, o.json);
  });
}

const withComment = (c: Command) => c.option('-m, --comment <text>', 'a note for the owner');
const note = (o: Record<string, string | undefined>) => (o.comment ? { comment: o.comment } : undefined);

export function registerTransitions(noun: Command, factory: () => Factory): void {
  verb(noun, factory, 'approve', 'approveTicket', 'approve', 'approve a New ticket (needs --priority and --department)', (o) => ({ priority: o.priority, department: o.department, ...note(o) }), (c) =>
    withComment(c.requiredOption('--priority <priority>', 'Critical, High, Medium or Low').requiredOption('--department <department>', 'IT Department, Asset Department or Budget Department')),
  );
  verb(noun, factory, 'reject', 'rejectTicket', 'reject', 'reject a New ticket', (o) => ({ rejection_reason: o.reason }), (c) => c.requiredOption('--reason <text>', 'why'));
  verb(noun, factory, 'claim', 'claimTicket', 'claim', 'claim an Open ticket (assigns it to you)', () => undefined);
  verb(noun, factory, 'status', 'updateTicketStatus', 'update-status', 'move a ticket to another status', (o, [status]) => ({ status, ...note(o) }), withComment, ['status']);
  // finalize answers with the queued delivery, not the ticket
  const showDelivery = (f: Factory, data: unknown, json: boolean | string | undefined) => print(f, data as Record<string, unknown>, { json, columns: [{ key: 'id' }, { key: 'event_id' }, { key: 'reason' }, { key: 'status' }] });
  verb(noun, factory, 'finalize', 'finalizeTicket', 'finalize', 'send the ticket to the workflow system again', () => undefined, undefined, undefined, showDelivery);
  verb(noun, factory, 'withdraw', 'withdrawTicket', 'withdraw', 'withdraw your ticket', note, withComment);
  verb(noun, factory, 'close', 'closeTicket', 'close', 'close your resolved ticket', note, withComment);
}
