/** `smartsupport token refresh`: rotate the stored session now (the client also refreshes transparently on expiry). */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'refresh', 'refreshToken', 'rotate the profile\'s session now and store the new token pair (secrets are never printed)')).action(
    async (opts: { json?: boolean | string }) => {
      const f = factory();
      const { CliError, EXIT } = await import('../errors.js');
      const p = f.profile();
      if (!p.refreshToken) throw new CliError(`profile "${p.name}" has no session to refresh (env tokens and API keys cannot be refreshed): run \`smartsupport login\``, EXIT.auth);
      // a clean client: the (maybe expired) access token must not ride along
      const client = f.clientWith({});
      const res = await client.call('post', '/api/token/refresh/', { body: { refresh: p.refreshToken } });
      await f.saveProfile({ access_token: res.data.access, refresh_token: res.data.refresh });
      const summary = { profile: p.name, url: p.url, expires_in: res.data.expires_in };
      if (opts.json !== undefined) {
        const { print } = await import('../output/print.js');
        await print(f, summary, { json: opts.json, columns: [{ key: 'profile' }, { key: 'url' }, { key: 'expires_in' }] });
        return;
      }
      f.err(`Session of profile "${p.name}" refreshed; the new access token is valid for ${res.data.expires_in} s.`);
    },
  );
}
