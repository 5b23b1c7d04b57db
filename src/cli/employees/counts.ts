import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'counts', 'getEmployeeCounts', 'accounts by status (staff)')).action(async (opts: { json?: boolean | string }) => {
    const f = factory();
    const { print } = await import('../output/print.js');
    const res = await f.client().call('get', '/api/admin/rejected-users-count/');
    if (opts.json !== undefined && opts.json !== false) {
      await print(f, res.data as unknown as Record<string, unknown>, { json: opts.json, columns: [{ key: 'count' }, { key: 'by_status' }] });
      return;
    }
    await print(f, res.data.by_status, { columns: Object.keys(res.data.by_status).map((k) => ({ key: k, header: k.toUpperCase() })) });
  });
}
