/**
 * Notification preferences: which events email a person. THE catalogue of keys is here (and in
 * docs/notifications.md, and as the PUT body's properties in openapi.yaml); every feature that
 * emails a person about an event asks `wantsEmail` / `wantsEmailMany` before queueing the mail.
 *
 * - A key has a default and an audience (everyone, or staff = Ticket Coordinator / System Admin).
 *   A person outside a key's audience never gets that mail and cannot set it.
 * - Only explicit choices are stored (notification_preferences); no row = the default.
 * - `required` keys (account security: password reset, new API key, account changes) cannot be
 *   turned off: `wantsEmail` answers true without a query and the API refuses to store false.
 */
import type { Knex } from 'knex';
import { STAFF_ROLES, type Role } from '../../http/auth.js';
import { unprocessable } from '../../http/errors.js';
import type { EmailTemplate } from './notification-outbox.js';

export type Audience = 'everyone' | 'staff';

export interface PreferenceDefinition {
  description: string;
  default: boolean;
  audience: Audience;
  /** cannot be turned off */
  required?: true;
}

/** Add a key here, to docs/notifications.md and to NotificationPreferencesUpdate in openapi.yaml. */
export const NOTIFICATION_PREFERENCES = {
  ticket_updates: { description: 'status changes of tickets you own', default: true, audience: 'everyone' },
  ticket_comments: { description: 'public comments on tickets you own', default: true, audience: 'everyone' },
  ticket_assigned: { description: 'tickets assigned to you, and comments on them (staff)', default: true, audience: 'staff' },
  sla_warnings: { description: 'SLA warnings and breaches of tickets you handle (staff)', default: true, audience: 'staff' },
  weekly_digest: { description: "the weekly digest: last week's volume, backlog, unanswered chat questions (staff)", default: false, audience: 'staff' },
  announcements: { description: 'system announcements sent by email', default: true, audience: 'everyone' },
  account_security: { description: 'password resets, API keys and changes to your account (cannot be turned off)', default: true, audience: 'everyone', required: true },
} as const satisfies Record<string, PreferenceDefinition>;

export type NotificationKey = keyof typeof NOTIFICATION_PREFERENCES;
export const NOTIFICATION_KEYS = Object.keys(NOTIFICATION_PREFERENCES) as NotificationKey[];

/** The preference each email template answers to (a new template must name one). */
export const TEMPLATE_PREFERENCE: Record<EmailTemplate, NotificationKey> = {
  account_pending: 'account_security',
  account_approved: 'account_security',
  account_rejected: 'account_security',
  account_created: 'account_security',
  account_deactivated: 'account_security',
  account_reactivated: 'account_security',
  password_reset: 'account_security',
  ticket_status_changed: 'ticket_updates',
  ticket_commented: 'ticket_comments',
  weekly_digest: 'weekly_digest',
  sla_alert: 'sla_warnings',
  // an operational alert to every System Admin: like a security notice, it cannot be turned off
  webhook_disabled: 'account_security',
  // the email channel: the acknowledgement of a mailed-in ticket follows ticket updates; the polite
  // bounce goes to addresses that are no account (nothing to prefer); announcements have their own key
  ticket_received: 'ticket_updates',
  inbound_bounce: 'account_security',
  announcement: 'announcements',
};

const def = (key: NotificationKey): PreferenceDefinition => NOTIFICATION_PREFERENCES[key];
export const isNotificationKey = (k: string): k is NotificationKey => Object.prototype.hasOwnProperty.call(NOTIFICATION_PREFERENCES, k);

/** Whether a person with `role` is in the key's audience. */
export function appliesTo(key: NotificationKey, role: string): boolean {
  const a = def(key).audience;
  return a === 'everyone' || (STAFF_ROLES as readonly string[]).includes(role);
}

const decide = (key: NotificationKey, role: string, chosen: boolean | null | undefined): boolean => {
  if (!appliesTo(key, role)) return false;
  if (def(key).required) return true;
  return chosen ?? def(key).default;
};

/**
 * Does this person want an email for `key`? One indexed lookup. Unknown people → false. (A
 * deactivated or erased account is the email worker's business: it records such mails as failed, not
 * sent, so the delivery log shows them.) Call it in the transaction that queues the mail.
 */
export async function wantsEmail(db: Knex | Knex.Transaction, employeeId: number, key: NotificationKey): Promise<boolean> {
  return (await wantsEmailMany(db, [employeeId], key)).has(employeeId);
}

/** The subset of `employeeIds` who want an email for `key` — one query for any number of people. */
export async function wantsEmailMany(db: Knex | Knex.Transaction, employeeIds: readonly number[], key: NotificationKey): Promise<Set<number>> {
  const ids = [...new Set(employeeIds.filter((n) => Number.isSafeInteger(n)))];
  if (!ids.length) return new Set();
  const { rows } = (await db.raw(
    `SELECT e.id, e.role, p.enabled
       FROM employees e
       LEFT JOIN notification_preferences p ON p.employee_id = e.id AND p.key = ?
      WHERE e.id = ANY(?::bigint[])`,
    [key, ids],
  )) as { rows: { id: string | number; role: string; enabled: boolean | null }[] };
  return new Set(rows.filter((r) => decide(key, r.role, r.enabled)).map((r) => Number(r.id)));
}

export interface Recipient {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  role: Role;
}

/**
 * Everyone (Approved and active, in the key's audience, optionally only `roles`) who wants `key` — for mails
 * that go to a population rather than to named people (the weekly digest, announcements). One query.
 */
export async function recipientsFor(db: Knex | Knex.Transaction, key: NotificationKey, opts: { roles?: readonly Role[] } = {}): Promise<Recipient[]> {
  const d = def(key);
  const roles = (opts.roles ?? (d.audience === 'staff' ? STAFF_ROLES : ['Employee', ...STAFF_ROLES])).filter((r) => appliesTo(key, r));
  if (!roles.length) return [];
  const q = db('employees as e')
    .leftJoin('notification_preferences as p', (j) => j.on('p.employee_id', 'e.id').andOn('p.key', db.raw('?', [key])))
    .where('e.status', 'Approved')
    .whereNull('e.deactivated_at')
    .whereNull('e.erased_at')
    .whereIn('e.role', roles)
    .orderBy('e.id')
    .select('e.id', 'e.email', 'e.first_name', 'e.last_name', 'e.role');
  if (!d.required) {
    if (d.default) q.where((w) => w.whereNull('p.enabled').orWhere('p.enabled', true));
    else q.where('p.enabled', true);
  }
  const rows = (await q) as (Recipient & { id: string | number })[];
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

export interface PreferenceView {
  key: NotificationKey;
  description: string;
  enabled: boolean;
  default: boolean;
  /** true when the person chose this value (false: it follows the default) */
  customized: boolean;
  /** cannot be turned off */
  locked: boolean;
}

/** A person's preferences, every key of their audience, in catalogue order. */
export async function getPreferences(db: Knex | Knex.Transaction, employeeId: number, role: string): Promise<PreferenceView[]> {
  const rows = (await db('notification_preferences').where({ employee_id: employeeId }).select('key', 'enabled')) as { key: string; enabled: boolean }[];
  const chosen = new Map(rows.map((r) => [r.key, r.enabled]));
  return NOTIFICATION_KEYS.filter((k) => appliesTo(k, role)).map((key) => {
    const d = def(key);
    const c = chosen.get(key);
    return { key, description: d.description, enabled: decide(key, role, c), default: d.default, customized: !d.required && c !== undefined, locked: Boolean(d.required) };
  });
}

/**
 * Apply `changes` (true/false = choose; null = back to the default) for one person, atomically:
 * every key is checked first (422 for a key outside the person's audience or a required key turned
 * off), then all are written.
 */
export async function setPreferences(db: Knex, employeeId: number, role: string, changes: Record<string, boolean | null>): Promise<PreferenceView[]> {
  const errors: { field: string; message: string }[] = [];
  for (const [k, v] of Object.entries(changes)) {
    if (!isNotificationKey(k)) errors.push({ field: k, message: 'is not a notification preference' });
    else if (!appliesTo(k, role)) errors.push({ field: k, message: `is only for ${def(k).audience === 'staff' ? 'Ticket Coordinators and System Admins' : 'other roles'}` });
    else if (def(k).required && v === false) errors.push({ field: k, message: 'cannot be turned off' });
  }
  if (errors.length) {
    const locked = errors.some((e) => e.message === 'cannot be turned off');
    throw unprocessable(locked ? 'preference_locked' : 'preference_not_applicable', locked ? 'Security emails cannot be turned off.' : 'These preferences do not apply to your role.', errors);
  }
  return db.transaction(async (trx) => {
    for (const [k, v] of Object.entries(changes) as [NotificationKey, boolean | null][]) {
      if (v === null || def(k).required) {
        await trx('notification_preferences').where({ employee_id: employeeId, key: k }).delete();
      } else {
        await trx.raw(
          `INSERT INTO notification_preferences (employee_id, key, enabled) VALUES (?, ?, ?)
           ON CONFLICT (employee_id, key) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`,
          [employeeId, k, v],
        );
      }
    }
    return getPreferences(trx, employeeId, role);
  });
}
