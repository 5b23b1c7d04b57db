/** What the tickets verbs share: the ticket argument (TX0042 or 42), columns, list filters. */
import type { Command } from 'commander';
import type { BodyOf } from '../../client/typed.js';
import { usageError } from '../errors.js';
import type { Factory } from '../factory.js';
import { print, type Column } from '../output/print.js';

/** `TX0042`, `tx42`… or `42` → the path segment the API accepts. */
export function ticketArg(raw: string): string {
  const s = raw.trim();
  if (/^\d{1,15}$/.test(s)) return s;
  const m = /^tx(\d{1,15})$/i.exec(s);
  if (m) return 'TX' + (m[1].length < 4 ? m[1].padStart(4, '0') : m[1]);
  throw usageError(`"${raw}" is not a ticket (use TX0042 or 42)`);
}

const who = (v: unknown) => (v && typeof v === 'object' ? `${(v as { first_name: string }).first_name} ${(v as { last_name: string }).last_name}` : '');

export const TICKET_COLUMNS: Column[] = [
  { key: 'ticket_number', header: 'number' },
  { key: 'status' },
  { key: 'priority' },
  { key: 'subject' },
  { key: 'employee', format: who },
  { key: 'assigned_to', header: 'assignee', format: who },
  { key: 'submit_date', header: 'submitted' },
];

export const DETAIL_COLUMNS: Column[] = [
  ...TICKET_COLUMNS,
  { key: 'category' },
  { key: 'sub_category' },
  { key: 'department' },
  { key: 'description' },
  { key: 'scheduled_date' },
  { key: 'response_time' },
  { key: 'resolution_time' },
  { key: 'time_closed' },
  { key: 'rejection_reason' },
  { key: 'sla', format: (v) => slaText(v) },
];

/** One line for the `sla` block: policy, state and the next due time. */
function slaText(v: unknown): string {
  if (!v || typeof v !== 'object') return '';
  const s = v as { policy: { name: string }; state: string; at_risk: boolean; first_response_due_at: string | null; next_response_due_at: string | null; resolution_due_at: string | null };
  const due = [['first response', s.first_response_due_at], ['next response', s.next_response_due_at], ['resolution', s.resolution_due_at]].filter(([, d]) => d).map(([k, d]) => `${k} due ${d}`);
  return [`${s.policy.name}: ${s.state}${s.at_risk ? ' (at risk)' : ''}`, ...due].join('; ');
}

/** Ticket field flags → API fields, for `bodyFromFlags`. */
export const TICKET_FIELD_FLAGS = {
  subject: 'subject',
  category: 'category',
  subCategory: 'sub_category',
  description: 'description',
  scheduledDate: 'scheduled_date',
  priority: 'priority',
  department: 'department',
} as const satisfies Record<string, keyof BodyOf<'/api/tickets/{id}/', 'put'>>;

export async function printTicket(f: Factory, data: unknown, json: boolean | string | undefined): Promise<void> {
  await print(f, data as Record<string, unknown>, { json, columns: DETAIL_COLUMNS });
}

/** Filters for `tickets list` (named after the query parameters). */
export function withFilters(c: Command): Command {
  return c
    .option('--status <status...>', 'one or more statuses')
    .option('--priority <priority>', 'Critical, High, Medium or Low')
    .option('--department <department>', 'department')
    .option('--category <category>', 'category')
    .option('--assigned-to <who>', 'assignee id, company id or "me"')
    .option('--employee <who>', 'owner id or company id')
    .option('--submitted-after <iso>', 'submitted at or after (ISO 8601)')
    .option('--submitted-before <iso>', 'submitted before (ISO 8601)')
    .option('-q, --query <text>', 'full-text search (or an exact ticket number)')
    .option('--sla <state>', 'staff: breached or at_risk (ordered by SLA due time)')
    .option('--order <order>', '-submit_date (newest first), submit_date or sla_due');
}

export function filterQuery(o: Record<string, string | string[] | undefined>) {
  return {
    status: o.status,
    priority: o.priority as string | undefined,
    department: o.department as string | undefined,
    category: o.category as string | undefined,
    assigned_to: o.assignedTo as string | undefined,
    employee: o.employee as string | undefined,
    submitted_after: o.submittedAfter as string | undefined,
    submitted_before: o.submittedBefore as string | undefined,
    q: o.query as string | undefined,
    order: o.order as string | undefined,
    sla_state: o.sla as string | undefined,
  };
}
