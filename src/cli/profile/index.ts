/** `smartsupport profile show|update|upload-image|notifications`: your own account. */
import type { Command } from 'commander';
import { bodyFromFlags, CLEARABLE_NAME_FLAGS, defineVerb, NAME_FLAGS, withJson, withNameOptions } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { registerNotifications } from './notifications.js';
import { registerUploadImage } from './upload-image.js';

export function register(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'show', 'getProfile', 'show your account')).action(async (opts: { json?: boolean | string }) => {
    const f = factory();
    const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('../employees/columns.js')]);
    const res = await f.client().call('get', '/api/employee/profile/');
    await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
  });
  withNameOptions(withJson(defineVerb(noun, 'update', 'updateProfile', 'change your names or suffix')))
    .action(async (opts: { firstName?: string; lastName?: string; middleName?: string; suffix?: string; json?: boolean | string }) => {
      const f = factory();
      const body = bodyFromFlags(opts, NAME_FLAGS, CLEARABLE_NAME_FLAGS);
      if (Object.keys(body).length === 0) throw usageError('nothing to change: pass --first-name, --last-name, --middle-name or --suffix');
      const [{ print }, { EMPLOYEE_COLUMNS }] = await Promise.all([import('../output/print.js'), import('../employees/columns.js')]);
      const res = await f.client().call('patch', '/api/employee/profile/', { body });
      await print(f, res.data, { json: opts.json, columns: EMPLOYEE_COLUMNS });
    });
  registerUploadImage(noun, factory);
  registerNotifications(noun, factory);
}
