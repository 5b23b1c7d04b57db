/**
 * `smartsupport login`: sign in and keep the tokens in the profile. `--json` prints the signed-in
 * account for scripts; the tokens themselves are never printed, only stored (0600).
 */
import type { Command } from 'commander';
import { tagOperations, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(tagOperations(noun, ['loginEmployee', 'loginAdmin']))
    .option('--email <email>', 'account email (prompted on a terminal)')
    .option('--password-stdin', 'read the password from stdin (first line)')
    .option('--admin', 'sign in through the staff portal (Ticket Coordinators and System Admins)')
    .action(async (opts: { email?: string; passwordStdin?: boolean; admin?: boolean; json?: boolean | string }) => {
      const f = factory();
      const email = opts.email ?? (await (await f.prompter('--email')).input({ message: 'Email', default: f.profile().email }));
      const password = opts.passwordStdin ? (await f.stdinLines())[0] : await (await f.prompter('--password-stdin')).password({ message: 'Password', mask: '*' });
      const url = f.profile().url;
      // a clean client: stale stored credentials must not ride along on the sign-in
      const client = f.clientWith({});
      const res = await client.call('post', `/api/token/${opts.admin ? 'admin' : 'employee'}/` as const, { body: { email, password } });
      await f.saveProfile({ url, email: res.data.user.email, access_token: res.data.access, refresh_token: res.data.refresh }, ['api_key']);
      const u = res.data.user;
      f.err(`Signed in to ${url} as ${u.first_name} ${u.last_name} <${u.email}> (${u.company_id}, ${u.role}).`);
      if (opts.json !== undefined) {
        const { print } = await import('../output/print.js');
        const { EMPLOYEE_COLUMNS } = await import('../employees/columns.js');
        await print(f, { ...u }, { json: opts.json, columns: EMPLOYEE_COLUMNS });
      }
    });
}
