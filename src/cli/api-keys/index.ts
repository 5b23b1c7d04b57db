/** `smartsupport api-keys list|create|revoke` (System Admin). */
import type { Command } from 'commander';
import { confirmOrStop, defineVerb, withJson, withPaging, withYes } from '../command.js';
import type { Factory } from '../factory.js';

const COLUMNS = [
  { key: 'id', header: 'ID' },
  { key: 'name', header: 'NAME' },
  { key: 'prefix', header: 'PREFIX' },
  { key: 'role', header: 'ROLE' },
  { key: 'scopes', header: 'SCOPES' },
  { key: 'expires_at', header: 'EXPIRES' },
  { key: 'last_used_at', header: 'LAST USED' },
  { key: 'revoked_at', header: 'REVOKED' },
];

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listApiKeys', 'list API keys (never their secrets)')))
    .option('--include-revoked', 'also list revoked keys')
    .action(async (opts: { includeRevoked?: boolean; json?: boolean | string; limit?: number; cursor?: string; all?: boolean }) => {
      const f = factory();
      const [{ fetchList, hintMore }, { print }] = await Promise.all([import('../output/list.js'), import('../output/print.js')]);
      const page = await fetchList(f, '/api/admin/api-keys/', { query: { include_revoked: opts.includeRevoked ? true : undefined } }, opts);
      await print(f, page.data, { json: opts.json, columns: COLUMNS });
      hintMore(f, page, opts);
    });
  withJson(defineVerb(noun, 'create', 'createApiKey', 'create an API key; its secret is printed once'))
    .requiredOption('--name <name>', 'what it is for')
    .option('--role <role>', 'the role it acts with', 'Employee')
    .option('--scope <scope>', 'a scope it may use (repeatable), e.g. tickets:read', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--expires-at <iso>', 'expiry, ISO 8601 (e.g. 2027-01-01T00:00:00Z)')
    .action(async (opts: { name: string; role: string; scope: string[]; expiresAt?: string; json?: boolean | string }) => {
      const f = factory();
      const { print } = await import('../output/print.js');
      const res = await f.client().call('post', '/api/admin/api-keys/', { body: { name: opts.name, role: opts.role, scopes: opts.scope, ...(opts.expiresAt ? { expires_at: opts.expiresAt } : {}) } });
      if (opts.json !== undefined && opts.json !== false) {
        await print(f, res.data, { json: opts.json, columns: [...COLUMNS, { key: 'key', header: 'KEY' }] });
        return;
      }
      f.out(String(res.data.key));
      f.err(`Created API key ${res.data.id} (${res.data.prefix}…). The secret above is shown only once; store it now.`);
    });
  withYes(withJson(defineVerb(noun, 'revoke', 'revokeApiKey', 'revoke an API key (asks first; --yes to skip)')))
    .argument('<id>', 'the key id')
    .action(async (id: string, opts: { yes?: boolean; json?: boolean | string }) => {
      const f = factory();
      await confirmOrStop(f, opts.yes, `Revoke API key ${id}? Scripts using it stop working at once.`);
      await f.client().call('delete', '/api/admin/api-keys/{id}/', { path: { id } });
      if (opts.json !== undefined) f.out(JSON.stringify({ revoked: Number(id) }, null, 2));
      else f.err(`Revoked API key ${id}.`);
    });
}
