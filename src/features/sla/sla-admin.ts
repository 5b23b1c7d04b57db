/**
 * Calendars and policies (System Admins change them; staff read them) and the SLA report. A change
 * that moves due times (hours, holidays, zone; targets, calendar, pauses, escalation) queues an
 * `sla.recompute` job in the same transaction: open tickets get the new copy and new timers.
 */
import { flushPolicyCachesAfterCommit } from './policy-cache.js';
import type { BeforeCommit } from '../../http/idempotency.js';
import type { Knex } from 'knex';
import type { AppContext } from '../../app/context.js';
import { conflict, notFound, unprocessable } from '../../http/errors.js';
import { paginate } from '../../http/pagination.js';
import { QUEUES } from '../../jobs/queues.js';
import { calendarProblems, type BusinessCalendar } from './business-time.js';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CALENDAR_COLUMNS = ['id', 'name', 'time_zone', 'hours', 'holidays', 'is_default', 'created_at', 'updated_at'];

export function numericId(raw: string, what: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw notFound(what);
  return Number(raw);
}

function checkCalendar(c: BusinessCalendar): void {
  const problems = calendarProblems(c);
  if (problems.length) throw unprocessable('invalid_calendar', 'The calendar is not valid.', problems.map((message) => ({ field: message.split(/[ .:]/)[0] ?? 'calendar', message })));
}

const uniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505';

export function presentPolicy(p: Body) {
  return {
    id: Number(p.id),
    name: p.name,
    position: p.position,
    conditions: { priority: p.conditions?.priority ?? [], category: p.conditions?.category ?? [], department: p.conditions?.department ?? [] },
    targets: { first_response_minutes: p.first_response_minutes, next_response_minutes: p.next_response_minutes, resolution_minutes: p.resolution_minutes },
    calendar_id: p.calendar_id === null ? null : Number(p.calendar_id),
    pause_statuses: p.pause_statuses,
    escalation: { raise_priority: Boolean(p.escalation?.raise_priority), assign_to: p.escalation?.assign_to ?? null },
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

const presentCalendar = (c: Body) => ({ ...c, id: Number(c.id) });

export class SlaAdmin {
  constructor(private readonly app: AppContext) {}

  private get db(): Knex {
    return this.app.db;
  }

  // ─── calendars ─────────────────────────────────────────────────────────────
  async listCalendars(q: { limit?: number; cursor?: string }) {
    const page = await paginate<Body>(this.db('sla_calendars').select(CALENDAR_COLUMNS), { ...q, keys: [{ column: 'id', prop: 'id' }], direction: 'asc' });
    return { data: page.data.map(presentCalendar), next_cursor: page.next_cursor };
  }

  async getCalendar(raw: string) {
    const c = await this.db('sla_calendars').where({ id: numericId(raw, 'calendar') }).first(CALENDAR_COLUMNS);
    if (!c) throw notFound('calendar');
    return presentCalendar(c);
  }

  /** `beforeCommit`: an Idempotency-Key's record, run last inside the transaction (src/http/idempotency.ts). */
  async createCalendar(b: Body, beforeCommit?: BeforeCommit<{ id: number }>) {
    const cal: BusinessCalendar = { time_zone: b.time_zone, hours: b.hours, holidays: b.holidays ?? [] };
    checkCalendar(cal);
    return this.db.transaction(async (trx) => {
      if (b.is_default) await trx('sla_calendars').where({ is_default: true }).update({ is_default: false, updated_at: trx.fn.now() });
      try {
        const [row] = await trx('sla_calendars')
          .insert({ name: b.name, time_zone: b.time_zone, hours: JSON.stringify(b.hours), holidays: JSON.stringify(cal.holidays), is_default: Boolean(b.is_default) })
          .returning(CALENDAR_COLUMNS);
        const out = presentCalendar(row);
        await beforeCommit?.(trx, out);
        return out;
      } catch (e) {
        if (uniqueViolation(e)) throw conflict('name_taken', 'A calendar with this name exists.');
        throw e;
      }
    });
  }

  async updateCalendar(raw: string, b: Body) {
    const id = numericId(raw, 'calendar');
    return this.db.transaction(async (trx) => {
      const cur = await trx('sla_calendars').where({ id }).forUpdate().first(CALENDAR_COLUMNS);
      if (!cur) throw notFound('calendar');
      const cal: BusinessCalendar = { time_zone: b.time_zone ?? cur.time_zone, hours: b.hours ?? cur.hours, holidays: b.holidays ?? cur.holidays };
      checkCalendar(cal);
      if (b.is_default === true) await trx('sla_calendars').where({ is_default: true }).whereNot({ id }).update({ is_default: false, updated_at: trx.fn.now() });
      const changes: Body = { updated_at: trx.fn.now() };
      if (b.name !== undefined) changes.name = b.name;
      if (b.time_zone !== undefined) changes.time_zone = b.time_zone;
      if (b.hours !== undefined) changes.hours = JSON.stringify(b.hours);
      if (b.holidays !== undefined) changes.holidays = JSON.stringify(b.holidays);
      if (b.is_default !== undefined) changes.is_default = b.is_default;
      try {
        const [row] = await trx('sla_calendars').where({ id }).update(changes).returning(CALENDAR_COLUMNS);
        if (b.time_zone !== undefined || b.hours !== undefined || b.holidays !== undefined) await this.app.jobs.enqueue(trx, QUEUES.slaRecompute, { calendarId: id });
        return presentCalendar(row);
      } catch (e) {
        if (uniqueViolation(e)) throw conflict('name_taken', 'A calendar with this name exists.');
        throw e;
      }
    });
  }

  async deleteCalendar(raw: string): Promise<void> {
    const id = numericId(raw, 'calendar');
    const used = await this.db('sla_policies').where({ calendar_id: id }).first('id');
    if (used) throw conflict('calendar_in_use', 'A policy uses this calendar; change the policy first.');
    const n = await this.db('sla_calendars').where({ id }).delete();
    if (!n) throw notFound('calendar');
  }

  // ─── policies ──────────────────────────────────────────────────────────────
  async listPolicies(q: { limit?: number; cursor?: string }) {
    const page = await paginate<Body>(this.db('sla_policies').select('*'), { ...q, keys: [{ column: 'position', prop: 'position' }, { column: 'id', prop: 'id' }], direction: 'asc' });
    return { data: page.data.map(presentPolicy), next_cursor: page.next_cursor };
  }

  async getPolicy(raw: string) {
    const p = await this.db('sla_policies').where({ id: numericId(raw, 'policy') }).first('*');
    if (!p) throw notFound('policy');
    return presentPolicy(p);
  }

  private async checkPolicy(trx: Knex.Transaction, p: { targets: Body; calendar_id: number | null; escalation: Body }): Promise<void> {
    const t = p.targets ?? {};
    if (!t.first_response_minutes && !t.next_response_minutes && !t.resolution_minutes) {
      throw unprocessable('no_targets', 'A policy needs at least one target.', [{ field: 'targets', message: 'set at least one of first_response_minutes, next_response_minutes, resolution_minutes' }]);
    }
    if (p.calendar_id !== null && !(await trx('sla_calendars').where({ id: p.calendar_id }).first('id'))) {
      throw unprocessable('unknown_calendar', 'No such calendar.', [{ field: 'calendar_id', message: 'does not exist' }]);
    }
    const to = p.escalation?.assign_to;
    if (to && !(await trx('employees').where({ id: to, status: 'Approved' }).whereIn('role', ['Ticket Coordinator', 'System Admin']).first('id'))) {
      throw unprocessable('unknown_coordinator', 'Escalation must assign to an active coordinator or admin.', [{ field: 'escalation.assign_to', message: 'is not an active coordinator' }]);
    }
  }

  async createPolicy(b: Body, beforeCommit?: BeforeCommit<{ id: number }>) {
    return this.db.transaction(async (trx) => {
      flushPolicyCachesAfterCommit(trx);
      // no calendar_id: the default calendar (if any); null: around the clock
      let calendarId: number | null = b.calendar_id ?? null;
      if (b.calendar_id === undefined) calendarId = ((await trx('sla_calendars').where({ is_default: true }).first('id'))?.id as number | undefined) ?? null;
      const escalation = { raise_priority: Boolean(b.escalation?.raise_priority), assign_to: b.escalation?.assign_to ?? null };
      await this.checkPolicy(trx, { targets: b.targets, calendar_id: calendarId, escalation });
      await trx.raw('LOCK TABLE sla_policies IN SHARE ROW EXCLUSIVE MODE'); // positions are assigned one at a time
      const position = b.position ?? (((await trx('sla_policies').max({ m: 'position' }).first())?.m as number | null) ?? 0) + 1;
      try {
        const [row] = await trx('sla_policies')
          .insert({
            name: b.name,
            position,
            conditions: JSON.stringify(b.conditions ?? {}),
            first_response_minutes: b.targets.first_response_minutes ?? null,
            next_response_minutes: b.targets.next_response_minutes ?? null,
            resolution_minutes: b.targets.resolution_minutes ?? null,
            calendar_id: calendarId,
            pause_statuses: b.pause_statuses ?? [],
            escalation: JSON.stringify(escalation),
          })
          .returning('*');
        const out = presentPolicy(row);
        await beforeCommit?.(trx, out);
        return out;
      } catch (e) {
        if (uniqueViolation(e)) throw conflict('name_taken', 'A policy with this name exists.');
        throw e;
      }
    });
  }

  async updatePolicy(raw: string, b: Body) {
    const id = numericId(raw, 'policy');
    return this.db.transaction(async (trx) => {
      flushPolicyCachesAfterCommit(trx);
      const cur = await trx('sla_policies').where({ id }).forUpdate().first('*');
      if (!cur) throw notFound('policy');
      const targets = { first_response_minutes: cur.first_response_minutes, next_response_minutes: cur.next_response_minutes, resolution_minutes: cur.resolution_minutes, ...(b.targets ?? {}) };
      const calendarId = b.calendar_id === undefined ? cur.calendar_id : b.calendar_id;
      const escalation = b.escalation === undefined ? cur.escalation : { raise_priority: Boolean(b.escalation.raise_priority), assign_to: b.escalation.assign_to ?? null };
      await this.checkPolicy(trx, { targets, calendar_id: calendarId, escalation });
      const changes: Body = {
        updated_at: trx.fn.now(),
        first_response_minutes: targets.first_response_minutes,
        next_response_minutes: targets.next_response_minutes,
        resolution_minutes: targets.resolution_minutes,
        calendar_id: calendarId,
        escalation: JSON.stringify(escalation),
      };
      if (b.name !== undefined) changes.name = b.name;
      if (b.position !== undefined) changes.position = b.position;
      if (b.conditions !== undefined) changes.conditions = JSON.stringify(b.conditions);
      if (b.pause_statuses !== undefined) changes.pause_statuses = b.pause_statuses;
      try {
        const [row] = await trx('sla_policies').where({ id }).update(changes).returning('*');
        // conditions and positions apply to tickets matched from now on; the rest moves open tickets' clocks
        if (b.targets !== undefined || b.calendar_id !== undefined || b.pause_statuses !== undefined || b.escalation !== undefined) await this.app.jobs.enqueue(trx, QUEUES.slaRecompute, { policyId: id });
        return presentPolicy(row);
      } catch (e) {
        if (uniqueViolation(e)) throw conflict('name_taken', 'A policy with this name exists.');
        throw e;
      }
    });
  }

  /** Tickets that had this policy keep their copy of it (targets, calendar, pauses). */
  async deletePolicy(raw: string): Promise<void> {
    const n = await this.db('sla_policies').where({ id: numericId(raw, 'policy') }).delete();
    flushPolicyCachesAfterCommit(this.db);
    if (!n) throw notFound('policy');
  }

  // ─── report ────────────────────────────────────────────────────────────────
  /**
   * One pass over the period's ticket_sla rows (a range scan of ticket_sla_report_idx, which carries
   * every column read, so a vacuumed table answers from the index alone), hash-aggregated into
   * histograms: per group × whole business minutes, once for first response and once for resolution
   * (two grouping sets). Business minutes are integers, so each exact percentile_cont is read off the
   * merged histogram in JS (slaPercentile) — no sort of the period's rows, and the result equals
   * PostgreSQL's percentile_cont over the rows. Met/breached counts are the histogram rows' sums;
   * breached depends on now() (an unmet target breaches when its due time passes), so it is counted
   * live, never stored.
   */
  async report(q: { since?: string; until?: string; group_by?: string }) {
    const until = q.until ? new Date(q.until) : new Date();
    const since = parseSince(q.since ?? '30d', until);
    const groupBy = (q.group_by ?? 'policy') as 'policy' | 'priority' | 'category' | 'assignee';
    const key = { policy: 's.policy_name', priority: `COALESCE(s.priority, '(none)')`, category: `COALESCE(s.category, '(none)')`, assignee: 's.assignee_id' }[groupBy];
    const met = (tg: string) => `count(*) FILTER (WHERE s.${tg}_met_at IS NOT NULL AND (s.${tg}_due_at IS NULL OR s.${tg}_met_at <= s.${tg}_due_at))::integer`;
    const breached = (tg: string) => `count(*) FILTER (WHERE s.${tg}_due_at IS NOT NULL AND ((s.${tg}_met_at IS NULL AND s.${tg}_due_at <= now()) OR s.${tg}_met_at > s.${tg}_due_at))::integer`;
    const { rows } = (await this.db.raw(
      `SELECT ${groupBy === 'assignee' ? `COALESCE(a.company_id, '(unassigned)')` : 'h.key'} AS key, h.is_fr, h.minutes, h.n,
              h.first_response_met, h.first_response_breached, h.resolution_met, h.resolution_breached
         FROM (
           SELECT ${key} AS key, GROUPING(s.first_response_business_minutes) = 0 AS is_fr,
                  CASE WHEN GROUPING(s.first_response_business_minutes) = 0 THEN s.first_response_business_minutes ELSE s.resolution_business_minutes END AS minutes,
                  count(*)::integer AS n,
                  ${met('first_response')} AS first_response_met, ${breached('first_response')} AS first_response_breached,
                  ${met('resolution')} AS resolution_met, ${breached('resolution')} AS resolution_breached
             FROM ticket_sla s
            WHERE s.created_at >= ? AND s.created_at < ?
            GROUP BY GROUPING SETS ((${key}, s.first_response_business_minutes), (${key}, s.resolution_business_minutes))
         ) h ${groupBy === 'assignee' ? 'LEFT JOIN employees a ON a.id = h.key' : ''}
        ORDER BY 1, h.is_fr DESC, h.minutes`,
      [since, until],
    )) as { rows: SlaHistogramRow[] };
    const groups = new Map<string, { tickets: number; frMet: number; frBreached: number; resMet: number; resBreached: number; fr: [number, number][]; res: [number, number][] }>();
    for (const r of rows) {
      const k = String(r.key);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { tickets: 0, frMet: 0, frBreached: 0, resMet: 0, resBreached: 0, fr: [], res: [] }));
      if (r.is_fr) {
        // the first-response set partitions the group's rows: its sums are the group's counts
        g.tickets += r.n;
        g.frMet += r.first_response_met;
        g.frBreached += r.first_response_breached;
        g.resMet += r.resolution_met;
        g.resBreached += r.resolution_breached;
        if (r.minutes !== null) g.fr.push([r.minutes, r.n]);
      } else if (r.minutes !== null) g.res.push([r.minutes, r.n]);
    }
    const pct = (ok: number, bad: number) => (ok + bad ? Math.round((1000 * ok) / (ok + bad)) / 10 : null);
    const num = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
    return {
      since: since.toISOString(),
      until: until.toISOString(),
      group_by: groupBy,
      groups: [...groups.entries()].map(([k, g]) => ({
        key: k,
        tickets: g.tickets,
        first_response: { met: g.frMet, breached: g.frBreached, compliance_percent: pct(g.frMet, g.frBreached), p50_business_minutes: num(slaPercentile(g.fr, 0.5)), p90_business_minutes: num(slaPercentile(g.fr, 0.9)) },
        resolution: { met: g.resMet, breached: g.resBreached, compliance_percent: pct(g.resMet, g.resBreached), p50_business_minutes: num(slaPercentile(g.res, 0.5)), p90_business_minutes: num(slaPercentile(g.res, 0.9)) },
      })),
    };
  }
}

interface SlaHistogramRow {
  key: string | number | null;
  is_fr: boolean;
  minutes: number | null;
  n: number;
  first_response_met: number;
  first_response_breached: number;
  resolution_met: number;
  resolution_breached: number;
}

/**
 * PostgreSQL's percentile_cont over a multiset given as a histogram ([value, count] in ascending
 * value order): the same ranks (floor and ceil of fraction × (n − 1)) and the same interpolation
 * (lo + proportion × (hi − lo), in float8), so the result is identical. null when empty.
 */
export function slaPercentile(hist: [number, number][], fraction: number): number | null {
  let n = 0;
  for (const [, c] of hist) n += c;
  if (!n) return null;
  const pos = fraction * (n - 1);
  const first = Math.floor(pos);
  const second = Math.ceil(pos);
  const at = (rank: number) => {
    let seen = 0;
    for (const [v, c] of hist) {
      seen += c;
      if (rank < seen) return v;
    }
    return hist[hist.length - 1]![0];
  };
  const lo = at(first);
  if (second === first) return lo;
  const hi = at(second);
  return lo + (pos - first) * (hi - lo);
}

/** `30d`, `12h`, `90m`, `2w` before `until`, or an ISO date-time. */
export function parseSince(raw: string, until: Date): Date {
  const m = /^(\d{1,5})([mhdw])$/.exec(raw);
  if (m) return new Date(until.getTime() - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w']);
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) throw unprocessable('invalid_since', 'since must be like 30d, 12h, 2w or a date-time.', [{ field: 'since', message: 'is not a period or a date-time' }]);
  return d;
}
