import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';
import { FAQ_COLUMNS, collectTag, faqIdArg } from './columns.js';

export function registerUpdate(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'update', 'updateFaq', 'change an FAQ entry (System Admin)'))
    .argument('<id>', 'FAQ id')
    .option('--question <text>', 'new question')
    .option('--answer <text>', 'new answer')
    .option('--tag <tag>', 'replace the tags (repeatable, or comma-separated)', collectTag)
    .option('--no-tags', 'remove every tag')
    .action(async (id: string, opts: { question?: string; answer?: string; tag?: string[]; tags?: boolean; json?: boolean | string }) => {
      const body: Record<string, unknown> = {};
      if (opts.question !== undefined) body.question = opts.question;
      if (opts.answer !== undefined) body.answer = opts.answer;
      if (opts.tag !== undefined) body.tags = opts.tag;
      else if (opts.tags === false) body.tags = [];
      if (!Object.keys(body).length) throw usageError('nothing to change: pass --question, --answer, --tag or --no-tags');
      const f = factory();
      const { data } = await f.client().call('patch', '/api/faqs/{id}/', { path: { id: faqIdArg(id) }, body });
      await print(f, data, { json: opts.json, columns: FAQ_COLUMNS });
    });
}
