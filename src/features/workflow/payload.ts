/**
 * The ticket as the workflow system receives it (api.md, "Workflow integration"): built at send
 * time from the ticket's current state. Attachment URLs are short-lived signed links, never a key.
 */
import type { Knex } from 'knex';
import { signedAttachmentUrl } from '../../lib/signed-urls.js';
import { listAttachments } from '../tickets/ticket-store.js';

/** How long an attachment link in a payload stays valid. */
export const ATTACHMENT_URL_TTL_SECONDS = 3600;

export interface WorkflowTicketPayload {
  id: number;
  ticket_id: string;
  subject: string;
  category: string;
  subcategory: string;
  description: string;
  scheduled_date: string | null;
  priority: string | null;
  department: string | null;
  status: string;
  submit_date: string;
  update_date: string;
  assigned_to: number | null;
  response_time: number | null;
  resolution_time: number | null;
  time_closed: string | null;
  rejection_reason: string | null;
  customer: {
    id: number;
    first_name: string;
    last_name: string;
    middle_name: string | null;
    suffix: string | null;
    email: string;
    company_id: string;
    department: string;
  };
  attachments: { id: number; file_name: string; file_type: string; file_size: number; upload_date: string; url: string }[];
}

const iso = (v: Date | null | undefined) => (v ? new Date(v).toISOString() : null);

export async function buildTicketPayload(db: Knex, ticketId: number, links: { publicUrl: string; secret: string }): Promise<WorkflowTicketPayload | undefined> {
  const t = await db('tickets').where({ id: ticketId }).first('*', db.raw('scheduled_date::text AS scheduled_date_text'));
  if (!t) return undefined;
  const e = await db('employees').where({ id: t.employee_id }).first('id', 'first_name', 'last_name', 'middle_name', 'suffix', 'email', 'company_id', 'department');
  const files = await listAttachments(db, ticketId);
  return {
    id: t.id,
    ticket_id: t.ticket_number,
    subject: t.subject,
    category: t.category,
    subcategory: t.sub_category,
    description: t.description,
    scheduled_date: t.scheduled_date_text ?? null,
    priority: t.priority ?? null,
    department: t.department ?? null,
    status: t.status,
    submit_date: iso(t.submit_date)!,
    update_date: iso(t.update_date)!,
    assigned_to: t.assigned_to ?? null,
    response_time: t.response_time ?? null,
    resolution_time: t.resolution_time ?? null,
    time_closed: iso(t.time_closed),
    rejection_reason: t.rejection_reason ?? null,
    customer: {
      id: e.id,
      first_name: e.first_name,
      last_name: e.last_name,
      middle_name: e.middle_name ?? null,
      suffix: e.suffix ?? null,
      email: e.email,
      company_id: e.company_id,
      department: e.department,
    },
    attachments: files.map((f) => ({
      id: f.id,
      file_name: f.file_name,
      file_type: f.file_type,
      file_size: Number(f.file_size),
      upload_date: iso(f.upload_date)!,
      url: signedAttachmentUrl(links.publicUrl, links.secret, f.id, ATTACHMENT_URL_TTL_SECONDS),
    })),
  };
}
