/**
 * Fixture factories for the contract tests: one per kind of object an operation needs (its path
 * parameter, or what its body refers to). Each returns the value to put in the path and the values
 * a row's `body(vars)` may use, creating real objects — rows with knex in api.md's terms, real
 * calls to the API (a session), a reset token from the auth feature, or a real failed pg-boss job.
 *
 * A factory that cannot create its object throws, and the matrix cell FAILS: there is no "pending"
 * or skip — a renamed table or a fixture that went stale must be noticed.
 *
 * Adding a kind: add its name to FixtureKind and a `case` to makeFixture returning `{ param, vars }`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { createResetToken } from '../../../src/features/auth/auth-store.js';
import { createApiKey, createEmployee, type EmployeeRow, type TestApp } from '../../helpers/harness.js';

/** The password of every person the matrix creates (its argon2 hash is computed once). */

export const PASSWORD = 'Matrix-Passw0rd-Long-Enough';

/** A ticket status at which the operation under test is meaningful for its allowed callers. */
export type TicketStatus = 'New' | 'Open' | 'In Progress' | 'Resolved';

export type FixtureKind =
  | 'ticket'
  | 'employee'
  /** an Approved employee (account lifecycle) */
  | 'activeEmployee'
  /** a Deactivated employee (account lifecycle) */
  | 'deactivatedEmployee'
  | 'apiKey'
  | 'attachment'
  | 'mediaPath'
  | 'delivery'
  | 'faq'
  | 'conversation'
  /** an Approved Employee with PASSWORD: vars email, password */
  | 'employeeLogin'
  /** an Approved Ticket Coordinator with PASSWORD: vars email, password */
  | 'staffLogin'
  /** a real session (signed in through the API): vars refresh */
  | 'session'
  /** a real reset token (as a reset email carries it): vars token */
  | 'resetToken'
  /** a real failed job in a work queue: param `<queue>/<id>` */
  | 'failedJob'
  /** a webhook endpoint owned by the fixture's admin: param its id */
  | 'webhook'
  /** a failed delivery of a webhook endpoint: param `<endpoint>/<delivery>` */
  | 'webhookDelivery'
  /** a business-hours calendar / an SLA policy (issue 16) */
  | 'slaCalendar'
  | 'slaPolicy'
  /** a quarantined inbound email */
  | 'inboundEmail'
  | 'announcement';

export interface FixtureOptions {
  /** the Employee who owns tickets, attachments and conversations */
  owner: EmployeeRow;
  ticketStatus?: TicketStatus;
}

export interface Fixture {
  /** value for the path parameter(s); a value with slashes spreads over several parameters */
  param: string;
  /** extra values a request body may need (e.g. the ticket number) */
  vars: Record<string, string | number>;
}

export async function createTicket(ta: TestApp, owner: EmployeeRow, status: TicketStatus = 'New'): Promise<{ id: number; ticket_number: string }> {
  const staffFields = status === 'New' ? {} : { priority: 'Medium', department: 'IT Department', approved_at: ta.db.fn.now() };
  const [row] = await ta.db('tickets')
    .insert({ subject: 'Printer on fire', category: 'Hardware', sub_category: 'Printer', description: 'It smells of toast.', employee_id: owner.id, status, ...staffFields })
    .returning(['id', 'ticket_number']);
  return { id: Number(row.id), ticket_number: row.ticket_number };
}

/** A small PNG every decoder accepts (8×8, made by sharp; uploads that decode images need a real one). */
export const PNG_IMAGE: Buffer = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer();

async function createAttachment(ta: TestApp, owner: EmployeeRow): Promise<{ id: number; storage_key: string; ticket: { id: number; ticket_number: string } }> {
  const ticket = await createTicket(ta, owner, 'New');
  // storage keys are `<area>/<32 hex>.<ext>` under <data dir>/media (the files feature's layout)
  const storageKey = `ticket_attachments/${randomBytes(16).toString('hex')}.png`;
  const file = path.join(ta.dataDir, 'media', storageKey);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, PNG_IMAGE);
  const [row] = await ta.db('ticket_attachments')
    .insert({ ticket_id: ticket.id, storage_key: storageKey, file_name: 'image.png', file_type: 'image/png', file_size: PNG_IMAGE.length, uploaded_by: owner.id })
    .returning('id');
  return { id: Number(row.id), storage_key: storageKey, ticket };
}

async function post(ta: TestApp, p: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(p, ta.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${p} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

export async function makeFixture(ta: TestApp, kind: FixtureKind, opts: FixtureOptions): Promise<Fixture> {
  switch (kind) {
    case 'ticket': {
      const t = await createTicket(ta, opts.owner, opts.ticketStatus ?? 'New');
      return { param: String(t.id), vars: { ticket_id: t.id, ticket_number: t.ticket_number } };
    }
    case 'employee': {
      const e = await createEmployee(ta.db, { status: 'Pending' });
      return { param: String(e.id), vars: { employee_id: e.id, company_id: e.company_id } };
    }
    case 'activeEmployee':
    case 'deactivatedEmployee': {
      const e = await createEmployee(ta.db, { status: kind === 'activeEmployee' ? 'Approved' : 'Deactivated' });
      return { param: String(e.id), vars: { employee_id: e.id, company_id: e.company_id } };
    }
    case 'apiKey': {
      const k = await createApiKey(ta.db, { role: 'Employee', name: `fixture ${randomBytes(3).toString('hex')}` });
      return { param: String(k.id), vars: { api_key_id: k.id } };
    }
    case 'attachment': {
      const a = await createAttachment(ta, opts.owner);
      return { param: String(a.id), vars: { attachment_id: a.id, ticket_id: a.ticket.id } };
    }
    case 'mediaPath': {
      const a = await createAttachment(ta, opts.owner);
      return { param: a.storage_key, vars: { attachment_id: a.id } };
    }
    case 'delivery': {
      const t = await createTicket(ta, opts.owner, 'Open');
      const [row] = await ta.db('workflow_deliveries').insert({ ticket_id: t.id, reason: 'approved', status: 'dead', attempts: 1 }).returning('id');
      return { param: String(row.id), vars: { ticket_id: t.id, ticket_number: t.ticket_number } };
    }
    case 'faq': {
      const [row] = await ta.db('faqs').insert({ question: 'How do I reset my password?', answer: 'Use "forgot password" on the sign-in page.' }).returning('id');
      return { param: String(row.id), vars: { faq_id: row.id } };
    }
    case 'slaCalendar': {
      const [row] = await ta.db('sla_calendars')
        .insert({ name: `fixture ${randomBytes(4).toString('hex')}`, time_zone: 'Asia/Manila', hours: JSON.stringify({ monday: [{ from: '08:00', to: '17:00' }] }) })
        .returning('id');
      return { param: String(row.id), vars: { calendar_id: row.id } };
    }
    case 'slaPolicy': {
      const [row] = await ta.db('sla_policies').insert({ name: `fixture ${randomBytes(4).toString('hex')}`, position: 1000, first_response_minutes: 60 }).returning('id');
      return { param: String(row.id), vars: { policy_id: row.id } };
    }
    case 'inboundEmail': {
      // a quarantined message, so that release is allowed for whoever may release
      const table = 'inbound_emails';
      const [row] = await ta.db(table)
        .insert({ source: 'smtp', message_id: `fixture-${randomBytes(6).toString('hex')}@example.com`, raw_sha256: randomBytes(32).toString('hex'), storage_key: `inbound_mail/${randomBytes(16).toString('hex')}.eml`, size: 10, status: 'quarantined', reason: 'unknown_sender' })
        .returning('id');
      return { param: String(row.id), vars: { inbound_email_id: row.id } };
    }
    case 'announcement': {
      const table = 'announcements';
      const [row] = await ta.db(table).insert({ title: 'Maintenance', body: 'Saturday.', audience: 'everyone' }).returning('id');
      return { param: String(row.id), vars: { announcement_id: row.id } };
    }
    case 'webhook':
    case 'webhookDelivery': {
      const { sealSecret, newSecret } = await import('../../../src/features/events/webhooks.js');
      const [ep] = await ta.db('webhook_endpoints')
        .insert({ url: 'https://example.com/hook', event_types: ['ticket.*'], secret_enc: sealSecret(ta.app, newSecret()), owner_kind: 'employee', owner_id: opts.owner.id, owner_role: 'System Admin' })
        .returning('id');
      if (kind === 'webhook') return { param: String(ep.id), vars: { webhook_id: ep.id } };
      const [d] = await ta.db('webhook_deliveries')
        .insert({ endpoint_id: ep.id, event_id: `evt_${randomBytes(12).toString('hex')}`, event_type: 'ticket.created', payload: '{}', status: 'failed', attempts: 1 })
        .returning('id');
      return { param: `${ep.id}/${d.id}`, vars: { webhook_id: ep.id, delivery_id: d.id } };
    }
    case 'conversation': {
      const [row] = await ta.db('chat_conversations').insert({ employee_id: opts.owner.id }).returning('id');
      // a conversation with a question in it (escalating an empty one is a 409)
      await ta.db('chat_messages').insert({ conversation_id: row.id, role: 'user', content: 'How do I reset my password?' });
      return { param: String(row.id), vars: { conversation_id: row.id } };
    }
    case 'employeeLogin':
    case 'staffLogin': {
      const e = await createEmployee(ta.db, { role: kind === 'staffLogin' ? 'Ticket Coordinator' : 'Employee', password: PASSWORD });
      return { param: '', vars: { email: e.email, password: PASSWORD } };
    }
    case 'session': {
      const e = await createEmployee(ta.db, { role: 'Employee', password: PASSWORD });
      const r = await post(ta, '/api/token/employee/', { email: e.email, password: PASSWORD });
      return { param: '', vars: { refresh: String(r.refresh) } };
    }
    case 'resetToken': {
      // the token a reset email carries, made by the auth feature's own function (the forgot-password
      // endpoint hands the work to a job, and the matrix runs no workers)
      const e = await createEmployee(ta.db, { role: 'Employee', password: PASSWORD });
      const token = await createResetToken(ta.db, e.id, 'reset');
      return { param: '', vars: { token } };
    }
    case 'failedJob': {
      // a maintenance job that really ran and failed, through pg-boss's own API
      const boss = ta.app.jobs.boss;
      const queue = 'maintenance.run';
      const id = await boss.send(queue, { task: `matrix-${randomBytes(3).toString('hex')}` }, { retryLimit: 0 });
      if (!id) throw new Error('pg-boss did not create the job');
      const fetched = await boss.fetch(queue, { batchSize: 50 });
      const mine = fetched.find((j) => j.id === id);
      const others = fetched.filter((j) => j.id !== id).map((j) => j.id);
      if (others.length) await boss.fail(queue, others);
      if (!mine) throw new Error(`job ${id} was not fetched from ${queue}`);
      await boss.fail(queue, id, { message: 'matrix fixture: failed on purpose' });
      const state = (await ta.db.raw('SELECT state FROM pgboss.job WHERE name = ? AND id = ?', [queue, id])).rows[0]?.state;
      if (state !== 'failed') throw new Error(`job ${id} is ${state}, not failed`);
      return { param: `${queue}/${id}`, vars: { queue, job_id: id } };
    }
  }
}
