/**
 * The SLA engine: attaches a policy to a ticket, moves its clock on the ticket's changes, keeps
 * the pg-boss timers in step with the due times, and fires warnings and breaches.
 *
 * Everything runs in the caller's transaction (the ticket change, its SLA, its history and its
 * timers commit together). Timers: one warning and one breach job per running target, sent with
 * `startAfter` = the exact instant; when a due time moves, the old jobs are cancelled and new ones
 * sent; a job whose due time is no longer the target's (or whose target is met) does nothing. The
 * alert itself is an INSERT … ON CONFLICT DO NOTHING into sla_alerts (unique per ticket, target,
 * kind, due time): with any number of workers, or a job run twice after a crash, exactly one
 * transaction gets the row and only that one emails, emits the event and escalates.
 */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { AppContext } from '../../app/context.js';
import { knexExecutor } from '../../jobs/boss.js';
import { QUEUES, type JobPayloads } from '../../jobs/queues.js';
import { queueEmail } from '../notifications/notification-outbox.js';
import { SYSTEM_ACTOR as SYSTEM_EVENT_ACTOR } from '../events/events.js';
import { ticketEvent } from '../tickets/ticket-service.js';
import { findTicket } from '../tickets/ticket-store.js';
import type { ActorRef, HistoryInput } from '../tickets/ticket-model.js';
import type { TicketStatus } from '../tickets/ticket-states.js';
import { businessMsBetween, type BusinessCalendar } from './business-time.js';
import { clocks, pausesOf, summary, TARGETS, type ClockFacts, type TargetName, type Targets } from './sla-clock.js';
import { emitSlaEvent, wantsSlaEmail } from './sla-notify.js';
import { policyCacheOf, readPolicies } from './policy-cache.js';

export const SYSTEM_ACTOR: ActorRef = { actor_kind: 'system', actor_id: null, actor_api_key_id: null };
export const PRIORITY_LADDER = ['Low', 'Medium', 'High', 'Critical'] as const;
/** Statuses that end the ticket's work: the resolution target is met when a ticket reaches one. */
export const FINISHED: readonly TicketStatus[] = ['Resolved', 'Closed', 'Rejected', 'Withdrawn'];

export interface Conditions {
  priority?: string[];
  category?: string[];
  department?: string[];
}

export interface Escalation {
  /** raise the priority one step (Low → Medium → High → Critical) on breach */
  raise_priority?: boolean;
  /** assign the ticket to this coordinator on breach */
  assign_to?: number | null;
}

export interface PolicyRow {
  id: number;
  name: string;
  position: number;
  conditions: Conditions;
  first_response_minutes: number | null;
  next_response_minutes: number | null;
  resolution_minutes: number | null;
  calendar_id: number | null;
  pause_statuses: string[];
  escalation: Escalation;
}

/** The ticket fields the engine reads. */
export interface SlaTicket {
  id: number;
  ticket_number: string;
  subject: string;
  priority: string | null;
  category: string;
  department: string | null;
  status: TicketStatus;
  assigned_to: number | null;
  submit_date: Date;
}

export interface SlaRow extends ClockFacts {
  ticket_id: number;
  policy_id: number | null;
  policy_name: string;
  reason: string;
  pause_statuses: string[];
  escalation: Escalation;
  first_response_due_at: Date | null;
  next_response_due_at: Date | null;
  resolution_due_at: Date | null;
  first_response_business_minutes: number | null;
  resolution_business_minutes: number | null;
  breach_at: Date | null;
  warn_at: Date | null;
  /** per target: the due time its jobs were sent for, and their ids */
  timers: Partial<Record<TargetName, { due: string; jobs: string[] }>>;
}

const matchesList = (list: string[] | undefined, v: string | null) => !list?.length || (v !== null && list.includes(v));

/** First policy (by position) whose every condition holds; the reason says which and why. */
export function matchPolicy(policies: PolicyRow[], t: Pick<SlaTicket, 'priority' | 'category' | 'department'>): { policy: PolicyRow; reason: string } | null {
  for (const p of policies) {
    const c = p.conditions ?? {};
    if (matchesList(c.priority, t.priority) && matchesList(c.category, t.category) && matchesList(c.department, t.department)) {
      const why = (['priority', 'category', 'department'] as const).filter((k) => c[k]?.length).map((k) => `${k} ${t[k]}`);
      return { policy: p, reason: `first matching policy (position ${p.position}): ${why.length ? why.join(', ') : 'matches every ticket'}` };
    }
  }
  return null;
}

const targetsOf = (p: PolicyRow): Targets => ({ first_response_minutes: p.first_response_minutes, next_response_minutes: p.next_response_minutes, resolution_minutes: p.resolution_minutes });
const iso = (d: Date | number | null) => (d === null ? null : new Date(d).toISOString());

export class SlaEngine {
  constructor(private readonly app: AppContext) {}

  get warningFraction(): number {
    return this.app.config.slaWarningPercent / 100;
  }

  private async calendarOf(db: Knex | Knex.Transaction, id: number | null): Promise<BusinessCalendar | null> {
    if (id === null) return null;
    const c = await db('sla_calendars').where({ id }).first('time_zone', 'hours', 'holidays');
    return c ? { time_zone: c.time_zone, hours: c.hours, holidays: c.holidays } : null;
  }

  /**
   * Which policy a new ticket gets, decided before the insert: from this process's copy of the
   * policies (src/features/sla/policy-cache.ts), kept current by NOTIFY, so creating a ticket reads
   * no policy rows.
   */
  async planFor(t: Pick<SlaTicket, 'priority' | 'category' | 'department'>) {
    return matchPolicy(await policyCacheOf(this.app).get(), t);
  }

  /** A new ticket: its first-response and resolution clocks start at submission. */
  async attach(trx: Knex.Transaction, t: SlaTicket, match: { policy: PolicyRow; reason: string }, actor: ActorRef): Promise<void> {
    const p = match.policy;
    const row = {
      ticket_id: t.id,
      policy_id: p.id,
      policy_name: p.name,
      reason: match.reason,
      targets: targetsOf(p),
      calendar: await this.calendarOf(trx, p.calendar_id),
      pause_statuses: p.pause_statuses,
      escalation: p.escalation ?? {},
      pauses: [],
      first_response_start: t.submit_date,
      resolution_start: t.submit_date,
    };
    await trx('ticket_sla').insert({ ...row, targets: JSON.stringify(row.targets), calendar: JSON.stringify(row.calendar), escalation: JSON.stringify(row.escalation), pauses: '[]' });
    const fresh = (await this.load(trx, t.id))!;
    await this.save(trx, t, fresh, actor, [{ event: 'sla', field: 'policy', from_value: null, to_value: `${p.name} — ${match.reason}`, is_internal: true }]);
  }

  async load(trx: Knex | Knex.Transaction, ticketId: number, lock = false): Promise<SlaRow | undefined> {
    const q = trx('ticket_sla').where({ ticket_id: ticketId }).first('*');
    if (lock) q.forUpdate();
    return (await q) as SlaRow | undefined;
  }

  /** Priority, category or department changed: match again; a new policy keeps the clocks' history. */
  async reevaluate(trx: Knex.Transaction, t: SlaTicket, actor: ActorRef): Promise<void> {
    const current = await this.load(trx, t.id, true);
    const match = matchPolicy(await readPolicies(trx), t);
    if (!match) {
      if (!current) return;
      await this.cancelTimers(trx, current, TARGETS);
      await trx('ticket_sla').where({ ticket_id: t.id }).delete();
      await this.history(trx, t.id, actor, [{ event: 'sla', field: 'policy', from_value: current.policy_name, to_value: null, is_internal: true }]);
      await emitSlaEvent(trx, { type: 'sla.policy_changed', actor: null, object: { type: 'ticket', id: t.ticket_number }, ticket_id: t.id, staff_only: true, data: { ticket_number: t.ticket_number, from: current.policy_name, to: null, reason: null } });
      return;
    }
    if (!current) {
      // matched only now (e.g. a priority set on approval): the clocks still count from submission
      await this.attach(trx, t, match, actor);
      const row = (await this.load(trx, t.id, true))!;
      if (t.status !== 'New') await this.applyStatus(trx, t, row, 'New', t.status, actor, true);
      return;
    }
    // same policy too: its current copy is taken (and the due times recomputed)
    const p = match.policy;
    const next: SlaRow = { ...current, policy_id: p.id, policy_name: p.name, reason: match.reason, targets: targetsOf(p), calendar: await this.calendarOf(trx, p.calendar_id), pause_statuses: p.pause_statuses, escalation: p.escalation ?? {} };
    const changed = current.policy_id !== p.id;
    const notes: HistoryInput[] = changed ? [{ event: 'sla', field: 'policy', from_value: current.policy_name, to_value: `${p.name} — ${match.reason}`, is_internal: true }] : [];
    // (save adds its due-time notes to `notes`: whether the policy changed is decided before)
    await this.save(trx, t, next, actor, notes);
    if (changed) await emitSlaEvent(trx, { type: 'sla.policy_changed', actor: null, object: { type: 'ticket', id: t.ticket_number }, ticket_id: t.id, staff_only: true, data: { ticket_number: t.ticket_number, from: current.policy_name, to: p.name, reason: match.reason } });
  }

  /** A status move: pauses, first response (leaving New), resolution (finished), reopen. */
  async onStatus(trx: Knex.Transaction, t: SlaTicket, from: TicketStatus, to: TicketStatus, actor: ActorRef): Promise<void> {
    const row = await this.load(trx, t.id, true);
    if (!row) return;
    await this.applyStatus(trx, t, row, from, to, actor, false);
  }

  private async applyStatus(trx: Knex.Transaction, t: SlaTicket, row: SlaRow, from: TicketStatus, to: TicketStatus, actor: ActorRef, catchUp: boolean): Promise<void> {
    const now = new Date();
    const next: SlaRow = { ...row, pauses: [...row.pauses] };
    const pausing = (s: TicketStatus) => row.pause_statuses.includes(s);
    const open = next.pauses.findIndex((p) => p.to === null);
    if (pausing(to) && open < 0) next.pauses.push({ from: now.toISOString(), to: null });
    if (!pausing(to) && open >= 0) next.pauses[open] = { ...next.pauses[open]!, to: now.toISOString() };
    if (from === 'New' && to !== 'New' && !next.first_response_met_at) next.first_response_met_at = catchUp ? (await this.leftNewAt(trx, t.id)) ?? now : now;
    if (FINISHED.includes(to) && !next.resolution_met_at) next.resolution_met_at = now;
    if (FINISHED.includes(to) && next.next_response_start && !next.next_response_met_at) next.next_response_met_at = now;
    if (FINISHED.includes(from) && !FINISHED.includes(to) && next.resolution_met_at) {
      // reopened: the clock runs on from where it stopped; the finished time is not counted
      next.pauses.push({ from: next.resolution_met_at.toISOString(), to: now.toISOString() });
      next.resolution_met_at = null;
      next.resolution_business_minutes = null;
    }
    await this.save(trx, t, next, actor, []);
  }

  private async leftNewAt(trx: Knex.Transaction, ticketId: number): Promise<Date | null> {
    const h = await trx('ticket_history').where({ ticket_id: ticketId, event: 'status_changed', from_value: 'New' }).orderBy('id').first('created_at');
    return h?.created_at ?? null;
  }

  /** A comment: a public staff reply answers (staff on their own ticket too); the owner's comment asks for a next response. */
  async onComment(trx: Knex.Transaction, t: SlaTicket, who: { staff: boolean; owner: boolean; internal: boolean }, actor: ActorRef): Promise<void> {
    if (who.internal) return;
    const row = await this.load(trx, t.id, true);
    if (!row) return;
    const now = new Date();
    const next: SlaRow = { ...row };
    if (who.staff) {
      if (!next.first_response_met_at) next.first_response_met_at = now;
      if (next.next_response_start && !next.next_response_met_at) next.next_response_met_at = now;
    } else if (who.owner && next.first_response_met_at && !FINISHED.includes(t.status) && (!next.next_response_start || next.next_response_met_at)) {
      next.next_response_start = now;
      next.next_response_met_at = null;
    } else return;
    await this.save(trx, t, next, actor, []);
  }

  /** Recompute due times, write the row, note moved due times in the history, keep the timers in step. */
  async save(trx: Knex.Transaction, t: SlaTicket, next: SlaRow, actor: ActorRef, notes: HistoryInput[]): Promise<SlaRow> {
    const cs = clocks(next, this.warningFraction);
    const byTarget = new Map(cs.map((c) => [c.target, c]));
    const before: Record<string, string | null> = {};
    for (const target of TARGETS) before[target] = iso(next[`${target}_due_at`]);
    const values: Record<string, unknown> = {};
    for (const target of TARGETS) {
      const c = byTarget.get(target);
      const due = c?.due ?? null;
      values[`${target}_due_at`] = due === null ? null : new Date(due);
      next[`${target}_due_at`] = due === null ? null : new Date(due);
      if (iso(due) !== before[target] && (before[target] !== null || due !== null)) notes.push({ event: 'sla', field: `${target}_due_at`, from_value: before[target] ?? null, to_value: iso(due), is_internal: true });
    }
    const fr = byTarget.get('first_response');
    if (fr?.met_at != null && next.first_response_business_minutes == null) next.first_response_business_minutes = Math.floor(businessMinutes(next, fr.start, fr.met_at));
    const res = byTarget.get('resolution');
    if (res?.met_at != null && next.resolution_business_minutes == null) next.resolution_business_minutes = Math.floor(businessMinutes(next, res.start, res.met_at));
    const s = summary(cs);
    // timers: every running target has jobs for exactly its current due time
    const timers = { ...(next.timers ?? {}) };
    const stale: string[] = [];
    for (const target of TARGETS) {
      const c = byTarget.get(target);
      const want = c && c.met_at === null && c.due !== null ? iso(c.due) : null;
      const have = timers[target];
      if (have && have.due === want) continue;
      if (have) stale.push(...have.jobs);
      delete timers[target];
      if (want && c) {
        const jobs: string[] = [];
        const now = Date.now();
        for (const [kind, at] of [['warning', c.warn], ['breach', c.due]] as const) {
          if (at === null) continue;
          if (kind === 'warning' && c.due! <= now) continue; // overdue already: the breach says it
          const payload: JobPayloads[typeof QUEUES.slaTimer] = { ticketId: t.id, target, kind, due: want };
          const id = await this.app.jobs.enqueue(trx, QUEUES.slaTimer, payload, { startAfter: new Date(Math.max(at, now)) });
          if (id) jobs.push(id);
        }
        timers[target] = { due: want, jobs };
      }
    }
    if (stale.length) await this.app.jobs.boss.cancel(QUEUES.slaTimer, stale, { db: knexExecutor(trx) });
    next.timers = timers;
    await trx('ticket_sla')
      .where({ ticket_id: t.id })
      .update({
        ...values,
        policy_id: next.policy_id,
        policy_name: next.policy_name,
        reason: next.reason,
        targets: JSON.stringify(next.targets),
        calendar: JSON.stringify(next.calendar),
        pause_statuses: next.pause_statuses,
        escalation: JSON.stringify(next.escalation ?? {}),
        pauses: JSON.stringify(next.pauses),
        first_response_start: next.first_response_start,
        first_response_met_at: next.first_response_met_at,
        first_response_business_minutes: next.first_response_business_minutes,
        next_response_start: next.next_response_start,
        next_response_met_at: next.next_response_met_at,
        resolution_start: next.resolution_start,
        resolution_met_at: next.resolution_met_at,
        resolution_business_minutes: next.resolution_business_minutes,
        breach_at: s.breach_at,
        warn_at: s.warn_at,
        timers: JSON.stringify(timers),
        priority: t.priority,
        category: t.category,
        assignee_id: t.assigned_to,
        updated_at: trx.fn.now(),
      });
    await this.history(trx, t.id, actor, notes);
    return next;
  }

  private async cancelTimers(trx: Knex.Transaction, row: SlaRow, targets: readonly TargetName[]): Promise<void> {
    const ids = targets.flatMap((tg) => row.timers?.[tg]?.jobs ?? []);
    if (ids.length) await this.app.jobs.boss.cancel(QUEUES.slaTimer, ids, { db: knexExecutor(trx) });
  }

  private async history(trx: Knex.Transaction, ticketId: number, actor: ActorRef, entries: HistoryInput[]): Promise<void> {
    if (!entries.length) return;
    await trx('ticket_history').insert(entries.map((e) => ({ ticket_id: ticketId, ...actor, field: null, from_value: null, to_value: null, is_internal: false, ...e })));
  }

  /**
   * The `sla.timer` job. Locks the ticket (the same order as every ticket change: tickets, then
   * ticket_sla), checks the job is still current, and claims the alert row; only the claimant acts.
   */
  async fire(job: JobPayloads[typeof QUEUES.slaTimer]): Promise<'fired' | 'stale' | 'duplicate'> {
    return this.app.db.transaction(async (trx) => {
      const t = (await trx('tickets').where({ id: job.ticketId }).forUpdate().first('id', 'ticket_number', 'subject', 'priority', 'category', 'department', 'status', 'assigned_to', 'submit_date')) as SlaTicket | undefined;
      if (!t) return 'stale';
      const row = await this.load(trx, t.id, true);
      if (!row) return 'stale';
      const due = row[`${job.target}_due_at`];
      if (row[`${job.target}_met_at`] || !due || due.toISOString() !== job.due) return 'stale';
      // a warning that comes too late (workers were down) would only repeat what the breach says
      if (job.kind === 'warning' && due.getTime() <= Date.now()) return 'stale';
      const ins = await trx.raw(`INSERT INTO sla_alerts (ticket_id, target, kind, due_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`, [t.id, job.target, job.kind, due]);
      if (!ins.rows.length) return 'duplicate';
      const dueText = formatDue(due, row.calendar);
      await this.history(trx, t.id, SYSTEM_ACTOR, [{ event: 'sla', field: `${job.target}_${job.kind === 'breach' ? 'breached' : 'warning'}`, from_value: null, to_value: due.toISOString(), is_internal: true }]);
      await emitSlaEvent(trx, {
        type: job.kind === 'breach' ? 'sla.breached' : 'sla.warning',
        actor: { kind: 'system', id: null, display: 'SLA timer' },
        object: { type: 'ticket', id: t.ticket_number },
        ticket_id: t.id,
        staff_only: true,
        data: { ticket_number: t.ticket_number, target: job.target, due_at: due.toISOString(), policy: row.policy_name },
      });
      const people = await this.recipients(trx, t);
      const want = await wantsSlaEmail(trx, people.map((p) => p.id));
      for (const person of people) {
        if (!want.has(person.id)) continue;
        await queueEmail(trx, this.app.jobs, {
          template: 'sla_alert',
          to: person.email,
          data: { first_name: person.first_name, ticket_number: t.ticket_number, subject: t.subject, kind: job.kind, target: job.target, due: dueText, policy: row.policy_name },
        });
      }
      if (job.kind === 'breach') await this.escalate(trx, t, row, job.target, ins.rows[0].id as number);
      return 'fired';
    });
  }

  /** The assignee; nobody assigned: every active coordinator. */
  private async recipients(trx: Knex.Transaction, t: SlaTicket): Promise<{ id: number; email: string; first_name: string }[]> {
    const q = trx('employees').where({ status: 'Approved' }).select('id', 'email', 'first_name').orderBy('id');
    if (t.assigned_to !== null) q.where({ id: t.assigned_to });
    else q.where({ role: 'Ticket Coordinator' });
    return q;
  }

  /** Once per ticket and target, whatever the number of breaches and workers. */
  private async escalate(trx: Knex.Transaction, t: SlaTicket, row: SlaRow, target: TargetName, alertId: number): Promise<void> {
    const e = row.escalation ?? {};
    if (!e.raise_priority && !e.assign_to) return;
    const done = await trx('sla_alerts').where({ ticket_id: t.id, target, escalated: true }).first('id');
    if (done) return;
    await trx('sla_alerts').where({ id: alertId }).update({ escalated: true });
    const changes: Record<string, unknown> = {};
    const notes: HistoryInput[] = [];
    if (e.raise_priority) {
      const i = PRIORITY_LADDER.indexOf((t.priority ?? 'Low') as (typeof PRIORITY_LADDER)[number]);
      const up = t.priority === null ? 'Medium' : PRIORITY_LADDER[Math.min(i + 1, PRIORITY_LADDER.length - 1)]!;
      if (up !== t.priority) {
        changes.priority = up;
        notes.push({ event: 'updated', field: 'priority', from_value: t.priority, to_value: up });
      }
    }
    if (e.assign_to && e.assign_to !== t.assigned_to) {
      const who = await trx('employees').where({ id: e.assign_to, status: 'Approved' }).whereIn('role', ['Ticket Coordinator', 'System Admin']).first('id');
      if (who) {
        changes.assigned_to = e.assign_to;
        notes.push({ event: 'assigned', field: 'assigned_to', from_value: t.assigned_to === null ? null : String(t.assigned_to), to_value: String(e.assign_to) });
      }
    }
    if (!notes.length) return;
    await trx('tickets').where({ id: t.id }).update({ ...changes, update_date: trx.fn.now(), version: trx.raw('version + 1') });
    await this.history(trx, t.id, SYSTEM_ACTOR, [...notes, { event: 'sla', field: `${target}_escalated`, to_value: notes.map((n) => `${n.field}=${n.to_value}`).join(', '), is_internal: true }]);
    if (changes.priority) await this.reevaluate(trx, { ...t, priority: changes.priority as string, assigned_to: (changes.assigned_to as number | undefined) ?? t.assigned_to }, SYSTEM_ACTOR);
    // the escalation is a change of the ticket like any other: its events, in the same transaction
    const fresh = await findTicket(trx, { by: 'id', value: t.id });
    if (!fresh) return;
    const before: Record<string, unknown> = { priority: t.priority, assigned_to: t.assigned_to };
    const previous = Object.fromEntries(Object.keys(changes).map((k) => [k, before[k] ?? null]));
    await ticketEvent(trx, 'ticket.updated', fresh, SYSTEM_EVENT_ACTOR, { previous, via: 'sla_escalation' });
    if (changes.assigned_to !== undefined) await ticketEvent(trx, 'ticket.assigned', fresh, SYSTEM_EVENT_ACTOR, { assignee_id: changes.assigned_to, via: 'sla_escalation' });
  }

  /** A policy or calendar changed: re-copy it onto the open tickets that use it (the `sla.recompute` job). */
  async recompute(job: JobPayloads[typeof QUEUES.slaRecompute]): Promise<number> {
    const q = this.app.db('ticket_sla as s').join('tickets as t', 't.id', 's.ticket_id').whereNotIn('t.status', FINISHED as TicketStatus[]).select('s.ticket_id').orderBy('s.ticket_id');
    if (job.policyId !== undefined) q.where('s.policy_id', job.policyId);
    if (job.calendarId !== undefined) q.whereIn('s.policy_id', this.app.db('sla_policies').where({ calendar_id: job.calendarId }).select('id'));
    const ids = (await q).map((r: { ticket_id: number }) => r.ticket_id);
    for (const id of ids) {
      await this.app.db.transaction(async (trx) => {
        const t = (await trx('tickets').where({ id }).forUpdate().first('id', 'ticket_number', 'subject', 'priority', 'category', 'department', 'status', 'assigned_to', 'submit_date')) as SlaTicket | undefined;
        const row = t && (await this.load(trx, id, true));
        if (!t || !row) return;
        const p = row.policy_id === null ? undefined : ((await trx('sla_policies').where({ id: row.policy_id }).first('*')) as PolicyRow | undefined);
        if (!p) return;
        await this.save(trx, t, { ...row, targets: targetsOf(p), calendar: await this.calendarOf(trx, p.calendar_id), pause_statuses: p.pause_statuses, escalation: p.escalation ?? {} }, SYSTEM_ACTOR, []);
      });
    }
    return ids.length;
  }
}

const businessMinutes = (f: ClockFacts, from: number, to: number): number => businessMsBetween(from, to, f.calendar, pausesOf(f)) / 60_000;

/** A due time as people read it: in the calendar's zone (UTC for 24/7). */
export function formatDue(d: Date, cal: BusinessCalendar | null): string {
  const zone = cal?.time_zone ?? 'UTC';
  return `${DateTime.fromJSDate(d, { zone }).toFormat('yyyy-MM-dd HH:mm')} ${zone}`;
}
