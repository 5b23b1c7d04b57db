/** `smartsupport employees register`: self-registration (no sign-in); the account waits for approval. */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

const DEPARTMENTS = ['IT Department', 'Asset Department', 'Budget Department'];

interface Opts {
  firstName?: string;
  lastName?: string;
  middleName?: string;
  suffix?: string;
  department?: string;
  email?: string;
  passwordStdin?: boolean;
  image?: string;
  json?: boolean | string;
}

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'register', ['registerEmployee', 'registerEmployeeForm'], 'register your own account (no sign-in needed); it stays Pending until a System Admin approves it'))
    .option('--first-name <name>', 'first name (prompted on a terminal)')
    .option('--last-name <name>', 'last name (prompted on a terminal)')
    .option('--middle-name <name>', 'middle name')
    .option('--suffix <suffix>', 'Jr., Sr., II … X')
    .option('--department <department>', '"IT Department", "Asset Department" or "Budget Department" (prompted on a terminal)')
    .option('--email <email>', 'email (prompted on a terminal)')
    .option('--password-stdin', 'read the password from stdin (first line); otherwise prompted twice on a terminal')
    .option('--image <file>', 'profile picture (JPEG, PNG or WebP, ≤ 5 MB), sent as multipart (registerEmployeeForm)')
    .action(async (o: Opts) => {
      const f = factory();
      const [{ print }, { EMPLOYEE_COLUMNS }, { usageError }] = await Promise.all([
        import('../output/print.js'),
        import('./columns.js'),
        import('../errors.js'),
      ]);
      const ask = async (flag: string, message: string, value: string | undefined) => value ?? (await (await f.prompter(flag)).input({ message, validate: (v) => v.trim() !== '' || 'required' }));
      // fail fast on every flag that is missing off a terminal before prompting for anything
      if (!f.interactive) {
        const missing = [['--first-name', o.firstName], ['--last-name', o.lastName], ['--department', o.department], ['--email', o.email], ['--password-stdin', o.passwordStdin]].filter(([, v]) => v === undefined).map(([k]) => k);
        if (missing.length) throw usageError(`${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required (no terminal to prompt on)`);
      }
      const first_name = await ask('--first-name', 'First name', o.firstName);
      const last_name = await ask('--last-name', 'Last name', o.lastName);
      const department = o.department ?? (await (await f.prompter('--department')).select({ message: 'Department', choices: DEPARTMENTS.map((d) => ({ name: d, value: d })) }));
      const email = await ask('--email', 'Email', o.email);
      let password: string;
      let confirm: string;
      if (o.passwordStdin) {
        password = confirm = (await f.stdinLines())[0] ?? '';
      } else {
        const p = await f.prompter('--password-stdin');
        password = await p.password({ message: 'Password (8–128 characters)', mask: '*' });
        confirm = await p.password({ message: 'Repeat the password', mask: '*' });
      }
      const fields: Record<string, string | undefined> = { first_name, last_name, middle_name: o.middleName, suffix: o.suffix, department, email, password, confirm_password: confirm };
      // no credentials: registration is anonymous, and a stale stored session must not ride along
      const client = f.clientWith({});
      let res;
      if (o.image) {
        const { buildUploadForm } = await import('../attachments/upload.js');
        const { form, done } = await buildUploadForm(f, 'image', [o.image], 'uploading');
        for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, v);
        try {
          res = await client.call('post', '/api/create_employee/form/', { form });
        } finally {
          done();
        }
      } else {
        res = await client.call('post', '/api/create_employee/', { body: JSON.parse(JSON.stringify(fields)) });
      }
      await print(f, res.data, { json: o.json, columns: EMPLOYEE_COLUMNS });
      if (o.json === undefined) f.err(`Registered ${String(res.data.company_id)}; the account is Pending until a System Admin approves it.`);
    });
}
