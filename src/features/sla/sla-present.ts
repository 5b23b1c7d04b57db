/**
 * The `sla` block of the ticket representation, from the joined ticket_sla row (as JSON). Pure:
 * remaining business minutes are computed for `now` from the calendar copied onto the ticket.
 */
import { clocks, overallState, remainingMinutes, stateOf, type ClockFacts } from './sla-clock.js';

/** ticket_sla as to_jsonb gives it (timestamps are strings). */
export type SlaJson = Record<string, unknown> & ClockFacts & { policy_id: number | null; policy_name: string; reason: string; pause_statuses: string[]; breach_at: string | null; warn_at: string | null };

const iso = (v: number | string | Date | null | undefined) => (v === null || v === undefined ? null : new Date(v).toISOString());

export function presentSla(s: SlaJson | null | undefined, warningFraction: number, now = Date.now()) {
  if (!s) return null;
  const stored = s as unknown as Record<string, string | null>;
  const cs = clocks(s, warningFraction, { first_response: stored.first_response_due_at ?? null, next_response: stored.next_response_due_at ?? null, resolution: stored.resolution_due_at ?? null });
  const byTarget = Object.fromEntries(cs.map((c) => [c.target, c]));
  const target = (name: 'first_response' | 'next_response' | 'resolution') => {
    const c = byTarget[name];
    if (!c) return null;
    const state = stateOf(c, now);
    return {
      minutes: c.minutes,
      state,
      started_at: iso(c.start),
      due_at: iso(c.due),
      warning_at: iso(c.warn),
      met_at: iso(c.met_at),
      breached_at: state === 'breached' ? iso(c.due) : null,
      remaining_business_minutes: remainingMinutes(c, s, now),
    };
  };
  const breach = s.breach_at === null ? null : Date.parse(s.breach_at);
  return {
    policy: { id: s.policy_id, name: s.policy_name },
    reason: s.reason,
    calendar: s.calendar ? { time_zone: s.calendar.time_zone } : null,
    state: overallState(cs, now),
    at_risk: s.warn_at !== null && Date.parse(s.warn_at) <= now && breach !== null && breach > now,
    pause_statuses: s.pause_statuses,
    first_response_due_at: iso(byTarget.first_response?.due ?? null),
    next_response_due_at: iso(byTarget.next_response?.met_at === null ? byTarget.next_response.due : null),
    resolution_due_at: iso(byTarget.resolution?.due ?? null),
    breached_at: breach !== null && breach <= now ? iso(breach) : null,
    targets: { first_response: target('first_response'), next_response: target('next_response'), resolution: target('resolution') },
  };
}
