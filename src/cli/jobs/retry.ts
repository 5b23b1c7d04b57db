import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'retry', 'retryJob', 'retry a failed job, or move a dead-lettered one back to its queue'))
    .argument('<queue>', 'queue holding the job, e.g. email.send or email.send.dead')
    .argument('<id>', 'job id (from `jobs list --failed`)')
    .action(async (queue: string, id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const res = await f.client().call('post', '/api/admin/jobs/{queue}/{id}/retry/', { path: { queue, id } });
      await print(f, res.data, { json: opts.json, columns: [{ key: 'id' }, { key: 'queue' }, { key: 'state' }] });
    });
}
