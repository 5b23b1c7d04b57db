/**
 * The SLA report reads exact percentiles off hash-aggregated histograms of business minutes
 * (src/features/sla/sla-admin.ts): on randomized ticket_sla rows — ties, nulls, met on time, met late,
 * unmet and overdue, unmet and not due, groups of one — every figure of every grouping must equal
 * the from-scratch SQL over the base table (percentile_cont, count … FILTER), including after
 * concurrent updates of the rows. (Its plan on a never-analysed table: test/query-plans.test.ts.)
 */
import t from 'tap';
import { createEmployee, signedIn, startTestApp } from './helpers/harness.js';

/**
 * The report as it was computed before the histograms: one sort per percentile, straight SQL. (The
 * old query selected `g.*` after the assignee's company id, so its `key` column was overwritten by
 * the raw assignee id; the report now names the assignee by company id, as documented.)
 */
async function fromScratch(db: import('knex').Knex, since: Date, until: Date, groupBy: string) {
  const key = { policy: 's.policy_name', priority: `COALESCE(s.priority, '(none)')`, category: `COALESCE(s.category, '(none)')`, assignee: 's.assignee_id' }[groupBy]!;
  const met = (tg: string) => `count(*) FILTER (WHERE s.${tg}_met_at IS NOT NULL AND (s.${tg}_due_at IS NULL OR s.${tg}_met_at <= s.${tg}_due_at))::integer`;
  const breached = (tg: string) => `count(*) FILTER (WHERE s.${tg}_due_at IS NOT NULL AND ((s.${tg}_met_at IS NULL AND s.${tg}_due_at <= now()) OR s.${tg}_met_at > s.${tg}_due_at))::integer`;
  const { rows } = await db.raw(
    `SELECT ${groupBy === 'assignee' ? `COALESCE(a.company_id, '(unassigned)')` : 'g.key'} AS key, g.tickets, g.frm, g.frb, g.rm, g.rb, g.frp, g.rp FROM (
       SELECT ${key} AS key, count(*)::integer AS tickets,
         ${met('first_response')} AS frm, ${breached('first_response')} AS frb, ${met('resolution')} AS rm, ${breached('resolution')} AS rb,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s.first_response_business_minutes) AS frp,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s.resolution_business_minutes) AS rp
       FROM ticket_sla s WHERE s.created_at >= ? AND s.created_at < ? GROUP BY 1) g
     ${groupBy === 'assignee' ? 'LEFT JOIN employees a ON a.id = g.key' : ''} ORDER BY 1`,
    [since, until],
  );
  const pct = (ok: number, bad: number) => (ok + bad ? Math.round((1000 * ok) / (ok + bad)) / 10 : null);
  const num = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
  return (rows as Record<string, any>[]).map((r) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
    key: String(r.key),
    tickets: r.tickets,
    first_response: { met: r.frm, breached: r.frb, compliance_percent: pct(r.frm, r.frb), p50_business_minutes: num(r.frp?.[0]), p90_business_minutes: num(r.frp?.[1]) },
    resolution: { met: r.rm, breached: r.rb, compliance_percent: pct(r.rm, r.rb), p50_business_minutes: num(r.rp?.[0]), p90_business_minutes: num(r.rp?.[1]) },
  }));
}

t.test('SLA report equals the from-scratch SQL on randomized rows, also after concurrent updates', async (t) => {
  const ta = await startTestApp(t);
  await ta.db.raw(`ALTER TABLE ticket_sla SET (autovacuum_enabled = false)`);
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const owner = await createEmployee(ta.db);
  const staff = await Promise.all(Array.from({ length: 4 }, () => createEmployee(ta.db, { role: 'Ticket Coordinator' })));
  // a fixed seed: a failure names a reproducible data set
  let seed = 20261202;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const N = 1500;
  const ids = (await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department)
     SELECT ?, 'exact ' || g, 'Hardware', 'Other', 'x', 'Open', 'High', 'IT Department' FROM generate_series(1, ?) g RETURNING id`,
    [owner.id, N],
  )).rows.map((r: { id: string }) => Number(r.id));
  const now = Date.now();
  const rows = ids.map((id: number) => {
    const created = now - Math.floor(rnd() * 40 * 86_400_000); // some before the 30-day period
    const target = (minutesSpread: number) => {
      const due = rnd() < 0.1 ? null : created + Math.floor(rnd() * 3 * 86_400_000);
      const r = rnd();
      // met on time, met late, or not met (then overdue or still running, by its due time)
      const met = r < 0.4 ? (due ?? created) - Math.floor(rnd() * 3_600_000) : r < 0.6 ? (due ?? created) + Math.floor(rnd() * 3_600_000) : null;
      // small ranges: many ties; a tenth without minutes
      const minutes = met === null || rnd() < 0.1 ? null : Math.floor(rnd() * minutesSpread);
      return { due: due === null ? null : new Date(due), met: met === null ? null : new Date(met), minutes };
    };
    const fr = target(90);
    const res = target(3000);
    return {
      ticket_id: id, policy_name: pick(['Gold', 'Silver', 'Bronze', 'Solo']), reason: 'test',
      targets: JSON.stringify({ first_response_minutes: 60, next_response_minutes: null, resolution_minutes: 480 }),
      priority: pick(['High', 'Low', null]), category: pick(['Hardware', 'Network', null]), assignee_id: pick([null, ...staff.map((s) => s.id)]),
      first_response_due_at: fr.due, first_response_met_at: fr.met, first_response_business_minutes: fr.minutes,
      resolution_due_at: res.due, resolution_met_at: res.met, resolution_business_minutes: res.minutes,
      created_at: new Date(created),
    };
  });
  // one group of a single row (percentiles of one value)
  rows[0]!.policy_name = 'Lonely';
  await ta.db.batchInsert('ticket_sla', rows, 500);

  const compare = async (label: string) => {
    for (const group_by of ['policy', 'priority', 'category', 'assignee']) {
      for (const since of ['30d', '7d', '1d']) {
        const r = await ta.api.get('/api/reports/sla/', { token: coord.token, query: { since, group_by } });
        t.equal(r.status, 200);
        const expected = await fromScratch(ta.db, new Date(r.body.since), new Date(r.body.until), group_by);
        t.same(r.body.groups, expected, `${label}: group_by=${group_by}, since=${since}`);
      }
    }
  };
  await compare('randomized');
  t.ok((await fromScratch(ta.db, new Date(now - 30 * 86_400_000), new Date(now), 'policy')).some((g) => g.key === 'Lonely' || g.tickets > 100), 'the data has large groups');

  // concurrent writers move rows between groups, meet targets and change minutes while reports run
  const writers = Array.from({ length: 6 }, (_, w) =>
    (async () => {
      for (let i = 0; i < 25; i++) {
        const id = ids[(w * 97 + i * 31) % ids.length]!;
        await ta.db.transaction(async (trx) => {
          await trx('ticket_sla').where({ ticket_id: id }).update({
            policy_name: ['Gold', 'Silver'][i % 2], first_response_met_at: trx.fn.now(), first_response_business_minutes: (i * 7) % 50,
            resolution_due_at: trx.raw(`now() - interval '1 minute'`), resolution_met_at: null, resolution_business_minutes: null,
          });
        });
      }
    })(),
  );
  const readers = Array.from({ length: 10 }, () => ta.api.get('/api/reports/sla/', { token: coord.token, query: { since: '30d' } }).then((r) => t.equal(r.status, 200)));
  await Promise.all([...writers, ...readers]);
  await compare('after concurrent updates');
});
