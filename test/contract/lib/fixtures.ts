/**
 * Fixture factories for the contract tests, one per kind of path parameter. Each returns the value
 * to put in the path (and anything a body needs), inserting rows with knex in api.md's terms. A
 * factory whose table does not exist on this branch yet throws Pending, which the tests report as
 * a pending row rather than a failure; once the table exists, a factory that cannot insert fails
 * loudly (update it here).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createApiKey, createEmployee, type EmployeeRow, type TestApp } from '../../helpers/harness.js';

export class Pending extends Error {}

/** A ticket status at which the operation under test is meaningful for its allowed callers. */
export type TicketStatus = 'New' | 'Open' | 'In Progress' | 'Resolved';

export type FixtureKind = 'ticket' | 'employee' | 'activeEmployee' | 'deactivatedEmployee' | 'apiKey' | 'attachment' | 'mediaPath' | 'delivery' | 'faq' | 'conversation' | 'inboundEmail' | 'announcement';

export interface FixtureOptions {
  /** the Employee who owns tickets, attachments and conversations */
  owner: EmployeeRow;
  ticketStatus?: TicketStatus;
}

export interface Fixture {
  /** value for the path parameter */
  param: string;
  /** extra values a request body may need (e.g. the ticket number) */
  vars: Record<string, string | number>;
}

async function requireTable(ta: TestApp, ...names: string[]): Promise<string> {
  for (const n of names) if (await ta.db.schema.hasTable(n)) return n;
  throw new Pending(`table ${names.join(' / ')} does not exist on this branch yet`);
}

export async function createTicket(ta: TestApp, owner: EmployeeRow, status: TicketStatus = 'New'): Promise<{ id: number; ticket_number: string }> {
  const staffFields = status === 'New' ? {} : { priority: 'Medium', department: 'IT Department', approved_at: ta.db.fn.now() };
  const [row] = await ta.db('tickets')
    .insert({ subject: 'Printer on fire', category: 'Hardware', sub_category: 'Printer', description: 'It smells of toast.', employee_id: owner.id, status, ...staffFields })
    .returning(['id', 'ticket_number']);
  return { id: Number(row.id), ticket_number: row.ticket_number };
}

/** A tiny valid PNG (1×1). */
export const PNG_1X1 = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d6a0c30000000049454e44ae426082', 'hex');

async function createAttachment(ta: TestApp, owner: EmployeeRow): Promise<{ id: number; storage_key: string; ticket: { id: number; ticket_number: string } }> {
  const ticket = await createTicket(ta, owner, 'New');
  // storage keys are `<area>/<32 hex>.<ext>` under <data dir>/media (the files feature's layout)
  const storageKey = `ticket_attachments/${randomBytes(16).toString('hex')}.png`;
  const file = path.join(ta.dataDir, 'media', storageKey);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, PNG_1X1);
  const [row] = await ta.db('ticket_attachments')
    .insert({ ticket_id: ticket.id, storage_key: storageKey, file_name: 'pixel.png', file_type: 'image/png', file_size: PNG_1X1.length, uploaded_by: owner.id })
    .returning('id');
  return { id: Number(row.id), storage_key: storageKey, ticket };
}

export async function makeFixture(ta: TestApp, kind: FixtureKind, opts: FixtureOptions): Promise<Fixture> {
  switch (kind) {
    case 'ticket': {
      await requireTable(ta, 'tickets');
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
      await requireTable(ta, 'ticket_attachments');
      const a = await createAttachment(ta, opts.owner);
      return { param: String(a.id), vars: { attachment_id: a.id, ticket_id: a.ticket.id } };
    }
    case 'mediaPath': {
      await requireTable(ta, 'ticket_attachments');
      const a = await createAttachment(ta, opts.owner);
      return { param: a.storage_key, vars: { attachment_id: a.id } };
    }
    case 'delivery': {
      await requireTable(ta, 'workflow_deliveries');
      const t = await createTicket(ta, opts.owner, 'Open');
      const [row] = await ta.db('workflow_deliveries').insert({ ticket_id: t.id, reason: 'approved', status: 'dead', attempts: 1 }).returning('id');
      return { param: String(row.id), vars: { ticket_id: t.id, ticket_number: t.ticket_number } };
    }
    case 'faq': {
      const table = await requireTable(ta, 'faqs', 'faq_entries');
      const [row] = await ta.db(table).insert({ question: 'How do I reset my password?', answer: 'Use "forgot password" on the sign-in page.' }).returning('id');
      return { param: String(row.id), vars: { faq_id: row.id } };
    }
    case 'inboundEmail': {
      // a quarantined message, so that release is allowed for whoever may release
      const table = await requireTable(ta, 'inbound_emails');
      const [row] = await ta.db(table)
        .insert({ source: 'smtp', message_id: `fixture-${randomBytes(6).toString('hex')}@example.com`, raw_sha256: randomBytes(32).toString('hex'), storage_key: `inbound_mail/${randomBytes(16).toString('hex')}.eml`, size: 10, status: 'quarantined', reason: 'unknown_sender' })
        .returning('id');
      return { param: String(row.id), vars: { inbound_email_id: row.id } };
    }
    case 'announcement': {
      const table = await requireTable(ta, 'announcements');
      const [row] = await ta.db(table).insert({ title: 'Maintenance', body: 'Saturday.', audience: 'everyone' }).returning('id');
      return { param: String(row.id), vars: { announcement_id: row.id } };
    }
    case 'conversation': {
      const table = await requireTable(ta, 'chat_conversations', 'conversations');
      const [row] = await ta.db(table).insert({ employee_id: opts.owner.id }).returning('id');
      return { param: String(row.id), vars: { conversation_id: row.id } };
    }
  }
}
