import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';
import { FAQ_COLUMNS, collectTag } from './columns.js';

export function registerAdd(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'add', 'createFaq', 'add an FAQ entry (System Admin)'))
    .option('--question <text>', 'the question (prompted on a terminal)')
    .option('--answer <text>', 'the answer (prompted on a terminal)')
    .option('--tag <tag>', 'a tag (repeatable, or comma-separated)', collectTag)
    .action(async (opts: { question?: string; answer?: string; tag?: string[]; json?: boolean | string }) => {
      const f = factory();
      const nonEmpty = (v: string) => (v.trim() ? true : 'required');
      const question = opts.question ?? (await (await f.prompter('--question')).input({ message: 'Question:', validate: nonEmpty }));
      const answer = opts.answer ?? (await (await f.prompter('--answer')).input({ message: 'Answer:', validate: nonEmpty }));
      const { data } = await f.client().call('post', '/api/faqs/', { body: { question, answer, tags: opts.tag ?? [] } });
      await print(f, data, { json: opts.json, columns: FAQ_COLUMNS });
    });
}
