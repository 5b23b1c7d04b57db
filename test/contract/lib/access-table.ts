/**
 * The authorization matrix's table: "Who can call what", transcribed by hand from api.md (the
 * design contract) and the feature docs, keyed by `METHOD path` as api.md writes them. It is
 * deliberately independent of openapi.yaml's x-roles/x-scope: test/contract/authz-matrix.test.ts
 * calls every operation as seven callers and compares the running server with this table, so a
 * wrong x-roles in the spec is caught instead of being read back.
 *
 * Every cell is asserted exactly:
 * - an allowed caller must get a 2xx whose body matches openapi.yaml — so the request must be one
 *   the operation accepts: give the row a real `object` (fixture) and, when the spec's sample body
 *   is not enough, a `body(v)`;
 * - a refused caller must get the status `who` implies (401 anonymous, 403 role/scope, 404 an object
 *   the caller may not see);
 * - where api.md does not decide a cell, `cells` states the status that caller gets, with a comment
 *   saying where that comes from. Nothing is left unasserted.
 *
 * ADDING AN OPERATION (one row; the matrix fails for an operation in openapi.yaml without a row,
 * and for a row whose endpoint is not in openapi.yaml):
 *
 *   'POST /api/things/{id}/frob/': { who: 'staff', scope: 'things:write', object: 'thing', body: (v) => ({ thing_number: v.thing_number }) },
 *
 * - `who`: one of the Who values below; `scope`: the scope an API key needs, or null when API keys
 *   are refused (person-only operations).
 * - `object`: the fixture for the path parameter. A new kind of object: add it to FixtureKind and
 *   makeFixture in ./fixtures.ts (create the row, or call the API, and return `{ param, vars }`).
 *   A fixture that cannot be created FAILS the cells — there is no skip.
 * - `ticketStatus`: the state the ticket fixture starts in (one fresh fixture per cell, so one
 *   caller's successful call never changes what the next caller sees).
 * - `body(v)`: the request body; `v` holds the fixture's vars plus `caller`, `owner_id` (the owning
 *   employee's id), `password` (every person's password) and `unique` (a fresh token for unique
 *   fields). Multipart operations get a real form (a PNG for file fields) with these values.
 * - `cells`: `{ 'ticket coordinator': 200 }` for cells api.md leaves open.
 * - `aliases`: other `METHOD path` shapes in openapi.yaml that implement the same api.md endpoint.
 *
 * API keys in the matrix carry the System Admin role: "api key with scope" holds exactly `scope`,
 * "api key without scope" holds every scope but that one.
 */
import type { Scope } from '../../../src/http/auth.js';
import type { FixtureKind, TicketStatus } from './fixtures.js';

export type Who =
  /** no credentials needed */
  | 'anyone'
  /** any signed-in person (and API keys per scope) */
  | 'authenticated'
  /** Ticket Coordinator or System Admin */
  | 'staff'
  | 'admin'
  /** the ticket's owner, or staff; other employees get 404 */
  | 'ownerOrStaff'
  /** only the ticket's owner; other employees 404, staff 403 */
  | 'owner'
  /** System Admin, or the owner while the ticket is New; coordinators 403, other employees 404 */
  | 'adminOrOwnerWhileNew'
  /** only the conversation's owner; other employees 404 */
  | 'conversationOwner'
  /** only API keys (with the scope); people get 403 */
  | 'apiKeyOnly';

export const CALLERS = ['anonymous', 'employee (owner)', 'employee (not owner)', 'ticket coordinator', 'system admin', 'api key with scope', 'api key without scope'] as const;
export type Caller = (typeof CALLERS)[number];

/** What a row's body function gets. */
export interface BodyVars {
  [k: string]: string | number | undefined;
  caller: Caller;
  owner_id: number;
  password: string;
  unique: string;
}

export interface Rule {
  who: Who;
  /** the scope an API key needs; null: API keys are refused (403) */
  scope: Scope | null;
  /** fixture for the path parameter (and body vars) */
  object?: FixtureKind;
  ticketStatus?: TicketStatus;
  /** cells api.md leaves open: the status this caller gets (say why in a comment) */
  cells?: Partial<Record<Caller, Expectation>>;
  /** other `METHOD path` shapes in openapi.yaml that implement this api.md endpoint */
  aliases?: string[];
  /** request body (default: a minimal valid body generated from the spec) */
  body?: (v: BodyVars) => unknown;
}

const strongPassword = 'Correct-Horse-Battery-9';

export const ACCESS: Record<string, Rule> = {
  // ─── Auth ──────────────────────────────────────────────────────────────────
  'POST /api/token/employee/': { who: 'anyone', scope: null, object: 'employeeLogin', body: (v) => ({ email: v.email, password: v.password }) },
  'POST /api/token/admin/': { who: 'anyone', scope: null, object: 'staffLogin', body: (v) => ({ email: v.email, password: v.password }) },
  'POST /api/token/refresh/': { who: 'anyone', scope: null, object: 'session', body: (v) => ({ refresh: v.refresh }) },
  'POST /api/token/logout/': { who: 'authenticated', scope: null, body: () => ({}) },
  'POST /api/employee/change-password/': { who: 'authenticated', scope: null, body: (v) => ({ current_password: v.password, new_password: strongPassword }) },
  'POST /api/employee/forgot-password/': { who: 'anyone', scope: null, body: () => ({ email: 'nobody@example.com' }) },
  'POST /api/employee/reset-password/': { who: 'anyone', scope: null, object: 'resetToken', body: (v) => ({ token: v.token, new_password: strongPassword }) },
  // docs/accounts.md: API keys are managed by a System Admin signed in as a person
  'GET /api/admin/api-keys/': { who: 'admin', scope: null },
  'POST /api/admin/api-keys/': { who: 'admin', scope: null, body: (v) => ({ name: `matrix ${v.unique}`, role: 'Employee' }) },
  'DELETE /api/admin/api-keys/{id}/': { who: 'admin', scope: null, object: 'apiKey' },

  // ─── Employees ─────────────────────────────────────────────────────────────
  'POST /api/create_employee/': {
    who: 'anyone',
    scope: null,
    body: (v) => ({ first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email: `ada.${v.unique}@example.com`, password: strongPassword, confirm_password: strongPassword }),
  },
  // the same registration, multipart only (the form gets a PNG for `image`)
  'POST /api/create_employee/form/': {
    who: 'anyone',
    scope: null,
    body: (v) => ({ first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email: `ada.form.${v.unique}@example.com`, password: strongPassword, confirm_password: strongPassword }),
  },
  'POST /api/admin/create-employee/': { who: 'admin', scope: 'employees:write', body: (v) => ({ first_name: 'Grace', last_name: 'Hopper', department: 'IT Department', email: `grace.${v.unique}@example.com`, role: 'Employee' }) },
  'GET /api/employees/': { who: 'staff', scope: 'employees:read' },
  // "System Admin"; the list row adds "Coordinators read-only", which covers one employee too
  'GET /api/employees/{id}/': { who: 'admin', scope: 'employees:read', object: 'employee', cells: { 'ticket coordinator': 'allow' } },
  'PATCH /api/employees/{id}/': { who: 'admin', scope: 'employees:write', object: 'employee', body: () => ({ department: 'IT Department' }) },
  'POST /api/employees/{id}/approve/': { who: 'admin', scope: 'employees:write', object: 'employee' },
  'POST /api/employees/{id}/reject/': { who: 'admin', scope: 'employees:write', object: 'employee' },
  'GET /api/rejected-employees/': { who: 'admin', scope: 'employees:read' },
  'GET /api/admin/rejected-users-count/': { who: 'staff', scope: 'employees:read' },
  'GET /api/employee/profile/': { who: 'authenticated', scope: null },
  'PATCH /api/employee/profile/': { who: 'authenticated', scope: null, body: () => ({ first_name: 'Ada' }) },
  'POST /api/employee/upload-image/': { who: 'authenticated', scope: null },
  // account lifecycle (issue 13): System Admin (or a key with employees:write / :read)
  'POST /api/employees/{id}/deactivate/': { who: 'admin', scope: 'employees:write', object: 'activeEmployee', body: () => ({ reason: 'Left the company.' }) },
  'POST /api/employees/{id}/reactivate/': { who: 'admin', scope: 'employees:write', object: 'deactivatedEmployee' },
  'POST /api/employees/{id}/erase/': { who: 'admin', scope: 'employees:write', object: 'employee', body: (v) => ({ confirm: v.company_id }) },
  'GET /api/employees/{id}/export/': { who: 'admin', scope: 'employees:read', object: 'employee' },
  // a person's own data: never an API key
  'GET /api/employee/profile/export/': { who: 'authenticated', scope: null },
  // issue 15 item 6: a person's own email preferences (API keys are nobody)
  'GET /api/employee/profile/notifications/': { who: 'authenticated', scope: null },
  'PUT /api/employee/profile/notifications/': { who: 'authenticated', scope: null, body: () => ({ ticket_comments: false }) },

  // ─── Tickets ───────────────────────────────────────────────────────────────
  'GET /api/tickets/': { who: 'authenticated', scope: 'tickets:read' },
  // staff and API keys create on behalf of an employee (an API key must name one)
  'POST /api/tickets/': {
    who: 'authenticated',
    scope: 'tickets:write',
    body: (v) => ({ subject: 'Printer on fire', category: 'Hardware', sub_category: 'Printer', description: 'It smells of toast.', ...(/employee/.test(v.caller) ? {} : { employee_id: v.owner_id }) }),
  },
  'GET /api/tickets/{id}/': { who: 'ownerOrStaff', scope: 'tickets:read', object: 'ticket' },
  'PUT /api/tickets/{id}/': { who: 'ownerOrStaff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', body: () => ({ subject: 'Printer still on fire', category: 'Hardware', sub_category: 'Printer', description: 'Now it smells of burnt toast.' }) },
  'PATCH /api/tickets/{id}/': { who: 'ownerOrStaff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', body: () => ({ description: 'More details: it also beeps.' }) },
  'DELETE /api/tickets/{id}/': { who: 'adminOrOwnerWhileNew', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New' },
  'GET /api/tickets/new/': { who: 'staff', scope: 'tickets:read' },
  'GET /api/tickets/open/': { who: 'staff', scope: 'tickets:read' },
  // "assigned to the caller": a person's view, an API key is nobody's assignee
  'GET /api/tickets/my-tickets/': { who: 'staff', scope: null },
  'GET /api/tickets/{id}/comments/': { who: 'ownerOrStaff', scope: 'tickets:read', object: 'ticket' },
  'POST /api/tickets/{id}/comments/': { who: 'ownerOrStaff', scope: 'tickets:write', object: 'ticket', body: () => ({ comment: 'Any news?' }) },
  'POST /api/tickets/{id}/attachments/': { who: 'ownerOrStaff', scope: 'tickets:write', object: 'ticket' },
  'GET /api/tickets/{id}/history/': { who: 'ownerOrStaff', scope: 'tickets:read', object: 'ticket' },
  'GET /api/attachments/{id}/download/': { who: 'ownerOrStaff', scope: 'media:read', object: 'attachment' },
  'GET /media/{path}': { who: 'ownerOrStaff', scope: 'media:read', object: 'mediaPath', aliases: ['GET /media/{folder}/{file_name}'] },

  // ─── Ticket transitions ────────────────────────────────────────────────────
  'POST /api/tickets/{id}/approve/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', body: () => ({ priority: 'High', department: 'IT Department' }) },
  'POST /api/tickets/{id}/reject/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', body: () => ({ rejection_reason: 'Duplicate of another ticket.' }) },
  'POST /api/tickets/{id}/claim/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Open' },
  'POST /api/tickets/{id}/update-status/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Open', body: () => ({ status: 'On Hold' }) },
  'POST /api/tickets/{id}/finalize/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Open' },
  'POST /api/tickets/{id}/withdraw/': { who: 'owner', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', cells: { 'api key with scope': 403 } },
  'POST /api/tickets/{id}/close/': { who: 'owner', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Resolved', cells: { 'api key with scope': 403 } },

  // ─── Workflow ──────────────────────────────────────────────────────────────
  // docs/workflow.md: staff; API keys need tickets:read, redeliver tickets:write
  'GET /api/workflow/deliveries/': { who: 'staff', scope: 'tickets:read' },
  'POST /api/workflow/deliveries/{id}/redeliver/': { who: 'staff', scope: 'tickets:write', object: 'delivery' },
  'POST /api/workflow/status/': { who: 'apiKeyOnly', scope: 'workflow:callback', object: 'ticket', ticketStatus: 'Open', body: (v) => ({ ticket_number: v.ticket_number, status: 'In Progress' }) },

  // ─── Events and webhooks (issue 14: "System Admin; API keys with a webhooks:write scope") ───
  // the feed and the stream: any caller, filtered per event (docs/events.md, Visibility)
  'GET /api/events/': { who: 'authenticated', scope: 'events:read' },
  'GET /api/events/stream/': { who: 'authenticated', scope: 'events:read' },
  'GET /api/webhooks/': { who: 'admin', scope: 'webhooks:write' },
  'POST /api/webhooks/': { who: 'admin', scope: 'webhooks:write', body: () => ({ url: 'https://example.com/hook', event_types: ['ticket.*'] }) },
  'GET /api/webhooks/{id}/': { who: 'admin', scope: 'webhooks:write', object: 'webhook' },
  'PATCH /api/webhooks/{id}/': { who: 'admin', scope: 'webhooks:write', object: 'webhook', body: () => ({ description: 'changed' }) },
  'DELETE /api/webhooks/{id}/': { who: 'admin', scope: 'webhooks:write', object: 'webhook' },
  'POST /api/webhooks/{id}/ping/': { who: 'admin', scope: 'webhooks:write', object: 'webhook' },
  'POST /api/webhooks/{id}/rotate-secret/': { who: 'admin', scope: 'webhooks:write', object: 'webhook', body: () => ({ overlap_hours: 1 }) },
  'GET /api/webhooks/{id}/deliveries/': { who: 'admin', scope: 'webhooks:write', object: 'webhook' },
  'POST /api/webhooks/{id}/deliveries/{delivery_id}/redeliver/': { who: 'admin', scope: 'webhooks:write', object: 'webhookDelivery' },

  // ─── Notifications ─────────────────────────────────────────────────────────
  // docs/notifications.md: System Admin; API keys need employees:read
  'GET /api/admin/notifications/': { who: 'admin', scope: 'employees:read' },

  // ─── FAQ chatbot ───────────────────────────────────────────────────────────
  'GET /api/faqs/': { who: 'anyone', scope: null },
  // not in api.md's table; one entry of the public knowledge base is public too
  'GET /api/faqs/{id}/': { who: 'anyone', scope: null, object: 'faq' },
  'POST /api/faqs/': { who: 'admin', scope: null, body: () => ({ question: 'Where is the printer?', answer: 'Second floor.' }) },
  'PATCH /api/faqs/{id}/': { who: 'admin', scope: null, object: 'faq', body: () => ({ answer: 'Use the link on the sign-in page.' }) },
  'DELETE /api/faqs/{id}/': { who: 'admin', scope: null, object: 'faq' },
  'POST /api/chat/': { who: 'authenticated', scope: 'chat', body: () => ({ message: 'How do I reset my password?' }) },
  // docs/chatbot.md: a conversation belongs to whoever started it; a key did not start this one
  'GET /api/chat/{conversation_id}/': { who: 'conversationOwner', scope: 'chat', object: 'conversation', cells: { 'api key with scope': 404 } },
  // docs/chatbot.md: people only (a ticket needs a person as its owner), API keys 403
  'POST /api/chat/{conversation_id}/escalate/': { who: 'conversationOwner', scope: null, object: 'conversation' },

  // ─── Email channel and announcements (issue 15) ─────────────────────────────
  // received mail and its quarantine: administrators only; API keys are refused (no email scope)
  'GET /api/admin/inbound-emails/': { who: 'admin', scope: null },
  'GET /api/admin/inbound-emails/{id}/': { who: 'admin', scope: null, object: 'inboundEmail' },
  'POST /api/admin/inbound-emails/{id}/release/': { who: 'admin', scope: null, object: 'inboundEmail', body: () => ({}) },
  // announcements are listed to every signed-in person (filtered to their audience); posting is for admins
  'GET /api/announcements/': { who: 'authenticated', scope: null },
  'POST /api/announcements/': { who: 'admin', scope: null, body: () => ({ title: 'Maintenance', body: 'Saturday 08:00.', audience: 'everyone' }) },
  'POST /api/announcements/{id}/archive/': { who: 'admin', scope: null, object: 'announcement' },

  // ─── Operations ────────────────────────────────────────────────────────────
  'GET /healthz': { who: 'anyone', scope: null },
  'GET /readyz': { who: 'anyone', scope: null },
  // issue 13: not public; a METRICS_TOKEN scrape or a System Admin (tested in test/security-hardening.test.ts)
  'GET /metrics': { who: 'admin', scope: null },
  'GET /openapi.yaml': { who: 'anyone', scope: null },
  'GET /openapi.json': { who: 'anyone', scope: null },
  'GET /docs': { who: 'anyone', scope: null },
  'GET /api/admin/jobs/': { who: 'admin', scope: 'jobs:read' },
  // "failed and dead-lettered jobs; retry" — a real failed job
  'POST /api/admin/jobs/{queue}/{id}/retry/': { who: 'admin', scope: 'jobs:write', object: 'failedJob' },
  // api.md does not say who reads reports; staff (the spec: Coordinators and Admins, keys with tickets:read)
  'GET /api/reports/tickets/': { who: 'staff', scope: 'tickets:read' },
  // issue 20: ticket analytics for staff, chat analytics for System Admins; API keys need reports:read
  'GET /api/reports/tickets/volume/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/tickets/backlog/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/tickets/times/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/tickets/workload/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/chat/': { who: 'admin', scope: 'reports:read' },

  // ─── Service levels (issue 16: CRUD for System Admins; staff read) ──────────
  'GET /api/sla/calendars/': { who: 'staff', scope: 'tickets:read' },
  'POST /api/sla/calendars/': { who: 'admin', scope: null, body: () => ({ name: `desk ${Math.random().toString(36).slice(2)}`, time_zone: 'Europe/London', hours: { monday: [{ from: '09:00', to: '17:00' }] } }) },
  'GET /api/sla/calendars/{id}/': { who: 'staff', scope: 'tickets:read', object: 'slaCalendar' },
  'PATCH /api/sla/calendars/{id}/': { who: 'admin', scope: null, object: 'slaCalendar', body: () => ({ holidays: [{ date: '2026-12-25', recurring: true }] }) },
  'DELETE /api/sla/calendars/{id}/': { who: 'admin', scope: null, object: 'slaCalendar' },
  'GET /api/sla/policies/': { who: 'staff', scope: 'tickets:read' },
  'POST /api/sla/policies/': { who: 'admin', scope: null, body: () => ({ name: `policy ${Math.random().toString(36).slice(2)}`, targets: { first_response_minutes: 60 }, calendar_id: null }) },
  'GET /api/sla/policies/{id}/': { who: 'staff', scope: 'tickets:read', object: 'slaPolicy' },
  'PATCH /api/sla/policies/{id}/': { who: 'admin', scope: null, object: 'slaPolicy', body: () => ({ targets: { resolution_minutes: 480 } }) },
  'DELETE /api/sla/policies/{id}/': { who: 'admin', scope: null, object: 'slaPolicy' },
  'GET /api/reports/sla/': { who: 'staff', scope: 'reports:read' },
};

export type Expectation = 'allow' | 401 | 403 | 404 | 409;

/** What api.md says should happen to this caller. */
export function expected(rule: Rule, caller: Caller): Expectation {
  const decided = rule.cells?.[caller];
  if (decided !== undefined) return decided;
  if (rule.who === 'anyone') return 'allow';
  if (caller === 'anonymous') return 401;
  if (caller === 'api key with scope' || caller === 'api key without scope') {
    if (rule.scope === null) return 403;
    if (caller === 'api key without scope') return 403;
    // the test keys carry the System Admin role: whatever a System Admin may do
    return 'allow';
  }
  if (rule.who === 'apiKeyOnly') return 403;
  const owner = caller === 'employee (owner)';
  const employee = owner || caller === 'employee (not owner)';
  switch (rule.who) {
    case 'authenticated':
      return 'allow';
    case 'staff':
      return employee ? 403 : 'allow';
    case 'admin':
      return caller === 'system admin' ? 'allow' : 403;
    case 'ownerOrStaff':
      return employee && !owner ? 404 : 'allow';
    case 'owner':
      return owner ? 'allow' : employee ? 404 : 403;
    case 'adminOrOwnerWhileNew':
      return owner || caller === 'system admin' ? 'allow' : employee ? 404 : 403;
    case 'conversationOwner':
      return owner ? 'allow' : 404;
  }
}
