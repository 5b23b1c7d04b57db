import type { Command } from 'commander';
import { defineVerb } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  defineVerb(noun, 'change', 'changePassword', 'change your password (signs out your other sessions)')
    .option('--password-stdin', 'read the current password and the new one from stdin (two lines)')
    .option('--stdin', 'same as --password-stdin')
    .action(async (opts: { stdin?: boolean; passwordStdin?: boolean }) => {
      const f = factory();
      let current: string;
      let next: string;
      if (opts.stdin || opts.passwordStdin) {
        [current, next] = await f.stdinLines();
        if (!current || !next) throw usageError('--password-stdin expects two lines: the current password, then the new one');
      } else {
        const p = await f.prompter('--password-stdin');
        current = await p.password({ message: 'Current password', mask: '*' });
        next = await p.password({ message: 'New password', mask: '*' });
        if ((await p.password({ message: 'New password again', mask: '*' })) !== next) throw usageError('the new passwords do not match');
      }
      await f.client().call('post', '/api/employee/change-password/', { body: { current_password: current, new_password: next } });
      f.err('Password changed; your other sessions were signed out.');
    });
}
