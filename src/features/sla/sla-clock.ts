/**
 * A ticket's SLA clock — pure. From what the ticket_sla row records (the policy's targets, the
 * calendar, the pauses, when each target started and was met) it derives each target's due time,
 * warning instant and state, and the two indexed summary columns (breach_at, warn_at).
 */
import { addBusinessMinutes, businessMsBetween, type BusinessCalendar, type Pause } from './business-time.js';

export const TARGETS = ['first_response', 'next_response', 'resolution'] as const;
export type TargetName = (typeof TARGETS)[number];
export type TargetState = 'running' | 'paused' | 'met' | 'breached';

export interface Targets {
  first_response_minutes: number | null;
  next_response_minutes: number | null;
  resolution_minutes: number | null;
}

/** The recorded facts (ticket_sla columns). */
export interface ClockFacts {
  targets: Targets;
  calendar: BusinessCalendar | null;
  /** ISO instants */
  pauses: { from: string; to: string | null }[];
  first_response_start: Date | null;
  first_response_met_at: Date | null;
  next_response_start: Date | null;
  next_response_met_at: Date | null;
  resolution_start: Date | null;
  resolution_met_at: Date | null;
}

export interface TargetClock {
  target: TargetName;
  minutes: number;
  start: number;
  met_at: number | null;
  /** null while paused (the due time is not known until the clock runs again) */
  due: number | null;
  warn: number | null;
}

const ms = (d: Date | string | null): number | null => (d === null ? null : typeof d === 'string' ? Date.parse(d) : d.getTime());

export const pausesOf = (f: Pick<ClockFacts, 'pauses'>): Pause[] => f.pauses.map((p) => ({ from: Date.parse(p.from), to: p.to === null ? null : Date.parse(p.to) }));

/** The targets that apply (the policy sets minutes and the target has started). */
export function clocks(f: ClockFacts, warningFraction: number, knownDue?: Partial<Record<TargetName, string | Date | null>>): TargetClock[] {
  const pauses = pausesOf(f);
  const out: TargetClock[] = [];
  for (const target of TARGETS) {
    const minutes = f.targets[`${target}_minutes`];
    const start = ms(f[`${target}_start`]);
    if (!minutes || start === null) continue;
    const met = ms(f[`${target}_met_at`]);
    // pauses after the target was met do not move it
    const relevant = met === null ? pauses : pauses.filter((p) => p.from < met).map((p) => ({ from: p.from, to: p.to === null || p.to > met ? met : p.to }));
    out.push({
      target,
      minutes,
      start,
      met_at: met,
      // the stored due time when the caller has it (it was computed from these same facts when they were saved)
      due: knownDue && target in knownDue ? ms(knownDue[target] ?? null) : addBusinessMinutes(start, minutes, f.calendar, relevant),
      warn: addBusinessMinutes(start, minutes * warningFraction, f.calendar, relevant),
    });
  }
  return out;
}

export function stateOf(c: TargetClock, now: number): TargetState {
  if (c.met_at !== null) return c.due !== null && c.met_at > c.due ? 'breached' : 'met';
  if (c.due === null) return 'paused';
  return c.due <= now ? 'breached' : 'running';
}

/** The indexed summary: breached ⇔ breach_at ≤ now; at risk ⇔ warn_at ≤ now < breach_at. */
export function summary(cs: TargetClock[]): { breach_at: Date | null; warn_at: Date | null } {
  let breach: number | null = null;
  let warnOf: TargetClock | null = null;
  for (const c of cs) {
    if (c.due === null) continue;
    const late = c.met_at === null || c.met_at > c.due;
    if (late && (breach === null || c.due < breach)) breach = c.due;
    if (c.met_at === null && (warnOf === null || c.due < warnOf.due!)) warnOf = c;
  }
  return { breach_at: breach === null ? null : new Date(breach), warn_at: warnOf?.warn == null ? null : new Date(warnOf.warn) };
}

/**
 * Business minutes left (negative once overdue), for a target that is not met. Counted between now
 * and the due time (short), or from the start while paused.
 */
export function remainingMinutes(c: TargetClock, f: ClockFacts, now: number): number | null {
  if (c.met_at !== null) return null;
  let left: number;
  if (c.due === null) left = c.minutes * 60_000 - businessMsBetween(c.start, now, f.calendar, pausesOf(f));
  else left = c.due >= now ? businessMsBetween(now, c.due, f.calendar, pausesOf(f)) : -businessMsBetween(c.due, now, f.calendar, pausesOf(f));
  return left >= 0 ? Math.floor(left / 60_000) : -Math.ceil(-left / 60_000);
}

export function overallState(cs: TargetClock[], now: number): TargetState {
  const states = cs.map((c) => stateOf(c, now));
  if (states.includes('breached')) return 'breached';
  if (states.includes('paused')) return 'paused';
  if (states.includes('running')) return 'running';
  return 'met';
}
