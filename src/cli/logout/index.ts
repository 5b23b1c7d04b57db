/** `smartsupport logout`: revoke the session on the server and forget the tokens. */
import type { Command } from 'commander';
import { tagOperations } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  tagOperations(noun, ['logout']);
  noun.action(async () => {
    const f = factory();
    const p = f.profile();
    if (p.accessToken) {
      await f.client().call('post', '/api/token/logout/', { body: p.refreshToken ? { refresh: p.refreshToken } : undefined }).catch((err: { status?: number }) => {
        if (err.status !== 401) throw err; // already signed out on the server
      });
    }
    await f.saveProfile({}, ['access_token', 'refresh_token']);
    f.err('Signed out.');
  });
}
