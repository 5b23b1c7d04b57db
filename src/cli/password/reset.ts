import type { Command } from 'commander';
import { defineVerb } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'reset', 'resetPassword', 'set a new password with the token from a reset email')
    .option('--token <token>', 'the token from the link (prompted on a terminal)')
    .option('--password-stdin', 'read the new password from stdin')
    .action(async (opts: { token?: string; passwordStdin?: boolean }) => {
      const f = factory();
      const token = opts.token ?? (await (await f.prompter('--token')).input({ message: 'Reset token' }));
      let next: string;
      if (opts.passwordStdin) {
        next = (await f.stdinLines())[0];
      } else {
        const p = await f.prompter('--password-stdin');
        next = await p.password({ message: 'New password', mask: '*' });
        if ((await p.password({ message: 'New password again', mask: '*' })) !== next) throw usageError('the passwords do not match');
      }
      const client = f.clientWith({});
      await client.call('post', '/api/employee/reset-password/', { body: { token, new_password: next } });
      f.err('Password set; sign in with `smartsupport login`.');
    });
}
