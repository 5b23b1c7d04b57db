/**
 * System announcements: a System Admin posts one for everyone, a department or a role
 * (optionally emailed, by the `announcement.send` job); every signed-in person lists the active
 * ones meant for them. Admins see all, archived ones too with `include_archived`.
 */
import { answerInTransaction, type Answer } from '../../http/idempotency.js';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import type { Feature, RouteTable } from '../../app/feature.js';
import { isAdmin } from '../../http/auth.js';
import { notFound, unprocessable } from '../../http/errors.js';
import { paginate } from '../../http/pagination.js';
import { QUEUES } from '../../jobs/queues.js';
import { emitEmailEvent } from '../email/events-bridge.js';
import { actorOf } from '../events/events.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import { wantsEmailMany } from '../notifications/preferences.js';

const COLUMNS = ['a.id', 'a.title', 'a.body', 'a.audience', 'a.department', 'a.role', 'a.send_email', 'a.emailed_count', 'a.created_at', 'a.archived_at', 'e.company_id as created_by'];

const iso = (v: unknown) => (v ? (v as Date).toISOString() : null);

export const presentAnnouncement = (r: Record<string, unknown>) => ({
  id: Number(r.id),
  title: r.title,
  body: r.body,
  audience: r.audience,
  department: r.department ?? null,
  role: r.role ?? null,
  send_email: Boolean(r.send_email),
  emailed_count: r.emailed_count === null || r.emailed_count === undefined ? null : Number(r.emailed_count),
  created_by: r.created_by ?? null,
  created_at: iso(r.created_at),
  archived_at: iso(r.archived_at),
});

const base = (db: Knex | Knex.Transaction) => db({ a: 'announcements' }).leftJoin({ e: 'employees' }, 'e.id', 'a.created_by');

function idOf(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw notFound('announcement');
  return Number(raw);
}

function routes(app: AppContext): RouteTable {
  return {
    async listAnnouncements(ctx) {
      const q = ctx.state.input.query as { include_archived?: boolean; limit?: number; cursor?: string };
      const p = ctx.state.principal!;
      const qb = base(app.db).select(COLUMNS);
      if (!isAdmin(p) || !q.include_archived) qb.whereNull('a.archived_at');
      if (!isAdmin(p)) {
        const me = p.employeeId ? await app.db('employees').where({ id: p.employeeId }).first('department', 'role') : undefined;
        qb.where((w) => {
          w.where('a.audience', 'everyone');
          if (me) w.orWhere((x) => x.where('a.audience', 'department').where('a.department', me.department)).orWhere((x) => x.where('a.audience', 'role').where('a.role', me.role));
          else w.orWhere((x) => x.where('a.audience', 'role').where('a.role', p.role));
        });
      }
      const page = await paginate(qb, { limit: q.limit, cursor: q.cursor, keys: [{ column: 'a.id', prop: 'id' }] });
      ctx.body = { data: page.data.map(presentAnnouncement), next_cursor: page.next_cursor };
    },
    async createAnnouncement(ctx) {
      const b = ctx.state.input.body as { title: string; body: string; audience: 'everyone' | 'department' | 'role'; department?: string; role?: string; send_email?: boolean };
      const errors = [];
      if (b.audience === 'department' && !b.department) errors.push({ field: 'department', message: 'is required for audience "department"' });
      if (b.audience === 'role' && !b.role) errors.push({ field: 'role', message: 'is required for audience "role"' });
      if (b.audience !== 'department' && b.department) errors.push({ field: 'department', message: 'is only for audience "department"' });
      if (b.audience !== 'role' && b.role) errors.push({ field: 'role', message: 'is only for audience "role"' });
      if (errors.length) throw unprocessable('invalid_audience', 'The audience and its department/role do not fit together.', errors);
      const p = ctx.state.principal!;
      const a = answerInTransaction(ctx, (r: { id: number; body: unknown }): Answer => ({ status: 201, headers: { location: `/api/announcements/${r.id}/` }, body: r.body }));
      const created = await app.db.transaction(async (trx) => {
        const [row] = await trx('announcements')
          .insert({ title: b.title, body: b.body, audience: b.audience, department: b.department ?? null, role: b.role ?? null, send_email: Boolean(b.send_email), created_by: p.employeeId })
          .returning('id');
        const id = Number(row.id);
        if (b.send_email) await app.jobs.enqueue(trx, QUEUES.announcement, { announcementId: id });
        const snapshot = presentAnnouncement(await base(trx).select(COLUMNS).where('a.id', id).first());
        // the feed cannot apply a department/role audience: a targeted announcement's events are for System Admins (default-deny; docs/events.md)
        await emitEmailEvent(trx, { type: 'announcement.created', actor: actorOf(p), object: { type: 'announcement', id: String(id) }, admin_only: b.audience !== 'everyone', data: { object: snapshot } });
        // the answer, read in the transaction: an Idempotency-Key's record commits with the announcement
        const out = { id, body: snapshot };
        await a.beforeCommit?.(trx, out);
        return out;
      });
      a.send(created);
    },
    async archiveAnnouncement(ctx) {
      const id = idOf(String(ctx.state.input.params.id));
      const a = answerInTransaction(ctx, (body: unknown): Answer => ({ status: 200, body }));
      // one transaction: the archive, its event and an Idempotency-Key's record commit together
      const body = await app.db.transaction(async (trx) => {
        const n = await trx('announcements').where({ id }).whereNull('archived_at').update({ archived_at: trx.fn.now() });
        const row = await base(trx).select(COLUMNS).where('a.id', id).first();
        if (!row) throw notFound('announcement');
        if (n) await emitEmailEvent(trx, { type: 'announcement.archived', actor: actorOf(ctx.state.principal), object: { type: 'announcement', id: String(id) }, admin_only: row.audience !== 'everyone', data: { object: presentAnnouncement(row) } });
        const out: unknown = presentAnnouncement(row);
        await a.beforeCommit?.(trx, out);
        return out;
      });
      a.send(body);
    },
  };
}

/** Email an announcement to its audience once (the row's emailed_count says it was done). */
export function announcementHandler(app: AppContext) {
  return async (data: { announcementId: number }): Promise<void> => {
    await app.db.transaction(async (trx) => {
      const a = await trx('announcements').where({ id: data.announcementId }).forUpdate().first();
      if (!a || a.emailed_count !== null || a.archived_at) return;
      const qb = trx('employees').where({ status: 'Approved' }).select('id', 'email', 'first_name');
      if (a.audience === 'department') qb.where({ department: a.department });
      if (a.audience === 'role') qb.where({ role: a.role });
      qb.whereNull('deactivated_at');
      const people = await qb;
      // those who turned announcement mails off (profile notifications) are skipped; one query
      const wanting = await wantsEmailMany(trx, people.map((e) => Number(e.id)), 'announcements');
      let n = 0;
      for (const e of people) {
        if (!wanting.has(Number(e.id))) continue;
        await queueEmail(trx, app.jobs, { template: 'announcement', to: e.email, data: { first_name: e.first_name, title: a.title, body: a.body } });
        n++;
      }
      await trx('announcements').where({ id: a.id }).update({ emailed_count: n });
    });
  };
}

export const announcementsFeature: Feature = {
  name: 'announcements',
  routes,
  workers: (app) => [{ queue: QUEUES.announcement, handler: announcementHandler(app) as never }],
};
