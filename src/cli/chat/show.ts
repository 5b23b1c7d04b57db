import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';

export function registerShow(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'show', 'getChatConversation', 'show one of your conversations'))
    .argument('<id>', 'conversation id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      // `chat` itself has --json (for one-shot answers) and parses it first: read it from there too
      const opts = cmd.optsWithGlobals<{ json?: boolean | string }>();
      if (!/^\d{1,15}$/.test(id)) throw usageError(`not a conversation id: ${id}`);
      const f = factory();
      const { data } = await f.client().call('get', '/api/chat/{conversation_id}/', { path: { conversation_id: id } });
      if (opts.json !== undefined && opts.json !== false) {
        f.out(JSON.stringify(data, null, 2));
        return;
      }
      f.out(`Conversation ${data.id}${data.ticket_number ? ` (escalated: ${data.ticket_number})` : ''}`);
      for (const m of data.messages) {
        f.out('');
        f.out(m.role === 'user' ? `You: ${m.content}` : `Assistant (${m.provider ?? 'faq'}): ${m.content}`);
        if (m.role === 'assistant' && m.sources.length) f.out(`  sources: ${m.sources.map((s) => `FAQ ${s}`).join(', ')}`);
      }
    });
}
