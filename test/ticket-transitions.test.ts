/**
 * The transition table of api.md, cell by cell: every (from status, action, role), including the
 * forbidden ones, with the timestamps each move sets, its history entry, the owner's email and the
 * workflow push. Expectations are written out here independently of ticket-states.ts.
 */
import t from 'tap';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const api = ta.api;
const owner = await signedIn(ta, { role: 'Employee' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const admin = await signedIn(ta, { role: 'System Admin' });

const STATUSES = ['New', 'Open', 'In Progress', 'On Hold', 'Pending', 'Resolved', 'Closed', 'Rejected', 'Withdrawn'] as const;
type Status = (typeof STATUSES)[number];
const WORKING: Status[] = ['Open', 'In Progress', 'On Hold', 'Pending', 'Resolved'];
type Role = 'owner' | 'coordinator' | 'admin';
const ROLES: Role[] = ['owner', 'coordinator', 'admin'];
const tokens: Record<Role, string> = { owner: owner.token, coordinator: coord.token, admin: admin.token };

interface Cell {
  action: string;
  body?: Record<string, unknown>;
  to?: Status;
}
const CELLS: Cell[] = [
  { action: 'approve', body: { priority: 'High', department: 'IT Department' } },
  { action: 'reject', body: { rejection_reason: 'not our job' } },
  { action: 'claim' },
  ...STATUSES.map((to) => ({ action: 'update-status', body: { status: to, comment: 'moving on' }, to })),
  { action: 'finalize' },
  { action: 'withdraw', body: { comment: 'never mind' } },
  { action: 'close' },
];

/** The expected outcome: [http status, resulting status | undefined, error code?] */
function expected(from: Status, cell: Cell, role: Role): { status: number; to?: Status; code?: string } {
  const staff = role !== 'owner';
  switch (cell.action) {
    case 'approve':
      return !staff ? { status: 403 } : from === 'New' ? { status: 200, to: 'Open' } : { status: 409, code: 'invalid_transition' };
    case 'reject':
      return !staff ? { status: 403 } : from === 'New' ? { status: 200, to: 'Rejected' } : { status: 409, code: 'invalid_transition' };
    case 'claim':
      return !staff ? { status: 403 } : from === 'Open' ? { status: 200, to: 'In Progress' } : { status: 409, code: 'invalid_transition' };
    case 'update-status': {
      if (!staff) return { status: 403 };
      const to = cell.to!;
      if (WORKING.includes(from) && WORKING.includes(to) && from !== to) return { status: 200, to };
      if (from === 'Resolved' && to === 'Closed') return { status: 200, to };
      if (from === 'Closed' && to === 'Open') return role === 'admin' ? { status: 200, to } : { status: 403 };
      return { status: 409, code: 'invalid_transition' };
    }
    case 'finalize':
      return !staff ? { status: 403 } : from === 'New' || from === 'Rejected' ? { status: 409, code: 'invalid_transition' } : { status: 202 };
    case 'withdraw':
      return staff ? { status: 403 } : ['New', 'Open', 'In Progress', 'On Hold', 'Pending'].includes(from) ? { status: 200, to: 'Withdrawn' } : { status: 409, code: 'invalid_transition' };
    case 'close':
      return staff ? { status: 403 } : from === 'Resolved' ? { status: 200, to: 'Closed' } : { status: 409, code: 'invalid_transition' };
  }
  throw new Error(cell.action);
}

async function ticketIn(from: Status): Promise<number> {
  const approved = from !== 'New' && from !== 'Rejected';
  const [row] = await ta
    .db('tickets')
    .insert({
      employee_id: owner.user.id,
      subject: `cell ${from}`,
      category: 'c',
      sub_category: 's',
      description: 'd',
      status: from,
      submit_date: ta.db.raw(`now() - interval '1 hour'`),
      approved_at: approved ? ta.db.raw(`now() - interval '30 minutes'`) : null,
      priority: approved ? 'Low' : null,
      department: approved ? 'IT Department' : null,
    })
    .returning('id');
  return Number(row.id);
}

const count = async (table: string, where: Record<string, unknown>) => Number((await ta.db(table).where(where).count({ n: '*' }))[0].n);

t.test('every (from, action, role) cell', async (t) => {
  let cells = 0;
  for (const from of STATUSES) {
    for (const cell of CELLS) {
      for (const role of ROLES) {
        const id = await ticketIn(from);
        const exp = expected(from, cell, role);
        const label = `${from} --${cell.action}${cell.to ? `(${cell.to})` : ''}--> as ${role}`;
        const r = await api.post(`/api/tickets/${id}/${cell.action}/`, cell.body, { token: tokens[role] });
        cells++;
        t.equal(r.status, exp.status, `${label}: HTTP ${exp.status}`);
        const after = await ta.db('tickets').where({ id }).first();
        const history = await count('ticket_history', { ticket_id: id, event: 'status_changed' });
        const emails = await ta.db('notifications').where({ template: 'ticket_status_changed' }).whereRaw(`data->>'ticket_number' = ?`, [after.ticket_number]).select('data', 'recipient');
        const pushes = await ta.db('workflow_deliveries').where({ ticket_id: id }).select('reason');
        if (exp.status >= 400) {
          t.equal(after.status, from, `${label}: status unchanged`);
          t.equal(after.version, 1, `${label}: version unchanged`);
          t.equal(history + emails.length + pushes.length, 0, `${label}: no history, email or push`);
          if (exp.code) {
            t.equal(r.body.code, exp.code, `${label}: code`);
            t.equal(r.body.current_status, from, `${label}: names the current status`);
            // the statuses this role could reach from here with this action, by the table above
            const reachable = cell.action === 'update-status' ? STATUSES.filter((to) => expected(from, { ...cell, to }, role).status === 200) : [];
            t.same([...r.body.allowed].sort(), [...reachable].sort(), `${label}: lists the allowed targets`);
          }
          continue;
        }
        if (cell.action === 'finalize') {
          t.match(r.body, { ticket_id: id, reason: 'finalized', status: 'pending' }, `${label}: returns the delivery`);
          t.same(pushes.map((p) => p.reason), ['finalized'], `${label}: one new delivery`);
          t.equal(after.status, from, `${label}: status unchanged`);
          continue;
        }
        t.equal(r.body.status, exp.to, `${label}: now ${exp.to}`);
        t.equal(after.status, exp.to);
        t.equal(r.headers.get('etag'), `"v${after.version}"`, `${label}: ETag of the new version`);
        t.equal(history, 1, `${label}: one status history entry`);
        t.equal(emails.length, 1, `${label}: one status email`);
        t.equal(emails[0]?.recipient, owner.user.email, `${label}: to the owner`);
        t.match(emails[0]?.data, { from_status: from, to_status: exp.to });
        // timestamps each move sets
        if (cell.action === 'approve') {
          t.ok(after.approved_at && after.response_time >= 3599, `${label}: approved_at + response_time`);
          t.match(after, { priority: 'High', department: 'IT Department' });
          t.same(pushes.map((p) => p.reason), ['approved'], `${label}: workflow push queued`);
        } else {
          t.equal(pushes.length, 0, `${label}: no push`);
        }
        if (cell.action === 'reject') t.equal(after.rejection_reason, 'not our job');
        if (cell.action === 'claim') t.equal(Number(after.assigned_to), tokens[role] === coord.token ? coord.user.id : admin.user.id, `${label}: assigned to the claimer`);
        if (exp.to === 'Resolved') t.ok(after.resolved_at && after.resolution_time >= 3599, `${label}: resolution_time`);
        else t.equal(after.resolution_time, null, `${label}: no resolution_time`);
        if (exp.to === 'Closed') t.ok(after.time_closed, `${label}: time_closed`);
        else t.equal(after.time_closed, null, `${label}: no time_closed`);
      }
    }
  }
  t.equal(cells, STATUSES.length * CELLS.length * ROLES.length);
});

t.test('approve and reject validate their bodies', async (t) => {
  const id = await ticketIn('New');
  t.equal((await api.post(`/api/tickets/${id}/approve/`, { priority: 'High' }, { token: coord.token })).status, 400);
  t.equal((await api.post(`/api/tickets/${id}/approve/`, undefined, { token: coord.token })).status, 400);
  t.equal((await api.post(`/api/tickets/${id}/reject/`, {}, { token: coord.token })).status, 400);
  t.equal((await api.post(`/api/tickets/${id}/update-status/`, { status: 'Bogus' }, { token: coord.token })).status, 400);
});

t.test('a status comment is a public comment; the history names the actor', async (t) => {
  const id = await ticketIn('Open');
  await api.post(`/api/tickets/${id}/update-status/`, { status: 'Pending', comment: 'waiting for parts' }, { token: coord.token });
  const d = await api.get(`/api/tickets/${id}/`, { token: owner.token });
  t.match(d.body.comments, [{ comment: 'waiting for parts', is_internal: false }]);
  const h = await api.get(`/api/tickets/${id}/history/`, { token: owner.token });
  t.match(h.body.data.find((x: { event: string }) => x.event === 'status_changed'), { from_value: 'Open', to_value: 'Pending', actor: { kind: 'user', id: coord.user.id } });
});

t.test('API keys: transitions need tickets:write; history says api_key', async (t) => {
  const id = await ticketIn('New');
  const readOnly = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['tickets:read'] });
  const r = await api.post(`/api/tickets/${id}/approve/`, { priority: 'Low', department: 'IT Department' }, { apiKey: readOnly.key });
  t.equal(r.status, 403);
  t.equal(r.body.code, 'insufficient_scope');
  const writer = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['tickets:write', 'tickets:read'] });
  const ok = await api.post(`/api/tickets/${id}/approve/`, { priority: 'Low', department: 'IT Department' }, { apiKey: writer.key });
  t.equal(ok.status, 200);
  const h = await ta.db('ticket_history').where({ ticket_id: id, event: 'status_changed' }).first();
  t.match(h, { actor_kind: 'api_key', actor_id: null });
  t.equal(Number(h.actor_api_key_id), writer.id);
  const empKey = await createApiKey(ta.db, { role: 'Employee', scopes: ['tickets:read'] });
  t.equal((await api.get(`/api/tickets/${id}/`, { apiKey: empKey.key })).status, 404, 'an Employee-role key owns nothing');
});
