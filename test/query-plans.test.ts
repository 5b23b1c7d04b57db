/**
 * Index-backed plans without statistics: the tickets table is filled with thousands of rows and
 * never analysed (autovacuum off for it, as on CI machines), then the hot list endpoints run and the
 * exact SQL each one sent is EXPLAINed. Every scan of `tickets` must be an index scan, and nothing
 * may sort the table's rows (keyset pages come in index order): a plan that reads every ticket of
 * an owner and sorts them — what an unanalysed table got before — fails.
 */
import t from 'tap';
import { createEmployee, signedIn, startTestApp, tokenFor } from './helpers/harness.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

const walk = (n: PlanNode, out: PlanNode[] = []): PlanNode[] => {
  out.push(n);
  for (const c of n.Plans ?? []) walk(c, out);
  return out;
};

t.test('hot ticket queries use indexes on a never-analysed table', async (t) => {
  const ta = await startTestApp(t);
  await ta.db.raw(`ALTER TABLE tickets SET (autovacuum_enabled = false)`);
  await ta.db.raw(`ALTER TABLE employees SET (autovacuum_enabled = false)`);
  const { user: owner, token: ownerToken } = await signedIn(ta);
  const coordinator = await createEmployee(ta.db, { role: 'Ticket Coordinator' });
  const coordToken = await tokenFor(ta.app, coordinator);
  const others = await Promise.all(Array.from({ length: 5 }, () => createEmployee(ta.db)));
  // 3,000 tickets by one employee (the own-tickets case), 3,000 by others; a third assigned; 1 in
  // 100 about toner (a search that matches few)
  await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department, assigned_to)
     SELECT CASE WHEN g <= 3000 THEN ?::bigint ELSE (ARRAY[?, ?, ?, ?, ?]::bigint[])[1 + g % 5] END,
            CASE WHEN g % 100 = 0 THEN 'Toner empty on floor ' ELSE 'Printer jam on floor ' END || g, 'Hardware', 'Printer', 'Paper stuck ' || g,
            (ARRAY['New', 'Open', 'In Progress', 'Closed'])[1 + g % 4], 'High', 'IT Department',
            CASE WHEN g % 3 = 0 THEN ?::bigint END
     FROM generate_series(1, 6000) g`,
    [owner.id, ...others.map((o) => o.id), coordinator.id],
  );
  // and a staff big enough that reading all of it is a choice the planner could make (never analysed either)
  await ta.db.raw(
    `INSERT INTO employees (first_name, last_name, email, department, role, status)
     SELECT 'Filler', 'Person ' || g, 'filler-' || g || '@plans.example.com', 'IT Department', 'Employee', 'Approved' FROM generate_series(1, 5000) g`,
  );
  const stats = (await ta.db.raw(`SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname = 'tickets'`)).rows[0];
  t.same(stats, { last_analyze: null, last_autoanalyze: null }, 'the tickets table was never analysed');

  // a keyset page's LIMIT is a bind parameter: on a big table the planner prices the page as a
  // full read and, with JIT on, compiled it for up to seconds (bench/volume.ts); the app's
  // connections run without JIT
  const jit = await ta.db.transaction(async (trx) => (await trx.raw(`SELECT current_setting('jit') AS jit`)).rows[0].jit);
  t.equal(jit, 'off', 'app connections run with jit = off');

  const captured: { sql: string; bindings: unknown[] }[] = [];
  const onQuery = (q: { sql: string; bindings?: unknown[] }) => {
    if (/from "tickets"|from \(select \* from tickets/i.test(q.sql) && /^select/i.test(q.sql.trim())) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  ta.db.on('query', onQuery);

  const cases: [string, string, Record<string, string>][] = [
    ['own tickets (employee)', ownerToken, {}],
    ['all tickets (staff)', coordToken, {}],
    ['by status (staff)', coordToken, { status: 'Open' }],
    ['assigned to me (staff)', coordToken, {}],
    ['search (staff)', coordToken, { q: 'toner' }],
  ];
  for (const [name, token, query] of cases) {
    captured.length = 0;
    const path = name.startsWith('assigned') ? '/api/tickets/my-tickets/' : '/api/tickets/';
    const first = await ta.api.get(path, { token, query: { ...query, limit: '20' } });
    t.equal(first.status, 200, `${name}: 200`);
    t.equal(first.body.data.length, 20, `${name}: a full page`);
    // and the second page (keyset cursor)
    const second = await ta.api.get(path, { token, query: { ...query, limit: '20', cursor: first.body.next_cursor } });
    t.equal(second.status, 200);
    t.ok(captured.length >= 2, `${name}: its SQL was captured`);
    for (const q of captured) {
      // the SQL as sent ($n placeholders), on a connection of the app's own pool
      const conn = await ta.db.client.acquireConnection();
      const plan = await conn.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`, q.bindings).then(
        (r: { rows: { 'QUERY PLAN': { Plan: PlanNode }[] }[] }) => r.rows[0]!['QUERY PLAN'][0]!.Plan,
        (err: Error) => { throw new Error(`${err.message}: ${q.sql}`); },
      ).finally(() => ta.db.client.releaseConnection(conn));
      const nodes = walk(plan);
      const scans = nodes.filter((n) => n['Relation Name'] === 'tickets');
      const bad = scans.filter((n) => !['Index Scan', 'Index Only Scan', 'Bitmap Heap Scan'].includes(n['Node Type']));
      t.same(bad.map((n) => n['Node Type']), [], `${name}: tickets read through an index (${scans.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`).join(', ')})`);
      // the owner and assignee: primary-key lookups for the page's rows, never a scan of employees
      // (a search matching thousands once hash-joined the whole table)
      const people = nodes.filter((n) => n['Relation Name'] === 'employees');
      t.same(people.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Node Type']), [], `${name}: employees by primary key (${people.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`).join(', ')})`);
      const read = scans.reduce((s, n) => s + (n['Actual Rows'] ?? 0), 0);
      if (name.startsWith('search')) {
        t.ok(nodes.some((n) => n['Node Type'] === 'Bitmap Index Scan'), `${name}: the GIN index finds the matches`);
      } else {
        t.ok(read <= 100, `${name}: reads a page's worth of tickets, not the table (${read} rows)`);
        t.notOk(nodes.some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort'), `${name}: no sort, rows come in index order`);
      }
    }
  }
  ta.db.off('query', onQuery);

  // and the maintenance job analyses a never-analysed table (no waiting on autovacuum)
  const { runMaintenance } = await import('../src/features/jobs/maintenance.js');
  const result = await runMaintenance(ta.app, 'analyze');
  t.ok(Number(result.analyze) >= 2, `maintenance analysed the stale tables (${result.analyze})`);
  const after = (await ta.db.raw(`SELECT last_analyze IS NOT NULL AS analysed FROM pg_stat_user_tables WHERE relname IN ('tickets', 'employees') ORDER BY relname`)).rows;
  t.same(after, [{ analysed: true }, { analysed: true }], 'tickets and employees now have statistics');
});

t.test('report queries read their period through an index on never-analysed tables, without sorting it where none is needed', async (t) => {
  const ta = await startTestApp(t);
  for (const table of ['tickets', 'ticket_sla']) await ta.db.raw(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  const { token } = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  // 6,000 tickets over a year, resolved ones with times, each with an SLA clock
  await ta.db.raw(
    `WITH tk AS (
       INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department, submit_date, approved_at, response_time, resolved_at, resolution_time)
       SELECT ?, 'plan ' || g, 'Hardware', 'Printer', 'x', 'Resolved', 'High', (ARRAY['IT Department','Asset Department'])[1 + g % 2],
              now() - (g % 365) * interval '1 day', now() - (g % 365) * interval '1 day' + interval '1 hour', 3600,
              now() - (g % 365) * interval '1 day' + interval '2 hours', 7200 + g
         FROM generate_series(1, 6000) g RETURNING id, submit_date)
     INSERT INTO ticket_sla (ticket_id, policy_name, reason, targets, created_at, first_response_business_minutes)
     SELECT id, 'P', 'test', '{}', submit_date, id % 10 FROM tk`,
    [owner.id],
  );
  const stats = (await ta.db.raw(`SELECT relname, last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname IN ('tickets', 'ticket_sla') ORDER BY relname`)).rows;
  t.same(stats.map((s: { last_analyze: unknown; last_autoanalyze: unknown }) => [s.last_analyze, s.last_autoanalyze]), [[null, null], [null, null]], 'tickets and ticket_sla were never analysed');
  const cases: { name: string; path: string; query: Record<string, string>; pick: RegExp; index: RegExp; noSortOf?: boolean }[] = [
    { name: 'SLA report', path: '/api/reports/sla/', query: { since: '7d' }, pick: /FROM ticket_sla s/, index: /ticket_sla_report_idx/, noSortOf: true },
    { name: 'time report by department', path: '/api/reports/tickets/times/', query: { by: 'department' }, pick: /percentile_cont/, index: /tickets_(approved|resolved)_at_idx/ },
    { name: 'time report, no grouping', path: '/api/reports/tickets/times/', query: {}, pick: /percentile_cont/, index: /tickets_(approved|resolved)_at_idx/ },
  ];
  for (const c of cases) {
    const captured: { sql: string; bindings: unknown[] }[] = [];
    const on = (q: { sql: string; bindings?: unknown[] }) => void (c.pick.test(q.sql) && captured.push({ sql: q.sql, bindings: q.bindings ?? [] }));
    ta.db.on('query', on);
    const r = await ta.api.get(c.path, { token, query: c.query });
    ta.db.off('query', on);
    t.equal(r.status, 200, `${c.name}: 200`);
    t.ok(captured.length >= 1, `${c.name}: its SQL was captured`);
    for (const q of captured) {
      const conn = await ta.db.client.acquireConnection();
      const plan = await conn.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`, q.bindings).then((res: { rows: { 'QUERY PLAN': { Plan: PlanNode }[] }[] }) => res.rows[0]!['QUERY PLAN'][0]!.Plan).finally(() => ta.db.client.releaseConnection(conn));
      const nodes = walk(plan);
      const scans = nodes.filter((n) => n['Relation Name'] === 'tickets' || n['Relation Name'] === 'ticket_sla' || /^(tickets|ticket_sla)_/.test(n['Index Name'] ?? ''));
      t.same(scans.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']), [], `${c.name}: no sequential scan (${scans.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`).join(', ')})`);
      t.ok(scans.some((n) => c.index.test(n['Index Name'] ?? '')), `${c.name}: a range scan of its period index`);
      // the SLA report's groups come from a hash of histograms: only the few result rows are sorted
      if (c.noSortOf) {
        const read = Math.max(...scans.map((n) => n['Actual Rows'] ?? 0));
        const sorted = nodes.filter((n) => n['Node Type'] === 'Sort').map((n) => n['Actual Rows'] ?? 0);
        t.ok(read > 50 && sorted.every((n) => n <= 12), `${c.name}: no sort of the period's rows (${read} read, sorts of ${sorted.join(', ') || 'none'})`);
      }
    }
  }
});
