/**
 * The ticket count rollup (migration 20261203100000_ticket_count_rollup, src/features/reports/
 * ticket-counts.ts): statement triggers on tickets append deltas, a fold moves them into
 * ticket_counts, and backlog's "open now", workload's open per assignee and the ticket report's
 * counts by status read the sum of both. Whatever happens to tickets — inserts, updates of any key
 * column, deletes, rolled-back transactions, cascades, folds before, after and during writes — those
 * answers must equal counting the tickets themselves, exactly.
 */
import t, { type Test as TapTest } from 'tap';
import type { Knex } from 'knex';
import { foldTicketCounts } from '../src/features/reports/ticket-counts.js';
import { QUEUES } from '../src/jobs/queues.js';
import { createEmployee, signedIn, startTestApp, tokenFor, type TestApp } from './helpers/harness.js';
import { terminateWhenWaiting } from './helpers/backends.js';
import { waitFor } from './helpers/outbound.js';

const OPEN = ['New', 'Open', 'In Progress', 'On Hold', 'Pending'];
const STATUSES = [...OPEN, 'Resolved', 'Closed', 'Rejected', 'Withdrawn'];
const CATEGORIES = ['Hardware', 'Software', 'Network'];
const DEPARTMENTS = [null, 'IT Department', 'Asset Department', 'Budget Department'];
const PRIORITIES = [null, 'Low', 'Medium', 'High', 'Critical'];

/** A small deterministic PRNG (mulberry32): a failing run can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const KEY_SQL = `status || '|' || category || '|' || coalesce(department, '-') || '|' || coalesce(priority, '-') || '|' || coalesce(assigned_to::text, '-')`;

/** Per key: the tickets counted directly, and the rollup (folded + pending), in ONE snapshot. */
async function snapshot(db: Knex) {
  return db.transaction(
    async (trx) => {
      const direct = (await trx.raw(`SELECT ${KEY_SQL} AS k, count(*)::int AS n FROM tickets GROUP BY 1 ORDER BY 1`)).rows as { k: string; n: number }[];
      const rollup = (await trx.raw(
        `SELECT ${KEY_SQL} AS k, sum(n)::int AS n FROM (SELECT status, category, department, priority, assigned_to, n FROM ticket_counts
            UNION ALL SELECT status, category, department, priority, assigned_to, d FROM ticket_count_deltas) r
          GROUP BY 1 HAVING sum(n) <> 0 ORDER BY 1`,
      )).rows as { k: string; n: number }[];
      return { direct: Object.fromEntries(direct.map((r) => [r.k, r.n])), rollup: Object.fromEntries(rollup.map((r) => [r.k, r.n])) };
    },
    { isolationLevel: 'repeatable read' },
  );
}

async function sameKeys(t: TapTest, db: Knex, label: string) {
  const s = await snapshot(db);
  t.ok(Object.keys(s.direct).length > 0, `${label}: there are tickets to count`);
  t.same(s.rollup, s.direct, `${label}: every key's count equals the tickets`);
}

/** The reports through the API against direct counts over tickets (no writes run meanwhile). */
async function sameReports(t: TapTest, ta: TestApp, token: string, staff: { id: number; company_id: string }[], label: string) {
  const count = async (where: string, b: unknown[] = []) => Number((await ta.db.raw(`SELECT count(*)::int AS n FROM tickets t WHERE t.status = ANY(?) ${where}`, [OPEN, ...b] as never)).rows[0].n);
  const filters: [Record<string, string>, string, unknown[]][] = [
    [{}, '', []],
    [{ category: 'Network' }, 'AND t.category = ?', ['Network']],
    [{ department: 'Asset Department' }, 'AND t.department = ?', ['Asset Department']],
    [{ priority: 'High' }, 'AND t.priority = ?', ['High']],
    [{ assigned_to: String(staff[0]!.id) }, 'AND t.assigned_to = ?', [staff[0]!.id]],
    [{ assigned_to: staff[1]!.company_id.toLowerCase() }, 'AND t.assigned_to = ?', [staff[1]!.id]],
    [{ category: 'Hardware', priority: 'Low', department: 'IT Department' }, 'AND t.category = ? AND t.priority = ? AND t.department = ?', ['Hardware', 'Low', 'IT Department']],
  ];
  for (const [query, where, b] of filters) {
    const r = await ta.api.get('/api/reports/tickets/backlog/', { token, query });
    t.equal(r.status, 200);
    t.equal(r.body.open_now, await count(where, b), `${label}: backlog open now ${JSON.stringify(query)}`);
  }
  const unknown = await ta.api.get('/api/reports/tickets/backlog/', { token, query: { assigned_to: 'MA99999' } });
  t.equal(unknown.body.open_now, 0, `${label}: nobody with that company id has open tickets`);
  for (const query of [{}, { category: 'Hardware' }] as Record<string, string>[]) {
    const r = await ta.api.get('/api/reports/tickets/workload/', { token, query });
    t.equal(r.status, 200);
    const got = Object.fromEntries((r.body.data as { assignee: { id: number } | null; open: number }[]).filter((d) => d.open !== 0).map((d) => [String(d.assignee?.id ?? 'unassigned'), d.open]));
    const want = Object.fromEntries(
      ((await ta.db.raw(`SELECT coalesce(t.assigned_to::text, 'unassigned') AS k, count(*)::int AS n FROM tickets t WHERE t.status = ANY(?) ${query.category ? 'AND t.category = ?' : ''} GROUP BY 1`, [OPEN, ...(query.category ? [query.category] : [])])).rows as { k: string; n: number }[]).map((x) => [x.k, x.n]),
    );
    t.same(got, want, `${label}: workload open per assignee ${JSON.stringify(query)}`);
  }
  const rep = await ta.api.get('/api/reports/tickets/', { token });
  t.equal(rep.status, 200);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const r of (await ta.db.raw(`SELECT status, count(*)::int AS n FROM tickets GROUP BY 1`)).rows as { status: string; n: number }[]) byStatus[r.status] = r.n;
  t.same(rep.body.by_status, byStatus, `${label}: ticket report by status`);
}

/** One random write statement (or a rolled-back transaction), on tickets whose id % parts = part. */
async function randomWrite(db: Knex, r: Rng, owner: number, assignees: (number | null)[], part = 0, parts = 1): Promise<string> {
  const value = (col: string): unknown =>
    col === 'status' ? r.pick(STATUSES) : col === 'category' ? r.pick(CATEGORIES) : col === 'department' ? r.pick(DEPARTMENTS) : col === 'priority' ? r.pick(PRIORITIES) : r.pick(assignees);
  const ids = async (n: number) =>
    ((await db.raw(`SELECT id FROM tickets WHERE id % ? = ? ORDER BY md5(id::text || ?) LIMIT ?`, [parts, part, String(r.next()), n])).rows as { id: string }[]).map((x) => Number(x.id));
  const op = r.int(10);
  if (op < 3) {
    const n = 1 + r.int(15);
    const rows = Array.from({ length: n }, () => ({ employee_id: owner, subject: 'rollup', sub_category: 'x', description: 'd', status: value('status'), category: value('category'), department: value('department'), priority: value('priority'), assigned_to: value('assigned_to') }));
    await db('tickets').insert(rows);
    return `insert ${n}`;
  }
  const target = await ids(1 + r.int(12));
  if (!target.length) return 'nothing to change';
  if (op < 7) {
    // one to five key columns, each to a random value (sometimes the one it has: a no-op for that ticket)
    const cols = ['status', 'category', 'department', 'priority', 'assigned_to'].filter(() => r.next() < 0.4);
    if (!cols.length) cols.push(r.pick(['status', 'category', 'department', 'priority', 'assigned_to']));
    await db('tickets').whereIn('id', target).update(Object.fromEntries(cols.map((c) => [c, value(c)])));
    return `update ${cols.join(',')} of ${target.length}`;
  }
  if (op === 7) {
    // per-row different values in one statement: some tickets move between keys, others swap places
    await db.raw(`UPDATE tickets SET status = (?::text[])[1 + (id % 9)], assigned_to = (?::bigint[])[1 + (id % ?)] WHERE id = ANY(?)`, [STATUSES, assignees.filter((a) => a !== null), assignees.length - 1, target]);
    return `update per-row of ${target.length}`;
  }
  if (op === 8) {
    await db('tickets').whereIn('id', target).delete();
    return `delete ${target.length}`;
  }
  // a transaction that changes keys and rolls back: its deltas must vanish with it
  await db
    .transaction(async (trx) => {
      await trx('tickets').whereIn('id', target).update({ status: 'Closed', assigned_to: null });
      await trx('tickets').insert({ employee_id: owner, subject: 'rolled back', sub_category: 'x', description: 'd', category: 'Hardware', status: 'New' });
      throw new Error('roll back');
    })
    .catch((err: Error) => {
      if (err.message !== 'roll back') throw err;
    });
  return `rolled back ${target.length}`;
}

t.test('random inserts, key changes, deletes and rollbacks, with and without folds: the rollup equals the tickets', async (t) => {
  const ta = await startTestApp(t);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  const staff = await Promise.all(Array.from({ length: 4 }, () => createEmployee(ta.db, { role: 'Ticket Coordinator' })));
  const assignees = [null, ...staff.map((s) => s.id)];
  const seed = 20261203;
  const r = rng(seed);
  for (let i = 0; i < 8; i++) await randomWrite(ta.db, r, owner.id, assignees);
  await sameKeys(t, ta.db, `seed ${seed}, nothing folded yet`);
  await sameReports(t, ta, coord.token, staff, 'nothing folded yet');

  // an update that changes no key column writes no delta at all
  const deltas = async () => Number((await ta.db('ticket_count_deltas').count({ n: '*' }))[0]!.n);
  const before = await deltas();
  await ta.db('tickets').update({ subject: 'renamed', description: 'edited' });
  await ta.db.raw(`UPDATE tickets SET status = status, assigned_to = assigned_to`);
  t.equal(await deltas(), before, 'updates of other columns (or of a key to itself) write no delta rows');

  let folds = 0;
  for (let round = 0; round < 12; round++) {
    const did: string[] = [];
    for (let i = 0; i < 6; i++) did.push(await randomWrite(ta.db, r, owner.id, assignees));
    if (round % 3 !== 2) {
      await foldTicketCounts(ta.db);
      folds++;
      t.equal(await deltas(), 0, `round ${round}: the fold leaves no delta`);
    }
    await sameKeys(t, ta.db, `round ${round} (${did.join('; ')})`);
  }
  t.ok(folds >= 8);
  await sameReports(t, ta, coord.token, staff, 'after folds and pending deltas');
  await foldTicketCounts(ta.db);
  const stored = await ta.db('ticket_counts').where('n', '<=', 0).count({ n: '*' });
  t.equal(Number(stored[0]!.n), 0, 'after a fold no key is stored with a zero or negative count (emptied keys are removed)');
  await sameReports(t, ta, coord.token, staff, 'all folded');
  // a fold with nothing pending changes nothing
  t.same(await foldTicketCounts(ta.db), { deltas: 0, keys: 0, emptied: 0 });
  await sameKeys(t, ta.db, 'after an empty fold');
});

t.test('writes running concurrently with folds: every snapshot sees exact counts', async (t) => {
  const ta = await startTestApp(t);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  const staff = await Promise.all(Array.from({ length: 4 }, () => createEmployee(ta.db, { role: 'Ticket Coordinator' })));
  const assignees = [null, ...staff.map((s) => s.id)];
  await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department, assigned_to)
     SELECT ?, 'seed ' || g, (?::text[])[1 + g % 3], 'x', 'd', (?::text[])[1 + (g / 3) % 9], (ARRAY['Low','Medium','High','Critical'])[1 + g % 4],
            (ARRAY['IT Department','Asset Department'])[1 + g % 2], (?::bigint[])[1 + g % 4]
       FROM generate_series(1, 400) g`,
    [owner.id, CATEGORIES, STATUSES, staff.map((s) => s.id)],
  );
  const WRITERS = 4;
  let writing = WRITERS;
  let folds = 0;
  let checks = 0;
  const writers = Array.from({ length: WRITERS }, (_, w) =>
    (async () => {
      const r = rng(1000 + w);
      // each writer changes its own tickets (id % WRITERS): writers never deadlock on one another
      for (let i = 0; i < 40; i++) await randomWrite(ta.db, r, owner.id, assignees, w, WRITERS);
      writing--;
    })(),
  );
  const folder = (async () => {
    while (writing > 0) {
      await foldTicketCounts(ta.db);
      folds++;
    }
  })();
  // two folds at once: the advisory lock serialises them, and nothing is counted twice
  const second = (async () => {
    while (writing > 0) await foldTicketCounts(ta.db);
  })();
  const checker = (async () => {
    while (writing > 0) {
      const s = await snapshot(ta.db);
      checks++;
      if (JSON.stringify(s.rollup) !== JSON.stringify(s.direct)) t.same(s.rollup, s.direct, `snapshot ${checks} during writes and folds`);
    }
  })();
  await Promise.all([...writers, folder, second, checker]);
  t.ok(folds > 0 && checks > 0, `folds (${folds}) and snapshot checks (${checks}) ran while the writers wrote`);
  await sameKeys(t, ta.db, 'after concurrent writes and folds, deltas pending');
  await foldTicketCounts(ta.db);
  await sameKeys(t, ta.db, 'after the last fold');
  await sameReports(t, ta, coord.token, staff, 'after concurrent writes and folds');
});

t.test('a fold whose connection dies mid-statement folds nothing; the next one folds everything', async (t) => {
  const ta = await startTestApp(t);
  const owner = await createEmployee(ta.db);
  const staff = await Promise.all(Array.from({ length: 3 }, () => createEmployee(ta.db, { role: 'Ticket Coordinator' })));
  const r = rng(777);
  for (let i = 0; i < 10; i++) await randomWrite(ta.db, r, owner.id, [null, ...staff.map((s) => s.id)]);
  const deltas = async () => Number((await ta.db('ticket_count_deltas').count({ n: '*' }))[0]!.n);
  const pending = await deltas();
  t.ok(pending > 0, 'deltas are waiting to be folded');
  // hold ticket_counts so the fold statement stops at its lock, then kill its backend there
  const blocker = await ta.db.transaction();
  await blocker.raw('LOCK TABLE ticket_counts IN EXCLUSIVE MODE');
  const fold = foldTicketCounts(ta.db).then(() => 'folded', (e: Error) => e.message);
  await terminateWhenWaiting(ta.db, '%DELETE FROM ticket_count_deltas%', 'the fold waiting on its lock');
  t.not(await fold, 'folded', 'the killed fold failed');
  await blocker.rollback();
  t.equal(await deltas(), pending, 'its transaction rolled back: every delta is still there');
  await sameKeys(t, ta.db, 'after the killed fold');
  const next = await foldTicketCounts(ta.db);
  t.equal(next.deltas, pending, 'the next fold takes all of them');
  t.equal(await deltas(), 0);
  await sameKeys(t, ta.db, 'after the next fold');
});

t.test('every key column a ticket change touches moves its count (through the API)', async (t) => {
  const ta = await startTestApp(t);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const admin = await signedIn(ta, { role: 'System Admin' });
  const emp = await signedIn(ta);
  const A = await createEmployee(ta.db, { role: 'Ticket Coordinator', first_name: 'Ana', last_name: 'Alpha' });
  const B = await createEmployee(ta.db, { role: 'Ticket Coordinator', first_name: 'Ben', last_name: 'Beta' });
  const C = await createEmployee(ta.db, { role: 'Ticket Coordinator', first_name: 'Cy', last_name: 'Gamma' });
  const aToken = await tokenFor(ta.app, A);
  const open = async (query: Record<string, string> = {}) => {
    const r = await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token, query });
    t.equal(r.status, 200);
    return r.body.open_now as number;
  };
  const workload = async () => {
    const r = await ta.api.get('/api/reports/tickets/workload/', { token: coord.token });
    t.equal(r.status, 200);
    return Object.fromEntries((r.body.data as { assignee: { company_id: string } | null; open: number }[]).filter((d) => d.open > 0).map((d) => [d.assignee?.company_id ?? '(unassigned)', d.open]));
  };
  const byStatus = async () => {
    const r = await ta.api.get('/api/reports/tickets/', { token: admin.token });
    t.equal(r.status, 200);
    return Object.fromEntries(Object.entries(r.body.by_status as Record<string, number>).filter(([, n]) => n > 0));
  };

  const created = await ta.api.post('/api/tickets/', { subject: 'Laptop', category: 'Hardware', sub_category: 'Laptop', description: 'Broken' }, { token: emp.token });
  t.equal(created.status, 201, created.text);
  const id = created.body.id as number;
  t.equal(await open(), 1, 'created: open');
  t.same(await byStatus(), { New: 1 });
  t.same(await workload(), { '(unassigned)': 1 });

  t.equal((await ta.api.patch(`/api/tickets/${id}/`, { category: 'Network' }, { token: emp.token })).status, 200, 'the owner recategorises it while New');
  t.equal(await open({ category: 'Hardware' }), 0, 'category changed: not Hardware any more');
  t.equal(await open({ category: 'Network' }), 1, 'category changed: Network');

  t.equal((await ta.api.post(`/api/tickets/${id}/approve/`, { priority: 'High', department: 'IT Department' }, { token: coord.token })).status, 200);
  t.same(await byStatus(), { Open: 1 }, 'approved: status moved');
  t.equal(await open({ priority: 'High' }), 1, 'approved: priority set');
  t.equal(await open({ department: 'IT Department' }), 1, 'approved: department set');

  t.equal((await ta.api.post(`/api/tickets/${id}/claim/`, undefined, { token: aToken })).status, 200, 'A claims it');
  t.same(await workload(), { [A.company_id]: 1 }, 'claimed: A has it, nobody else');
  t.same(await byStatus(), { 'In Progress': 1 });

  // no endpoint reassigns a claimed ticket; the column change itself must move the count
  await ta.db('tickets').where({ id }).update({ assigned_to: B.id });
  t.same(await workload(), { [B.company_id]: 1 }, 'reassigned: B has it, A has none');
  t.equal(await open({ assigned_to: A.company_id }), 0, 'reassigned: A has no open ticket');
  t.equal(await open({ assigned_to: String(B.id) }), 1, 'reassigned: B has one');

  t.equal((await ta.api.patch(`/api/tickets/${id}/`, { priority: 'Critical', department: 'Asset Department' }, { token: coord.token })).status, 200);
  t.equal(await open({ priority: 'High' }), 0, 'priority changed: not High');
  t.equal(await open({ priority: 'Critical' }), 1, 'priority changed: Critical');
  t.equal(await open({ department: 'IT Department' }), 0, 'department changed: not IT');
  t.equal(await open({ department: 'Asset Department' }), 1, 'department changed: Asset');

  await foldTicketCounts(ta.db);
  t.equal((await ta.api.post(`/api/tickets/${id}/update-status/`, { status: 'Resolved', comment: 'Fixed.' }, { token: coord.token })).status, 200);
  t.equal(await open(), 0, 'resolved: not open');
  t.same(await byStatus(), { Resolved: 1 });
  t.same(await workload(), {}, 'resolved: nobody has an open ticket');

  // a second ticket assigned to C; deleting C sets assigned_to NULL through the foreign key (a cascade, not our UPDATE)
  const [other] = await ta.db('tickets').insert({ employee_id: emp.user.id, subject: 's', category: 'Software', sub_category: 'x', description: 'd', status: 'Open', assigned_to: C.id }).returning('id');
  t.same(await workload(), { [C.company_id]: 1 });
  await ta.db('employees').where({ id: C.id }).delete();
  t.same(await workload(), { '(unassigned)': 1 }, "the assignee's removal moved the ticket to unassigned");

  t.equal((await ta.api.delete(`/api/tickets/${id}/`, { token: admin.token })).status, 204);
  t.same(await byStatus(), { Open: 1 }, 'deleted: only the other ticket is counted');
  await ta.db('tickets').where({ id: other.id }).delete();
  t.same(await byStatus(), {}, 'no tickets: no counts');
  t.equal(await open(), 0);
  await foldTicketCounts(ta.db);
  t.equal(Number((await ta.db('ticket_counts').count({ n: '*' }))[0]!.n), 0, 'and after a fold no key rows are left');
});

t.test('the fold job runs through pg-boss, every minute once per cluster', async (t) => {
  const ta = await startTestApp(t);
  const owner = await createEmployee(ta.db);
  await ta.startWorkers();
  const scheduled = await waitFor(
    async () => (await ta.db.raw(`SELECT id FROM pgboss.job WHERE name = ? AND singleton_key = ? AND state = 'completed'`, [QUEUES.foldTicketCounts, `schedule:${QUEUES.foldTicketCounts}`])).rows[0],
    'the periodic fold job sent and done',
  );
  t.ok(scheduled);
  await ta.db('tickets').insert(Array.from({ length: 30 }, (_, i) => ({ employee_id: owner.id, subject: `job ${i}`, category: CATEGORIES[i % 3], sub_category: 'x', description: 'd', status: STATUSES[i % 9] })));
  await ta.db('tickets').where('subject', 'like', 'job 1%').update({ status: 'Closed' });
  t.ok(Number((await ta.db('ticket_count_deltas').count({ n: '*' }))[0]!.n) > 0, 'deltas pending');
  const jobId = await ta.app.jobs.enqueue(ta.db, QUEUES.foldTicketCounts, {});
  t.ok(jobId, 'a fold job queued');
  await waitFor(async () => (await ta.db.raw(`SELECT state FROM pgboss.job WHERE id = ?`, [jobId])).rows[0]?.state === 'completed', 'the fold job completed');
  t.equal(Number((await ta.db('ticket_count_deltas').count({ n: '*' }))[0]!.n), 0, 'the job folded every delta');
  await sameKeys(t, ta.db, 'after the job');
  const counts = (await ta.db.raw(`SELECT status, sum(n)::int AS n FROM ticket_counts GROUP BY 1 ORDER BY 1`)).rows;
  // 30 tickets, status i % 9: New, Open, In Progress 4 each (i % 9 = 0, 1, 2), the others 3 each; then
  // "job 1" and "job 10" … "job 19" are closed: i = 18 leaves New, 1/10/19 leave Open, 11 In Progress,
  // 12 On Hold, 13 Pending, 14 Resolved, 16 Rejected, 17 Withdrawn (15 was Closed): Closed 3 + 10
  t.same(counts, [
    { status: 'Closed', n: 13 },
    { status: 'In Progress', n: 3 },
    { status: 'New', n: 3 },
    { status: 'On Hold', n: 2 },
    { status: 'Open', n: 1 },
    { status: 'Pending', n: 2 },
    { status: 'Rejected', n: 2 },
    { status: 'Resolved', n: 2 },
    { status: 'Withdrawn', n: 2 },
  ]);
});

t.test('the rollup reads no tickets; a trigger-less load is repaired by the rebuild; TRUNCATE empties it', async (t) => {
  const ta = await startTestApp(t);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status)
     SELECT ?, 'bulk ' || g, 'Hardware', 'x', 'd', (?::text[])[1 + g % 9] FROM generate_series(1, 900) g`,
    [owner.id, STATUSES],
  );
  // the open-now query of the backlog and of the workload: only the rollup tables
  const captured: { sql: string; bindings: unknown[] }[] = [];
  const on = (q: { sql: string; bindings?: unknown[] }) => void (/ticket_count_deltas/.test(q.sql) && captured.push({ sql: q.sql, bindings: q.bindings ?? [] }));
  ta.db.on('query', on);
  t.equal((await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token })).body.open_now, 500);
  t.equal((await ta.api.get('/api/reports/tickets/workload/', { token: coord.token })).body.data[0].open, 500);
  ta.db.off('query', on);
  t.equal(captured.length, 2, 'both reports read the rollup');
  for (const q of captured) {
    let n = 0;
    const plan = JSON.stringify((await ta.db.raw(`EXPLAIN (FORMAT JSON) ${q.sql.replace(/\$\d+/g, () => `$${++n}`)}`, q.bindings as never)).rows[0]);
    t.notMatch(plan, /"Relation Name":"tickets"/, 'the tickets table is not read');
    t.match(plan, /"Relation Name":"ticket_counts"/);
  }

  // a bulk load with triggers off (session_replication_role = replica) bypasses the rollup …
  await ta.db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL session_replication_role = replica`);
    await trx.raw(`INSERT INTO tickets (employee_id, subject, category, sub_category, description, status) SELECT ?, 'replica ' || g, 'Network', 'x', 'd', 'Open' FROM generate_series(1, 100) g`, [owner.id]);
  });
  t.equal((await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token })).body.open_now, 500, 'tickets loaded without triggers are not counted');
  // … and the rebuild recounts from tickets
  t.equal(Number((await ta.db.raw(`SELECT smartsupport_ticket_counts_rebuild() AS n`)).rows[0].n), 1000, 'rebuild counted every ticket');
  t.equal((await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token })).body.open_now, 600);
  await sameKeys(t, ta.db, 'after the rebuild');

  await ta.db.raw(`TRUNCATE tickets CASCADE`);
  t.equal(Number((await ta.db.raw(`SELECT (SELECT count(*) FROM ticket_counts) + (SELECT count(*) FROM ticket_count_deltas) AS n`)).rows[0].n), 0, 'TRUNCATE tickets empties the rollup');
  await ta.db('tickets').insert({ employee_id: owner.id, subject: 'after', category: 'Hardware', sub_category: 'x', description: 'd', status: 'Pending' });
  t.equal((await ta.api.get('/api/reports/tickets/backlog/', { token: coord.token })).body.open_now, 1);
  await sameKeys(t, ta.db, 'after TRUNCATE and an insert');
});

t.test('the migration backfills ticket_counts from the tickets already there', async (t) => {
  const ta = await startTestApp(t);
  const owner = await createEmployee(ta.db);
  const staff = await createEmployee(ta.db, { role: 'Ticket Coordinator' });
  const migration = await import('../migrations/20261203100000_ticket_count_rollup.js');
  await ta.db.transaction((trx) => migration.down(trx));
  // tickets written before the rollup existed
  await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department, assigned_to)
     SELECT ?, 'old ' || g, (?::text[])[1 + g % 3], 'x', 'd', (?::text[])[1 + g % 9], (ARRAY[NULL, 'Low', 'High'])[1 + g % 3],
            (ARRAY[NULL, 'IT Department'])[1 + g % 2], CASE WHEN g % 4 = 0 THEN ?::bigint END
       FROM generate_series(1, 700) g`,
    [owner.id, CATEGORIES, STATUSES, staff.id],
  );
  await ta.db.transaction((trx) => migration.up(trx));
  t.equal(Number((await ta.db('ticket_count_deltas').count({ n: '*' }))[0]!.n), 0, 'the backfill writes counts, not deltas');
  t.equal(Number((await ta.db('ticket_counts').sum({ n: 'n' }))[0]!.n), 700);
  await sameKeys(t, ta.db, 'after the backfill');
  await ta.db.raw(`UPDATE tickets SET assigned_to = ? WHERE id % 5 = 0`, [staff.id]);
  await sameKeys(t, ta.db, 'and the triggers work after it');
});
