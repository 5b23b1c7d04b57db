/** `smartsupport announcements list|create|archive` — system announcements (posting: System Admin). */
import type { Command } from 'commander';
import { defineVerb, withJson, withPaging } from '../command.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { fetchList, hintMore, type ListFlags } from '../output/list.js';
import { print, type Column } from '../output/print.js';

const COLUMNS: Column[] = [{ key: 'id' }, { key: 'title' }, { key: 'audience' }, { key: 'department' }, { key: 'role' }, { key: 'created_at', header: 'posted' }, { key: 'archived_at', header: 'archived' }];
const DEPARTMENTS = ['IT Department', 'Asset Department', 'Budget Department'] as const;
const ROLES = ['Employee', 'Ticket Coordinator', 'System Admin'] as const;

export function register(noun: Command, factory: () => Factory): void {
  withPaging(withJson(defineVerb(noun, 'list', 'listAnnouncements', 'the announcements meant for you (admins: all)')))
    .option('--archived', 'include archived ones (System Admin)')
    .action(async (opts: ListFlags & { archived?: boolean; json?: boolean | string }) => {
      const f = factory();
      const page = await fetchList(f, '/api/announcements/', { query: { include_archived: opts.archived ? true : undefined } }, opts);
      await print(f, page.data, { json: opts.json, columns: [...COLUMNS.slice(0, 2), { key: 'body' }, ...COLUMNS.slice(2)] });
      hintMore(f, page, opts);
    });
  withJson(defineVerb(noun, 'create', 'createAnnouncement', 'post an announcement (System Admin)'))
    .requiredOption('--title <text>', 'the title')
    .requiredOption('--body <text>', 'the text')
    .option('--department <name>', `only this department (${DEPARTMENTS.join(', ')})`)
    .option('--role <role>', `only this role (${ROLES.join(', ')})`)
    .option('--email', 'also email everyone in the audience')
    .action(async (opts: { title: string; body: string; department?: string; role?: string; email?: boolean; json?: boolean | string }) => {
      const f = factory();
      if (opts.department && opts.role) throw usageError('give --department or --role, not both');
      if (opts.department && !(DEPARTMENTS as readonly string[]).includes(opts.department)) throw usageError(`--department must be one of ${DEPARTMENTS.join(', ')}`);
      if (opts.role && !(ROLES as readonly string[]).includes(opts.role)) throw usageError(`--role must be one of ${ROLES.join(', ')}`);
      const audience = opts.department ? 'department' : opts.role ? 'role' : 'everyone';
      const { data } = await f.client().call('post', '/api/announcements/', {
        body: {
          title: opts.title,
          body: opts.body,
          audience,
          ...(opts.department ? { department: opts.department as (typeof DEPARTMENTS)[number] } : {}),
          ...(opts.role ? { role: opts.role as (typeof ROLES)[number] } : {}),
          send_email: Boolean(opts.email),
        },
      });
      await print(f, data, { json: opts.json, columns: COLUMNS });
    });
  withJson(defineVerb(noun, 'archive', 'archiveAnnouncement', 'archive an announcement (System Admin)'))
    .argument('<id>', 'announcement id')
    .action(async (id: string, opts: { json?: boolean | string }) => {
      const f = factory();
      if (!/^\d{1,15}$/.test(id)) throw usageError(`not an announcement id: ${id}`);
      const { data } = await f.client().call('post', '/api/announcements/{id}/archive/', { path: { id } });
      await print(f, data, { json: opts.json, columns: COLUMNS });
    });
}
