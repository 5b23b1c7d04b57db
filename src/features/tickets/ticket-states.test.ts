import t from 'tap';
import { TICKET_ACTIONS, TICKET_STATUSES, planTransition, type Actor, type TicketAction, type TicketStatus } from './ticket-states.js';

const staff: Actor = { kind: 'person', staff: true, admin: false, owner: false };
const admin: Actor = { kind: 'person', staff: true, admin: true, owner: false };
const owner: Actor = { kind: 'person', staff: false, admin: false, owner: true };
const stranger: Actor = { kind: 'person', staff: false, admin: false, owner: false };
const workflow: Actor = { kind: 'workflow', staff: true, admin: false, owner: false };

/**
 * docs/tickets.md "Transition table", written out by hand (never read from ticket-states.ts):
 * for each action, who may do it and, from each status, the statuses it may reach.
 */
type Who = 'staff' | 'owner' | 'workflow';
const WHO: Record<Exclude<TicketAction, 'finalize'>, Who> = {
  approve: 'staff',
  reject: 'staff',
  claim: 'staff',
  update_status: 'staff',
  withdraw: 'owner',
  close: 'owner',
  workflow: 'workflow',
};
const UPDATE: Partial<Record<TicketStatus, TicketStatus[]>> = {
  Open: ['In Progress', 'On Hold', 'Pending', 'Resolved'],
  'In Progress': ['Open', 'On Hold', 'Pending', 'Resolved'],
  'On Hold': ['Open', 'In Progress', 'Pending', 'Resolved'],
  Pending: ['Open', 'In Progress', 'On Hold', 'Resolved'],
  Resolved: ['Open', 'In Progress', 'On Hold', 'Pending', 'Closed'],
};
const MOVES: Record<Exclude<TicketAction, 'finalize' | 'update_status' | 'workflow'>, Partial<Record<TicketStatus, TicketStatus>>> = {
  approve: { New: 'Open' },
  reject: { New: 'Rejected' },
  claim: { Open: 'In Progress' },
  withdraw: { New: 'Withdrawn', Open: 'Withdrawn', 'In Progress': 'Withdrawn', 'On Hold': 'Withdrawn', Pending: 'Withdrawn' },
  close: { Resolved: 'Closed' },
};
const EFFECTS: Record<string, object> = {
  'approve New': { approved: true, push: true },
  'claim Open': { assign: true },
  'close Resolved': { closed: true },
};
const effectsOfTarget = (to: TicketStatus): object => (to === 'Resolved' ? { resolved: true } : to === 'Closed' ? { closed: true } : {});

type Expected = { ok: true; to: TicketStatus; effects: object } | { ok: false; reason: 'forbidden' | 'invalid_transition'; allowed: TicketStatus[] };

function mayAct(who: Who, actor: Actor): boolean {
  if (who === 'workflow') return actor === workflow;
  if (who === 'owner') return actor === owner;
  return actor === staff || actor === admin;
}

/** What the table says for this (from, action, actor, to, approved). */
function expectedPlan(from: TicketStatus, action: TicketAction, actor: Actor, to: TicketStatus | undefined, approved: boolean): Expected {
  if (action === 'finalize') {
    if (!(actor === staff || actor === admin)) return { ok: false, reason: 'forbidden', allowed: [] };
    // any status after approval, unchanged; a push of the current state
    return approved && from !== 'New' ? { ok: true, to: from, effects: { push: true } } : { ok: false, reason: 'invalid_transition', allowed: [] };
  }
  if (action === 'update_status' || action === 'workflow') {
    const targets = [...(UPDATE[from] ?? []), ...(from === 'Closed' && actor === admin && action === 'update_status' ? (['Open'] as TicketStatus[]) : [])];
    if (!mayAct(WHO[action], actor)) return { ok: false, reason: 'forbidden', allowed: targets };
    if (to === undefined) return { ok: false, reason: 'invalid_transition', allowed: targets };
    // a Coordinator reopening a closed ticket lacks the right; the workflow cannot reopen at all
    if (from === 'Closed' && to === 'Open' && action === 'update_status' && actor !== admin) return { ok: false, reason: 'forbidden', allowed: targets };
    if (!targets.includes(to)) return { ok: false, reason: 'invalid_transition', allowed: targets };
    return { ok: true, to, effects: effectsOfTarget(to) };
  }
  const target = MOVES[action][from];
  const allowed = target ? [target] : [];
  if (!mayAct(WHO[action], actor)) return { ok: false, reason: 'forbidden', allowed };
  if (!target) return { ok: false, reason: 'invalid_transition', allowed };
  return { ok: true, to: target, effects: EFFECTS[`${action} ${from}`] ?? {} };
}

const ACTORS = { staff, admin, owner, stranger, workflow } as const;

t.test('every (status, action, actor, target) against the transition table of docs/tickets.md', async (t) => {
  let checked = 0;
  for (const from of TICKET_STATUSES)
    for (const action of TICKET_ACTIONS)
      for (const [actorName, actor] of Object.entries(ACTORS)) {
        // the workflow system only ever uses the callback; of the people, one staff member and the
        // owner are enough to see it refused (an admin never reaches it: the spec refuses people first)
        if (actor === workflow && action !== 'workflow') continue;
        if (actor === admin && action === 'workflow') continue;
        const targets = action === 'update_status' || action === 'workflow' ? [undefined, ...TICKET_STATUSES] : [undefined];
        for (const to of targets)
          for (const approved of action === 'finalize' ? [true, false] : [from !== 'New']) {
            const exp = expectedPlan(from, action, actor, to, approved);
            const p = planTransition({ from, action, actor, to, approved });
            const got = p.ok ? { ok: true, to: p.to, effects: p.effects } : { ok: false, reason: p.reason, allowed: [...p.allowed].sort() };
            const want = exp.ok ? exp : { ...exp, allowed: [...exp.allowed].sort() };
            checked++;
            t.same(got, want, `${from} ${action} by ${actorName}${to ? ` → ${to}` : ''}${action === 'finalize' ? ` (approved: ${approved})` : ''}`);
          }
      }
  t.ok(checked > 500, `${checked} combinations checked`);
});

t.test('effects: approve pushes and stamps; Resolved/Closed stamp; the workflow never pushes', async (t) => {
  t.same(planTransition({ from: 'New', action: 'approve', actor: staff }), { ok: true, from: 'New', to: 'Open', effects: { approved: true, push: true } });
  t.same(planTransition({ from: 'Open', action: 'claim', actor: staff }), { ok: true, from: 'Open', to: 'In Progress', effects: { assign: true } });
  t.match(planTransition({ from: 'Pending', action: 'update_status', actor: staff, to: 'Resolved' }), { ok: true, effects: { resolved: true } });
  t.match(planTransition({ from: 'Resolved', action: 'close', actor: owner }), { ok: true, effects: { closed: true } });
  t.same(planTransition({ from: 'Pending', action: 'workflow', actor: workflow, to: 'Resolved' }), { ok: true, from: 'Pending', to: 'Resolved', effects: { resolved: true } }, 'the workflow sets the same stamps but never pushes');
});

t.test('who: staff-only, owner-only, admin-only reopen, workflow-only callback', async (t) => {
  t.match(planTransition({ from: 'New', action: 'approve', actor: owner }), { ok: false, reason: 'forbidden' });
  t.match(planTransition({ from: 'New', action: 'withdraw', actor: staff }), { ok: false, reason: 'forbidden' });
  t.match(planTransition({ from: 'Closed', action: 'update_status', actor: staff, to: 'Open' }), { ok: false, reason: 'forbidden' });
  t.match(planTransition({ from: 'Closed', action: 'update_status', actor: admin, to: 'Open' }), { ok: true });
  t.match(planTransition({ from: 'Closed', action: 'workflow', actor: workflow, to: 'Open' }), { ok: false, reason: 'invalid_transition' });
  t.match(planTransition({ from: 'Open', action: 'workflow', actor: staff, to: 'Pending' }), { ok: false, reason: 'forbidden' });
  t.match(planTransition({ from: 'Open', action: 'approve', actor: staff }), { ok: false, reason: 'invalid_transition', allowed: [] });
  t.match(planTransition({ from: 'Open', action: 'update_status', actor: staff, to: 'New' }), { ok: false, allowed: ['In Progress', 'On Hold', 'Pending', 'Resolved'] });
  t.match(planTransition({ from: 'New', action: 'finalize', actor: staff, approved: false }), { ok: false, reason: 'invalid_transition' });
  t.match(planTransition({ from: 'Withdrawn', action: 'finalize', actor: staff, approved: true }), { ok: true });
});
