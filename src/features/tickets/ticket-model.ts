/**
 * Ticket shapes as the API returns them (snake_case end to end) and the presenters that turn
 * store rows into them. Rows carry `owner_id` / `assignee_id` for permission checks; presenters drop them.
 */
import { presentSla, type SlaJson } from '../sla/sla-present.js';
import type { TicketStatus } from './ticket-states.js';

export interface TicketPerson {
  id: number;
  company_id: string;
  first_name: string;
  last_name: string;
  email: string;
  department: string;
}

export interface TicketRow {
  id: number;
  ticket_number: string;
  subject: string;
  category: string;
  sub_category: string;
  description: string;
  scheduled_date: string | null;
  priority: string | null;
  department: string | null;
  status: TicketStatus;
  employee: TicketPerson;
  assigned_to: TicketPerson | null;
  submit_date: Date;
  update_date: Date;
  approved_at: Date | null;
  response_time: number | null;
  resolved_at: Date | null;
  resolution_time: number | null;
  time_closed: Date | null;
  rejection_reason: string | null;
  version: number;
  owner_id: number;
  assignee_id: number | null;
  /** the joined ticket_sla row (null: no policy matched) */
  sla_row?: SlaJson | null;
  /** sort key of the by-due-time lists */
  sla_breach_at?: Date | null;
}

export interface CommentRow {
  id: number;
  ticket_id: number;
  comment: string;
  is_internal: boolean;
  created_at: Date;
  author: { id: number; company_id: string; first_name: string; last_name: string } | null;
}

export interface AttachmentRow {
  id: number;
  file_name: string;
  file_type: string;
  file_size: number | string;
  upload_date: Date;
  uploaded_by: number | string | null;
}

export type HistoryEvent = 'created' | 'updated' | 'status_changed' | 'assigned' | 'commented' | 'attachment_added' | 'sla';

export interface HistoryInput {
  event: HistoryEvent;
  field?: string | null;
  from_value?: string | null;
  to_value?: string | null;
  is_internal?: boolean;
}

/** Who acted, as written to ticket_history. */
export interface ActorRef {
  actor_kind: 'user' | 'api_key' | 'workflow' | 'system';
  actor_id: number | null;
  actor_api_key_id: number | null;
}

/** Fields people may edit through PUT/PATCH. */
export const CONTENT_FIELDS = ['subject', 'category', 'sub_category', 'description', 'scheduled_date'] as const;
export const STAFF_FIELDS = ['priority', 'department'] as const;

/** SLA warnings fire at this fraction of a target (set from SLA_WARNING_PERCENT at start-up). */
export const slaSettings = { warningFraction: 0.8 };

/** `staff`: the `sla` block is for staff (and API keys) only; employees do not get it. */
export function presentTicket(row: TicketRow, staff = true) {
  const { owner_id: _o, assignee_id: _a, sla_row, sla_breach_at: _b, ...rest } = row;
  return staff ? { ...rest, sla: presentSla(sla_row, slaSettings.warningFraction) } : rest;
}

export const etagOf = (row: { version: number }): string => `"v${row.version}"`;

/** True if an If-Match header value matches the current version (`*` always does). */
export function ifMatchOk(header: string | undefined, row: { version: number }): boolean {
  if (!header) return true;
  return header.split(',').some((v) => {
    const t = v.trim().replace(/^W\//, '');
    return t === '*' || t === etagOf(row);
  });
}
