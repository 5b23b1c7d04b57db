import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'rejected', 'listRejectedEmployees', 'the rejection audit (System Admin)'))).action(
    async (opts: { json?: boolean | string; limit?: number; cursor?: string; all?: boolean }) => {
      const f = factory();
      const [{ fetchList, hintMore }, { print }] = await Promise.all([import('../output/list.js'), import('../output/print.js')]);
      const page = await fetchList(f, '/api/rejected-employees/', {}, opts);
      await print(f, page.data, {
        json: opts.json,
        columns: [
          { key: 'company_id', header: 'ID' },
          { key: 'first_name', header: 'NAME', format: (_v, r) => `${r.first_name} ${r.last_name}` },
          { key: 'email', header: 'EMAIL' },
          { key: 'reason', header: 'REASON' },
          { key: 'rejected_by_name', header: 'BY' },
          { key: 'rejected_at', header: 'WHEN' },
        ],
      });
      hintMore(f, page, opts);
    },
  );
}
