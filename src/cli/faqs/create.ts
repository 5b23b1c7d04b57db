/**
 * `smartsupport faqs create --from-question "…"`: draft an FAQ entry from a question people asked
 * the chatbot (the `reports chat` output prints this command for each unanswered question group).
 * The answer comes from --answer or, on a terminal, a prompt.
 */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { FAQ_COLUMNS, collectTag } from './columns.js';

export function registerCreate(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'create', 'createFaq', 'create an FAQ entry from a chat question (System Admin; see `reports chat`)'))
    .requiredOption('--from-question <text>', 'the question as people asked it (becomes the FAQ question; edit it on a terminal)')
    .option('--answer <text>', 'the answer (prompted on a terminal)')
    .option('--tag <tag>', 'a tag (repeatable, or comma-separated; default: from-chat)', collectTag)
    .action(async (opts: { fromQuestion: string; answer?: string; tag?: string[]; json?: boolean | string }) => {
      const f = factory();
      const nonEmpty = (v: string) => (v.trim() ? true : 'required');
      let question = opts.fromQuestion.replace(/\s+/g, ' ').trim();
      if (!opts.answer) {
        const p = await f.prompter('--answer');
        question = await p.input({ message: 'Question:', default: question, validate: nonEmpty });
      }
      const answer = opts.answer ?? (await (await f.prompter('--answer')).input({ message: 'Answer:', validate: nonEmpty }));
      const { print } = await import('../output/print.js');
      const { data } = await f.client().call('post', '/api/faqs/', { body: { question, answer, tags: opts.tag ?? ['from-chat'] } });
      await print(f, data, { json: opts.json, columns: FAQ_COLUMNS });
    });
}
