/**
 * `smartsupport profile notifications show|set`: which events email you.
 *   smartsupport profile notifications show
 *   smartsupport profile notifications set ticket_comments=off weekly_digest=on sla_warnings=default
 */
import type { Command } from 'commander';
import type { BodyOf } from '../../client/typed.js';
import { defineVerb, withJson } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';

type Update = BodyOf<'/api/employee/profile/notifications/', 'put'>;

const VALUES: Record<string, boolean | null> = { on: true, true: true, yes: true, off: false, false: false, no: false, default: null };

const COLUMNS = [
  { key: 'key' },
  { key: 'enabled', format: (v: unknown) => (v ? 'on' : 'off') },
  { key: 'default', format: (v: unknown) => (v ? 'on' : 'off') },
  { key: 'customized', header: 'chosen', format: (v: unknown, r: Record<string, unknown>) => (r.locked ? 'locked' : v ? 'yes' : '') },
  { key: 'description' },
];

/** `key=on|off|default` pairs → the PUT body. */
export function parseAssignments(pairs: string[]): Update {
  if (!pairs.length) throw usageError('nothing to change: pass KEY=on|off|default (see `smartsupport profile notifications show`)');
  const body: Record<string, boolean | null> = {};
  for (const pair of pairs) {
    const m = /^([a-z_]+)=(\w+)$/.exec(pair.trim());
    const v = m ? VALUES[m[2]!.toLowerCase()] : undefined;
    if (!m || v === undefined) throw usageError(`"${pair}" is not KEY=on|off|default`);
    body[m[1]!] = v;
  }
  return body as Update;
}

export function registerNotifications(noun: Command, factory: () => Factory): void {
  const group = noun.command('notifications').description('which events email you: show, set');
  withJson(defineVerb(group, 'show', 'getNotificationPreferences', 'show which events email you (security mails cannot be turned off)')).action(async (opts: { json?: boolean | string }) => {
    const f = factory();
    const { print } = await import('../output/print.js');
    const res = await f.client().call('get', '/api/employee/profile/notifications/');
    await print(f, res.data.data, { json: opts.json, columns: COLUMNS });
  });
  withJson(defineVerb(group, 'set', 'updateNotificationPreferences', 'turn emails on or off: KEY=on|off|default …'))
    .argument('<assignments...>', 'KEY=on, KEY=off or KEY=default (back to the default), e.g. ticket_comments=off weekly_digest=on')
    .action(async (pairs: string[], opts: { json?: boolean | string }) => {
      const f = factory();
      const body = parseAssignments(pairs);
      const { print } = await import('../output/print.js');
      const res = await f.client().call('put', '/api/employee/profile/notifications/', { body });
      await print(f, res.data.data, { json: opts.json, columns: COLUMNS });
    });
}
