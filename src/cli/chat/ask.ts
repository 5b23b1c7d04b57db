import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { tagOperations } from '../command.js';
import type { Factory } from '../factory.js';

export interface ChatReply {
  conversation_id: number;
  answer: string;
  sources: number[];
  source_faqs: { id: number; question: string }[];
  provider: 'llm' | 'faq';
}

function parseId(v: string): number {
  if (!/^\d{1,15}$/.test(v)) throw usageError(`not a conversation id: ${v}`);
  return Number(v);
}

function printReply(f: Factory, r: ChatReply): void {
  f.out(r.answer);
  if (r.source_faqs.length) {
    f.out('');
    f.out('Sources:');
    for (const s of r.source_faqs) f.out(`  FAQ ${s.id}: ${s.question}`);
  }
}

export function registerAsk(noun: Command, factory: () => Factory): void {
  // the noun itself calls postChatMessage (tagged like a verb for the CLI ↔ spec parity check)
  tagOperations(noun, ['postChatMessage']);
  noun
    .argument('[question...]', 'your question (omit on a terminal for an interactive session)')
    .option('-c, --conversation <id>', 'continue this conversation')
    .addHelpText('after', '\nExamples:\n  smartsupport chat "How do I reset my password?"\n  smartsupport chat             (interactive, on a terminal)\n  smartsupport chat show 12\n  smartsupport chat escalate 12\n')
    .action(async (words: string[], opts: { conversation?: string; json?: boolean | string }) => {
      const f = factory();
      let conversationId = opts.conversation !== undefined ? parseId(opts.conversation) : undefined;
      const ask = async (message: string): Promise<ChatReply> => {
        const res = await f.client().call('post', '/api/chat/', { body: { message, ...(conversationId ? { conversation_id: conversationId } : {}) } });
        conversationId = res.data.conversation_id;
        return res.data;
      };
      const question = words.join(' ').trim();
      if (question) {
        const r = await ask(question);
        if (opts.json !== undefined && opts.json !== false) {
          f.out(JSON.stringify(r, null, 2));
          return;
        }
        printReply(f, r);
        f.err(`\n(${r.provider === 'llm' ? 'answered by the assistant' : 'answered from the FAQs'} · conversation ${r.conversation_id}: continue with \`smartsupport chat -c ${r.conversation_id} "…"\`, get a person with \`smartsupport chat escalate ${r.conversation_id}\`)`);
        return;
      }
      if (!f.interactive) throw usageError('a question is required: smartsupport chat "your question" (no terminal for an interactive session)');
      const prompter = await f.prompter('a question');
      f.err('Ask the SmartSupport assistant. An empty line or Ctrl-D ends the session.');
      for (;;) {
        let line: string;
        try {
          line = await prompter.input({ message: 'You:' });
        } catch (err) {
          if ((err as Error)?.name === 'ExitPromptError' || (err as Error)?.name === 'AbortPromptError') break; // Ctrl-D / Ctrl-C
          throw err;
        }
        if (!line.trim()) break;
        const r = await ask(line.trim());
        printReply(f, r);
        f.out('');
      }
      if (conversationId) f.err(`conversation ${conversationId} · escalate to a person with \`smartsupport chat escalate ${conversationId}\``);
    });
}
