import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';

export function registerEscalate(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'escalate', 'escalateChatConversation', 'turn a conversation into a support ticket (repeat: the same ticket)'))
    .argument('<id>', 'conversation id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      // `chat` itself has --json (for one-shot answers) and parses it first: read it from there too
      const opts = cmd.optsWithGlobals<{ json?: boolean | string }>();
      if (!/^\d{1,15}$/.test(id)) throw usageError(`not a conversation id: ${id}`);
      const f = factory();
      const res = await f.client().call('post', '/api/chat/{conversation_id}/escalate/', { path: { conversation_id: id } });
      await print(f, res.data, {
        json: opts.json,
        columns: [{ key: 'ticket_number', header: 'ticket' }, { key: 'subject' }, { key: 'status' }, { key: 'submit_date', header: 'submitted' }],
      });
      if (opts.json === undefined || opts.json === false) f.err(res.status === 201 ? `created ticket ${String(res.data.ticket_number)}` : `already escalated: ticket ${String(res.data.ticket_number)}`);
    });
}
