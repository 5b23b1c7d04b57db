import type { Command } from 'commander';
import { defineVerb } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'forgot', 'forgotPassword', 'email a password reset link')
    .option('--email <email>', 'account email (prompted on a terminal)')
    .action(async (opts: { email?: string }) => {
      const f = factory();
      const email = opts.email ?? (await (await f.prompter('--email')).input({ message: 'Email' }));
      const client = f.clientWith({});
      const res = await client.call('post', '/api/employee/forgot-password/', { body: { email } });
      f.err(res.data.detail);
    });
}
