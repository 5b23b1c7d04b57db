import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';
import { print } from '../output/print.js';
import { DELIVERY_COLUMNS } from './columns.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'redeliver', 'redeliverWorkflowDelivery', 'push the ticket of a delivery again (as a new event)'))
    .argument('<id>', 'delivery id')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const res = await f.client().call('post', '/api/workflow/deliveries/{id}/redeliver/', { path: { id } });
      await print(f, res.data, { json: opts.json, columns: DELIVERY_COLUMNS });
    });
}
