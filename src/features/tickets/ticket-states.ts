/**
 * The ticket state machine — pure, no I/O. Every path that changes a ticket's status (the
 * transition endpoints and the workflow callback) asks `planTransition` first; the service only
 * carries out the plan. The table here is api.md "Ticket transitions".
 */
export const TICKET_STATUSES = ['New', 'Open', 'In Progress', 'On Hold', 'Pending', 'Resolved', 'Closed', 'Rejected', 'Withdrawn'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_ACTIONS = ['approve', 'reject', 'claim', 'update_status', 'finalize', 'withdraw', 'close', 'workflow'] as const;
export type TicketAction = (typeof TICKET_ACTIONS)[number];

/** Who is acting, relative to the ticket. `workflow` is the external workflow system (callback). */
export interface Actor {
  kind: 'person' | 'workflow';
  staff: boolean;
  admin: boolean;
  owner: boolean;
}

/** Statuses staff move freely between with update-status. */
export const WORKING: readonly TicketStatus[] = ['Open', 'In Progress', 'On Hold', 'Pending', 'Resolved'];
/** Statuses the owner may withdraw from. */
export const WITHDRAWABLE: readonly TicketStatus[] = ['New', 'Open', 'In Progress', 'On Hold', 'Pending'];

/** Timestamps a move sets (the service turns them into columns). */
export interface TransitionEffects {
  /** approved_at = now, response_time = now - submit_date */
  approved?: true;
  /** resolved_at = now, resolution_time = now - submit_date */
  resolved?: true;
  /** time_closed = now */
  closed?: true;
  /** assigned_to = the actor */
  assign?: true;
  /** a workflow delivery is queued (never for the workflow callback) */
  push?: true;
}

export type Plan =
  | { ok: true; from: TicketStatus; to: TicketStatus; effects: TransitionEffects }
  | { ok: false; reason: 'forbidden' | 'invalid_transition'; from: TicketStatus; allowed: TicketStatus[]; detail: string };

/** Targets a status-setting move (update-status, workflow callback) may reach from `from`. */
export function statusTargets(from: TicketStatus, actor: Actor): TicketStatus[] {
  const out: TicketStatus[] = [];
  if (WORKING.includes(from)) out.push(...WORKING.filter((s) => s !== from));
  if (from === 'Resolved') out.push('Closed');
  if (from === 'Closed' && actor.kind === 'person' && actor.admin) out.push('Open');
  return out;
}

function effectsOf(to: TicketStatus): TransitionEffects {
  if (to === 'Resolved') return { resolved: true };
  if (to === 'Closed') return { closed: true };
  return {};
}

type FixedAction = 'approve' | 'reject' | 'claim' | 'withdraw' | 'close';

/** The moves with one target: where they start, where they end, what they set, and the refusal's verb. */
const FIXED: Record<FixedAction, { from: (s: TicketStatus) => boolean; to: TicketStatus; effects: TransitionEffects; refused: string }> = {
  approve: { from: (s) => s === 'New', to: 'Open', effects: { approved: true, push: true }, refused: 'approved' },
  reject: { from: (s) => s === 'New', to: 'Rejected', effects: {}, refused: 'rejected' },
  claim: { from: (s) => s === 'Open', to: 'In Progress', effects: { assign: true }, refused: 'claimed' },
  withdraw: { from: (s) => WITHDRAWABLE.includes(s), to: 'Withdrawn', effects: {}, refused: 'withdrawn' },
  close: { from: (s) => s === 'Resolved', to: 'Closed', effects: { closed: true }, refused: 'closed by its owner' },
};

const isFixed = (a: TicketAction): a is FixedAction => a in FIXED;

/** Where `action` may take a ticket in status `from` (ignoring who acts, except for the admin reopen). */
export function allowedTargets(from: TicketStatus, action: TicketAction, actor: Actor): TicketStatus[] {
  if (isFixed(action)) return FIXED[action].from(from) ? [FIXED[action].to] : [];
  if (action === 'finalize') return [];
  return statusTargets(from, actor);
}

/**
 * Decide a move. `to` is required for update_status and workflow; `approved` says whether the
 * ticket was ever approved (finalize needs it).
 */
export function planTransition(input: { from: TicketStatus; action: TicketAction; actor: Actor; to?: TicketStatus; approved?: boolean }): Plan {
  const { from, action, actor } = input;
  const no = (reason: 'forbidden' | 'invalid_transition', detail: string, allowed = allowedTargets(from, action, actor)): Plan => ({ ok: false, reason, from, allowed, detail });

  // who may act at all
  if (action === 'workflow') {
    if (actor.kind !== 'workflow') return no('forbidden', 'Only the workflow system uses the callback.');
  } else if (action === 'withdraw' || action === 'close') {
    if (!actor.owner) return no('forbidden', `Only the ticket's owner can ${action} it.`);
  } else if (!actor.staff) {
    return no('forbidden', 'Only staff can do this.');
  }

  if (isFixed(action)) {
    const m = FIXED[action];
    return m.from(from) ? { ok: true, from, to: m.to, effects: { ...m.effects } } : no('invalid_transition', `A ${from} ticket cannot be ${m.refused}.`);
  }
  switch (action) {
    case 'finalize':
      return input.approved && from !== 'New' ? { ok: true, from, to: from, effects: { push: true } } : no('invalid_transition', 'Only a ticket that has been approved can be finalized.', []);
    case 'update_status':
    case 'workflow': {
      const to = input.to;
      if (!to) return no('invalid_transition', 'A target status is required.');
      if (from === 'Closed' && to === 'Open' && actor.kind === 'person' && !actor.admin) {
        return no('forbidden', 'Only a System Admin can reopen a closed ticket.');
      }
      const targets = statusTargets(from, actor);
      if (!targets.includes(to)) return no('invalid_transition', `A ${from} ticket cannot move to ${to}.`);
      return { ok: true, from, to, effects: effectsOf(to) };
    }
  }
}
