/**
 * "Who can call what", transcribed by hand from api.md (the design contract), keyed by
 * `METHOD path` as api.md writes them. This table is deliberately independent of openapi.yaml's
 * x-roles/x-scope: the authorization matrix compares the running server against it, so a wrong
 * x-roles in the spec is caught instead of being read back.
 *
 * Scopes for API keys: api.md names the scopes (tickets:read, tickets:write, employees:read,
 * employees:write, media:read, workflow:callback, chat) and which endpoints take which where it says
 * so; the rest follow the resource and the verb (reads → :read, writes → :write). `null` means a
 * person's own action (API keys are refused); '?' means api.md does not say (the key cells are not
 * asserted, only that nothing breaks).
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
  /** only the conversation's owner; other employees 404; staff not said */
  | 'conversationOwner'
  /** only API keys (with the scope); people get 403 */
  | 'apiKeyOnly';

export const CALLERS = ['anonymous', 'employee (owner)', 'employee (not owner)', 'ticket coordinator', 'system admin', 'api key with scope', 'api key without scope'] as const;
export type Caller = (typeof CALLERS)[number];

export interface Rule {
  who: Who;
  scope: Scope | null | '?';
  /** fixture for the path parameter (and body vars) */
  object?: FixtureKind;
  ticketStatus?: TicketStatus;
  /** the body carries credentials (login, refresh, reset): their rejection is not an authorization denial */
  credentialsInBody?: true;
  /** cells api.md leaves open: not asserted */
  open?: Caller[];
  /** other `METHOD path` shapes in openapi.yaml that implement this api.md endpoint */
  aliases?: string[];
  /** request body from the fixture's vars (default: a minimal valid body generated from the spec) */
  body?: (vars: Record<string, string | number>) => unknown;
}

const strongPassword = 'Correct-Horse-Battery-9';

export const ACCESS: Record<string, Rule> = {
  // ─── Auth ──────────────────────────────────────────────────────────────────
  'POST /api/token/employee/': { who: 'anyone', scope: null, credentialsInBody: true, body: () => ({ email: 'nobody@example.com', password: 'not-the-password' }) },
  'POST /api/token/admin/': { who: 'anyone', scope: null, credentialsInBody: true, body: () => ({ email: 'nobody@example.com', password: 'not-the-password' }) },
  'POST /api/token/refresh/': { who: 'anyone', scope: null, credentialsInBody: true },
  'POST /api/token/logout/': { who: 'authenticated', scope: null, credentialsInBody: true },
  'POST /api/employee/change-password/': { who: 'authenticated', scope: null, credentialsInBody: true, body: () => ({ current_password: 'not-the-password', new_password: strongPassword }) },
  'POST /api/employee/forgot-password/': { who: 'anyone', scope: null, body: () => ({ email: 'nobody@example.com' }) },
  'POST /api/employee/reset-password/': { who: 'anyone', scope: null, credentialsInBody: true },
  'GET /api/admin/api-keys/': { who: 'admin', scope: '?' },
  'POST /api/admin/api-keys/': { who: 'admin', scope: '?' },
  'DELETE /api/admin/api-keys/{id}/': { who: 'admin', scope: '?', object: 'apiKey' },

  // ─── Employees ─────────────────────────────────────────────────────────────
  'POST /api/create_employee/': {
    who: 'anyone',
    scope: null,
    body: () => {
      const n = Math.random().toString(36).slice(2, 10);
      return { first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email: `ada.${n}@example.com`, password: strongPassword, confirm_password: strongPassword };
    },
  },
  'POST /api/admin/create-employee/': { who: 'admin', scope: 'employees:write' },
  'GET /api/employees/': { who: 'staff', scope: 'employees:read' },
  // "System Admin"; the list row adds "Coordinators read-only", which may or may not cover one employee
  'GET /api/employees/{id}/': { who: 'admin', scope: 'employees:read', object: 'employee', open: ['ticket coordinator'] },
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
  'POST /api/tickets/': { who: 'authenticated', scope: 'tickets:write' },
  'GET /api/tickets/{id}/': { who: 'ownerOrStaff', scope: 'tickets:read', object: 'ticket' },
  'PUT /api/tickets/{id}/': { who: 'ownerOrStaff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New' },
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
  'POST /api/tickets/{id}/approve/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New' },
  'POST /api/tickets/{id}/reject/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', body: () => ({ rejection_reason: 'Duplicate of another ticket.' }) },
  'POST /api/tickets/{id}/claim/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Open' },
  'POST /api/tickets/{id}/update-status/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Open', body: () => ({ status: 'On Hold' }) },
  'POST /api/tickets/{id}/finalize/': { who: 'staff', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Open' },
  'POST /api/tickets/{id}/withdraw/': { who: 'owner', scope: 'tickets:write', object: 'ticket', ticketStatus: 'New', open: ['api key with scope'] },
  'POST /api/tickets/{id}/close/': { who: 'owner', scope: 'tickets:write', object: 'ticket', ticketStatus: 'Resolved', open: ['api key with scope'] },

  // ─── Workflow ──────────────────────────────────────────────────────────────
  'GET /api/workflow/deliveries/': { who: 'staff', scope: '?' },
  'POST /api/workflow/deliveries/{id}/redeliver/': { who: 'staff', scope: '?', object: 'delivery' },
  'POST /api/workflow/status/': { who: 'apiKeyOnly', scope: 'workflow:callback', object: 'ticket', ticketStatus: 'Open', body: (v) => ({ ticket_number: v.ticket_number, status: 'In Progress' }) },

  // ─── Notifications ─────────────────────────────────────────────────────────
  // api.md only names the path; /api/admin/… is for administrators (rejected-users-count there is staff)
  'GET /api/admin/notifications/': { who: 'admin', scope: '?', open: ['ticket coordinator'] },

  // ─── FAQ chatbot ───────────────────────────────────────────────────────────
  'GET /api/faqs/': { who: 'anyone', scope: null },
  // not in api.md's table; one entry of the public knowledge base is public too
  'GET /api/faqs/{id}/': { who: 'anyone', scope: null, object: 'faq' },
  'POST /api/faqs/': { who: 'admin', scope: '?' },
  'PATCH /api/faqs/{id}/': { who: 'admin', scope: '?', object: 'faq' },
  'DELETE /api/faqs/{id}/': { who: 'admin', scope: '?', object: 'faq' },
  'POST /api/chat/': { who: 'authenticated', scope: 'chat', body: () => ({ message: 'How do I reset my password?' }) },
  'GET /api/chat/{conversation_id}/': { who: 'conversationOwner', scope: 'chat', object: 'conversation', open: ['api key with scope'] },
  'POST /api/chat/{conversation_id}/escalate/': { who: 'conversationOwner', scope: 'chat', object: 'conversation', open: ['api key with scope'] },

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
  // "failed and dead-lettered jobs; retry"
  'POST /api/admin/jobs/{queue}/{id}/retry/': { who: 'admin', scope: 'jobs:write' },
  // api.md does not say who reads reports; staff at least
  'GET /api/reports/tickets/': { who: 'staff', scope: '?', open: ['ticket coordinator'] },
  // issue 20: ticket analytics for staff, chat analytics for System Admins; API keys need reports:read
  'GET /api/reports/tickets/volume/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/tickets/backlog/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/tickets/times/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/tickets/workload/': { who: 'staff', scope: 'reports:read' },
  'GET /api/reports/chat/': { who: 'admin', scope: 'reports:read' },
};

export type Expectation = 'allow' | 401 | 403 | 404 | 'open';

/** What api.md says should happen to this caller. */
export function expected(rule: Rule, caller: Caller): Expectation {
  if (rule.open?.includes(caller)) return 'open';
  if (rule.who === 'anyone') return 'allow';
  if (caller === 'anonymous') return 401;
  if (caller === 'api key with scope' || caller === 'api key without scope') {
    if (rule.scope === '?') return 'open';
    if (rule.scope === null) return 403;
    if (caller === 'api key without scope') return 403;
    // the test keys carry the System Admin role: whatever a System Admin may do
    return rule.who === 'owner' || rule.who === 'conversationOwner' ? 'open' : 'allow';
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
      return owner ? 'allow' : employee ? 404 : 'open';
  }
}
