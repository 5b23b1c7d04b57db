/**
 * Ticket lists without `q` run from a statement compiled once per shape (paginateTemplate in
 * src/http/pagination.ts): the values are put into a cached text. For every filter, several
 * together, arrays of several lengths, first and later pages, both orders and the three views
 * (owner JSON, staff, staff with SLA), the statement sent and the rows returned must equal those of
 * the same list compiled afresh — run twice, so the second goes through the cache. A value frozen
 * into the cached text (another owner's tickets!) or dropped from it fails here.
 */
import t from 'tap';
import type { Knex } from 'knex';
import { filterSlots, listTickets, type TicketFilters } from '../src/features/tickets/ticket-store.js';
import { pageStatement, paginateTemplate } from '../src/http/pagination.js';
import { createEmployee, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const db = ta.db as Knex;
const alice = await createEmployee(db, { role: 'Employee', department: 'IT Department' });
const bob = await createEmployee(db, { role: 'Employee', department: 'Budget Department' });
const coord = await createEmployee(db, { role: 'Ticket Coordinator' });
const admin = await createEmployee(db, { role: 'System Admin' });

// 240 tickets over two owners, two assignees (and none), every status, priority, department, category
await db.raw(
  `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department, assigned_to, submit_date)
   SELECT CASE WHEN g % 2 = 0 THEN ?::bigint ELSE ?::bigint END, 'Ticket ' || g,
          (ARRAY['Hardware', 'Software', 'Network'])[1 + g % 3], 'Other', 'Generated ' || g,
          (ARRAY['New', 'Open', 'In Progress', 'On Hold', 'Pending', 'Resolved', 'Closed', 'Rejected', 'Withdrawn'])[1 + g % 9],
          (ARRAY['Critical', 'High', 'Medium', 'Low', NULL])[1 + g % 5],
          (ARRAY['IT Department', 'Asset Department', 'Budget Department', NULL])[1 + g % 4],
          (ARRAY[?::bigint, ?::bigint, NULL])[1 + g % 3],
          now() - make_interval(days => g % 40)
   FROM generate_series(1, 240) AS g`,
  [alice.id, bob.id, coord.id, admin.id],
);

const cases: [string, TicketFilters][] = [
  ['no filter', {}],
  ['owner', { owner: alice.id }],
  ['one status', { status: ['Open'] }],
  ['two statuses', { status: ['Open', 'New'] }],
  ['three statuses', { status: ['Closed', 'Pending', 'On Hold'] }],
  ['priority', { priority: 'High' }],
  ['department', { department: 'IT Department' }],
  ['category', { category: 'Software' }],
  ['assignee by id', { assignee: { id: coord.id } }],
  ['assignee by company id (lower case in)', { assignee: { company_id: admin.company_id.toLowerCase() } }],
  ['employee by id', { employee: { id: bob.id } }],
  ['employee by company id', { employee: { company_id: bob.company_id } }],
  ['submitted after', { submitted_after: new Date(Date.now() - 10 * 86_400_000).toISOString() }],
  ['submitted before', { submitted_before: new Date(Date.now() - 10 * 86_400_000).toISOString() }],
  ['mine', { mine: coord.id }],
  ['blank q', { q: '   ' }],
  ['everything at once', { status: ['Open', 'New', 'Pending'], priority: 'Low', category: 'Hardware', submitted_after: '2000-01-01T00:00:00Z', employee: { id: alice.id } }],
  ['owner and status', { owner: bob.id, status: ['Resolved'] }],
];

type Captured = { sql: string; bindings: unknown[] };
async function captured<T>(run: () => Promise<T>): Promise<{ result: T; statements: Captured[] }> {
  const statements: Captured[] = [];
  const on = (q: Captured) => void (/from "tickets"/.test(q.sql) && statements.push({ sql: q.sql, bindings: q.bindings }));
  db.on('query', on);
  try {
    return { result: await run(), statements };
  } finally {
    db.off('query', on);
  }
}

t.test('every shape: the cached statement and its rows equal a fresh compile', async (t) => {
  let compared = 0;
  for (const [name, f] of cases) {
    for (const view of ['staff', 'staff-sla', 'owner-json'] as const) {
      if (view === 'owner-json' && f.owner === undefined) continue;
      const opts = view === 'owner-json' ? { sla: false as const, json: true as const } : { sla: view === 'staff-sla' };
      for (const order of [undefined, 'submit_date']) {
        let cursor: string | undefined;
        for (let pageNo = 0; pageNo < 2; pageNo++) {
          const page = { limit: 7, cursor, order };
          const fresh = await captured(() => listTickets(db, f, page, { ...opts, template: false } as never) as Promise<{ data: { id: number }[]; next_cursor: string | null }>);
          for (const pass of ['compiled', 'cached']) {
            const cached = await captured(() => listTickets(db, f, page, opts as never) as Promise<{ data: { id: number }[]; next_cursor: string | null }>);
            const what = `${name}, ${view}, ${order ?? 'newest'}, page ${pageNo + 1}, ${pass}`;
            t.equal(cached.statements.length, 1, `${what}: one statement`);
            t.equal(cached.statements[0]?.sql, fresh.statements[0]?.sql, `${what}: the same SQL`);
            t.same(cached.statements[0]?.bindings, fresh.statements[0]?.bindings, `${what}: the same values`);
            t.same(cached.result, fresh.result, `${what}: the same rows and cursor`);
            compared++;
          }
          if (!fresh.result.next_cursor) break;
          cursor = fresh.result.next_cursor;
        }
      }
    }
  }
  t.ok(compared > 150, `${compared} comparisons`);
});

t.test('a list is never answered with another owner\'s tickets through the cache', async (t) => {
  const a = (await listTickets(db, { owner: alice.id }, { limit: 100 }, { sla: false, json: true })).data.map((r) => JSON.parse(r.json).employee.id);
  const b = (await listTickets(db, { owner: bob.id }, { limit: 100 }, { sla: false, json: true })).data.map((r) => JSON.parse(r.json).employee.id);
  t.ok(a.length > 0 && a.every((id: number) => id === alice.id), "alice's page is alice's");
  t.ok(b.length > 0 && b.every((id: number) => id === bob.id), "bob's page, from the same cached text, is bob's");
});

t.test('the shape of the filters, and filters rebuilt from other values', async (t) => {
  const s = filterSlots({ status: ['Open', 'New'], owner: 7, assignee: { company_id: 'MA0001' }, priority: '', department: undefined });
  t.equal(s.shape, 'assignee{company_id} owner status[2]', 'keys in order; empty and absent ones leave no trace');
  t.same(s.values, ['MA0001', 7, 'Open', 'New']);
  t.same(s.rebuild(['X', 8, 'A', 'B']), { assignee: { company_id: 'X' }, owner: 8, status: ['A', 'B'] });
  t.throws(() => filterSlots({ q: 'printer' }), /no template/, 'a search has no template');
});

t.test('a template refuses a value frozen into its text or left unbound', async (t) => {
  const base = () => db('tickets').select('id');
  t.throws(
    () => pageStatement('frozen\nx', [5, 21], () => ({ qb: base().where('employee_id', 5), limit: 21 })),
    /bound value 1 of "frozen" is not one of the values given/,
    'a value passed directly instead of its stand-in',
  );
  t.throws(
    () => pageStatement('transformed\nx', ['ma0001', 21], (v) => ({ qb: base().where('company_id', String(v[0]).toUpperCase()), limit: v[1] })),
    /is not one of the values given/,
    'a transformed stand-in',
  );
  t.throws(() => pageStatement('unbound\nx', [5, 21], (v) => ({ qb: base(), limit: v[1] })), /is never bound/, 'a value that is never bound');
  const ok = pageStatement('fine\nx', [5, 21], (v) => ({ qb: base().where('employee_id', v[0] as string), limit: v[1] }));
  t.same(ok, { sql: 'select "id" from "tickets" where "employee_id" = $1 limit (select $2::int)', bindings: [5, 21] });
  t.same(pageStatement('fine\nx', [9, 3], () => ({ qb: base(), limit: 0 })), { sql: ok.sql, bindings: [9, 3] }, 'cached: the build is not called again');
});

t.test('the fresh reference above really is compiled afresh, past the template', async (t) => {
  // were `fresh` ignored, the comparisons above would hold the template to itself
  const page = await paginateTemplate<{ id: number }>(db, 'fresh_check', 'x', [alice.id], () => {
    throw new Error('the template was built');
  }, { limit: 3, fresh: db('tickets').select('id').where('employee_id', alice.id) });
  t.equal(page.data.length, 3, 'a page from the fresh query');
  t.ok(page.next_cursor, 'and a cursor past it');
});
