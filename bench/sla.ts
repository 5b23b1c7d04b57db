/**
 * Service levels at volume (100k open tickets with an SLA clock, or BENCH_SLA_TICKETS):
 * - `sla-at-risk`: p99 of `GET /api/tickets/?sla_state=at_risk` (target < 200 ms) and EXPLAIN of the
 *   exact SQL: the by-due-time range scan of ticket_sla_breach_at_idx, tickets by primary key.
 * - `sla-report`: p99 of `GET /api/reports/sla/?since=30d` over all of them (target < 200 ms), EXPLAINed,
 *   as loaded and after VACUUM (what autovacuum leaves: the covering index answers alone).
 * ticket_sla is never ANALYZEd here: the plans must not depend on statistics. Each plan is printed as
 * a one-line summary with its in-database time (EXPLAIN ANALYZE) and /proc/loadavg; BENCH_PLANS=1
 * prints the plans in full.
 */
import { load, round, type BenchEnv, type Benchmark, type BenchResult } from './lib.js';
import { benchEmployee } from './ticket-fixtures.js';
import { explainEndpoint, loadavg, type ExplainedQuery } from './plans.js';

const TOTAL = Number(process.env.BENCH_SLA_TICKETS ?? 100_000);
/** half the clocks run on a business calendar (its arithmetic is part of presenting each row) */
const MANILA = { time_zone: 'Asia/Manila', hours: Object.fromEntries(['monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((d) => [d, [{ from: '08:00', to: '12:00' }, { from: '13:00', to: '17:00' }]])), holidays: [{ date: '2026-12-25', recurring: true }] };
let prepared: Promise<{ token: string }> | undefined;

/**
 * 100k Open tickets created over the last 30 days, each with a clock (half 24/7, half on Manila office
 * hours): first response 60 min,
 * resolution 480 min; due times spread from two days ago to two days ahead (so ~2% are at risk
 * right now and half are breached); two thirds already had their first response.
 */
function prepare(env: BenchEnv): Promise<{ token: string }> {
  prepared ??= (async () => {
    const owner = await benchEmployee(env);
    const staff = await benchEmployee(env, 'System Admin');
    const db = env.app.db;
    const [policy] = await db('sla_policies').insert({ name: `bench ${Date.now()}`, position: 1, first_response_minutes: 60, resolution_minutes: 480 }).returning('id');
    await db.raw(
      `WITH t AS (
         INSERT INTO tickets (employee_id, subject, category, sub_category, description, status, priority, department, submit_date)
         SELECT ?, 'SLA bench ' || g, (ARRAY['Hardware','Network','Access'])[1 + g % 3], 'Other', 'Generated', 'Open',
                (ARRAY['Low','Medium','High','Critical'])[1 + g % 4], 'IT Department', now() - make_interval(secs => (g * 25) % 2592000)
         FROM generate_series(1, ?) g
         RETURNING id, submit_date, priority, category
       )
       INSERT INTO ticket_sla (ticket_id, policy_id, policy_name, reason, targets, calendar, first_response_start, first_response_met_at, first_response_due_at,
                               first_response_business_minutes, resolution_start, resolution_due_at, breach_at, warn_at, created_at, priority, category)
       SELECT id, ?, 'Bench', 'bench', '{"first_response_minutes":60,"next_response_minutes":null,"resolution_minutes":480}',
              CASE WHEN id % 2 = 0 THEN ?::jsonb ELSE 'null'::jsonb END,
              submit_date, CASE WHEN id % 3 > 0 THEN submit_date + make_interval(mins => (id % 90)::int) END, submit_date + interval '60 minutes',
              CASE WHEN id % 3 > 0 THEN (id % 90)::int END, submit_date,
              now() - interval '2 days' + make_interval(secs => (id * 7919) % 345600),
              now() - interval '2 days' + make_interval(secs => (id * 7919) % 345600),
              now() - interval '2 days' + make_interval(secs => (id * 7919) % 345600) - interval '96 minutes',
              submit_date, priority, category
       FROM t`,
      [owner.id, TOTAL, policy.id, JSON.stringify(MANILA)],
    );
    return { token: staff.token };
  })();
  return prepared;
}

const latency = (url: string, token: string) => load({ url, headers: { Authorization: `Bearer ${token}` }, connections: 1 });

/** EXPLAIN ANALYZE of the endpoint's query, printed (a summary line; BENCH_PLANS=1: the whole plan). */
async function explained(env: BenchEnv, label: string, url: string, token: string, pick: RegExp): Promise<ExplainedQuery> {
  const [q] = await explainEndpoint(env, url, token, pick);
  if (!q) throw new Error(`${url}: the query was not captured`);
  process.stderr.write(`\n${label}: ${q.summary}; ${round(q.dbMs, 2)} ms in the database (load ${await loadavg()})\n${process.env.BENCH_PLANS ? `${q.text}\n` : ''}`);
  return q;
}

export const slaAtRisk: Benchmark = {
  name: 'sla-at-risk',
  async run(env): Promise<BenchResult> {
    const { token } = await prepare(env);
    const url = `${env.server.url}/api/tickets/?sla_state=at_risk&limit=20`;
    const plan = await explained(env, 'at_risk list', url, token, /warn_at/);
    const indexed = /ticket_sla_breach_at_idx/.test(plan.summary) && !/Seq Scan on ticket_sla/.test(plan.summary) && !/Seq Scan on tickets/.test(plan.summary);
    const l = await latency(url, token);
    const load1 = await loadavg();
    return { name: 'sla-at-risk', metric: `p99 ms (${TOTAL} open tickets)`, ours: round(l.p99, 1), baseline: 200, ratio: round(l.p99 / 200, 3), target: 'index used, p99 < 200 ms', pass: indexed && l.p99 < 200, note: `${indexed ? 'ticket_sla_breach_at_idx range scan' : 'NOT index-backed'}; mean ${round(1000 / l.rps, 1)} ms; in DB ${round(plan.dbMs, 2)} ms; load ${load1}` };
  },
};

export const slaReport: Benchmark = {
  name: 'sla-report',
  async run(env): Promise<BenchResult> {
    const { token } = await prepare(env);
    const url = `${env.server.url}/api/reports/sla/?since=30d`;
    // as loaded (never analysed, never vacuumed), then as autovacuum leaves it (index-only scans possible)
    const rows: string[] = [];
    let worst = 0;
    let indexed = true;
    for (const phase of ['unvacuumed', 'vacuumed'] as const) {
      if (phase === 'vacuumed') await env.app.db.raw('VACUUM ticket_sla');
      const plan = await explained(env, `SLA report (${phase})`, url, token, /FROM ticket_sla s/);
      indexed &&= /ticket_sla_report_idx/.test(plan.summary) && !/Seq Scan on ticket_sla/.test(plan.summary);
      const l = await latency(url, token);
      worst = Math.max(worst, l.p99);
      rows.push(`${phase}: p99 ${round(l.p99, 1)} ms, mean ${round(1000 / l.rps, 1)} ms, in DB ${round(plan.dbMs, 1)} ms, load ${await loadavg()}`);
    }
    process.stderr.write(`\nSLA report: ${rows.join('; ')}\n`);
    return { name: 'sla-report', metric: `worst p99 ms (${TOTAL} tickets in 30 days)`, ours: round(worst, 1), baseline: 200, ratio: round(worst / 200, 3), target: 'p99 < 200 ms, index-backed', pass: worst < 200 && indexed, note: rows.join('; ') };
  },
};
