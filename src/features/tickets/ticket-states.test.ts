import t from 'tap';
import { TICKET_ACTIONS, TICKET_STATUSES, allowedTargets, planTransition, type Actor } from './ticket-states.js';

const staff: Actor = { kind: 'person', staff: true, admin: false, owner: false };
const admin: Actor = { kind: 'person', staff: true, admin: true, owner: false };
const owner: Actor = { kind: 'person', staff: false, admin: false, owner: true };
const workflow: Actor = { kind: 'workflow', staff: true, admin: false, owner: false };

t.test('a plan is ok exactly when its target is among the allowed ones (every status, action, actor, target)', async (t) => {
  for (const from of TICKET_STATUSES)
    for (const action of TICKET_ACTIONS)
      for (const actor of [staff, admin, owner, workflow])
        for (const to of [undefined, ...TICKET_STATUSES]) {
          const p = planTransition({ from, action, actor, to, approved: from !== 'New' });
          if (p.ok && action !== 'finalize') {
            t.ok(allowedTargets(from, action, actor).includes(p.to), `${from} ${action} → ${p.to}`);
            t.not(p.to, from, 'a move changes the status');
          }
          if (!p.ok) t.same(p.from, from);
        }
});

t.test('final statuses only leave by the admin reopen', async (t) => {
  for (const from of ['Closed', 'Rejected', 'Withdrawn'] as const)
    for (const action of TICKET_ACTIONS)
      for (const actor of [staff, admin, owner, workflow])
        for (const to of TICKET_STATUSES) {
          const p = planTransition({ from, action, actor, to, approved: true });
          if (p.ok && action !== 'finalize') t.ok(from === 'Closed' && to === 'Open' && actor === admin, `${from} ${action} ${to}`);
        }
});

t.test('effects: approve pushes and stamps; Resolved/Closed stamp; the workflow never pushes', async (t) => {
  t.same(planTransition({ from: 'New', action: 'approve', actor: staff }), { ok: true, from: 'New', to: 'Open', effects: { approved: true, push: true } });
  t.same(planTransition({ from: 'Open', action: 'claim', actor: staff }), { ok: true, from: 'Open', to: 'In Progress', effects: { assign: true } });
  t.match(planTransition({ from: 'Pending', action: 'update_status', actor: staff, to: 'Resolved' }), { ok: true, effects: { resolved: true } });
  t.match(planTransition({ from: 'Resolved', action: 'close', actor: owner }), { ok: true, effects: { closed: true } });
  for (const from of TICKET_STATUSES)
    for (const to of TICKET_STATUSES) {
      const p = planTransition({ from, action: 'workflow', actor: workflow, to, approved: true });
      if (p.ok) t.notOk(p.effects.push, `workflow ${from} → ${to} does not push`);
    }
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
