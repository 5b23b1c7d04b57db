import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'list', 'listJobQueues', 'queue sizes (queued, active, failed, dead-lettered) and recent failures'))
    .option('--failed', 'list the recent failed and dead-lettered jobs instead of the queue sizes')
    .action(async (opts: { json?: boolean | string; failed?: boolean }) => {
      const f = factory();
      const res = await f.client().call('get', '/api/admin/jobs/');
      if (opts.failed) {
        await print(f, res.data.recent_failed, {
          json: opts.json,
          columns: [{ key: 'id' }, { key: 'queue' }, { key: 'state' }, { key: 'created_on' }, { key: 'error' }],
        });
        return;
      }
      await print(f, res.data.queues, {
        json: opts.json,
        columns: [{ key: 'name', header: 'queue' }, { key: 'queued' }, { key: 'active' }, { key: 'failed' }, { key: 'dead_lettered', header: 'dead-lettered' }],
      });
    });
}
