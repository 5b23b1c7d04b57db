/**
 * `npm run bench reports`: every analytics report through the API on a large helpdesk —
 * BENCH_REPORT_TICKETS tickets (default 1,000,000) over the last 365 days, ~2 status changes each,
 * 20 assignees, and BENCH_REPORT_CONVERSATIONS chat conversations (default 100,000, two messages
 * each) over the same year. Target: p99 ≤ 200 ms per report for the default period (30 days), plans index-backed.
 *
 * Measured three times: on tables never analysed (autovacuum off for them, so no statistics appear
 * mid-run), after ANALYZE, and after VACUUM (what autovacuum leaves: index-only scans possible). Every
 * query of each report is EXPLAIN ANALYZEd and printed as a one-line summary with its in-database time
 * and /proc/loadavg (BENCH_PLANS=1 prints the plans in full); one of them must name the report's index,
 * and backlog's and workload's open-now count must read the count rollup (ticket_counts, folded once
 * after the load as the every-minute job would).
 */
import { load, round, type BenchEnv, type Benchmark, type BenchResult } from './lib.js';
import { benchEmployee } from './ticket-fixtures.js';
import { explainEndpoint, loadavg } from './plans.js';
import { foldTicketCounts } from '../src/features/reports/ticket-counts.js';

const TICKETS = Number(process.env.BENCH_REPORT_TICKETS ?? 1_000_000);
const CONVERSATIONS = Number(process.env.BENCH_REPORT_CONVERSATIONS ?? 100_000);
const TARGET_MS = 200;
const CHUNK = 100_000;

async function prepare(env: BenchEnv): Promise<{ token: string }> {
  const db = env.app.db;
  const owner = await benchEmployee(env);
  const admin = await benchEmployee(env, 'System Admin');
  const staff = (await db.raw(
    `INSERT INTO employees (first_name, last_name, email, department, role, status)
     SELECT 'Agent', 'No' || g, 'agent' || g || '-' || extract(epoch from now())::bigint || '@example.com', 'IT Department', 'Ticket Coordinator', 'Approved'
       FROM generate_series(1, 20) g RETURNING id`,
  )).rows.map((r: { id: string }) => Number(r.id));
  for (const t of TABLES) await db.raw(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
  const started = Date.now();
  for (let from = 1; from <= TICKETS; from += CHUNK) {
    const to = Math.min(TICKETS, from + CHUNK - 1);
    // g/N of the year back from now; 5% open, 1% rejected, the rest resolved or closed
    await db.raw(
      `INSERT INTO tickets (employee_id, subject, category, sub_category, description, priority, department, status, assigned_to,
                            submit_date, approved_at, response_time, resolved_at, resolution_time)
       SELECT ?, 'Issue ' || g, (ARRAY['Hardware','Software','Network','Email','Access','Printing'])[1 + g % 6], 'Other', 'Generated',
              (ARRAY['Critical','High','Medium','Low'])[1 + g % 4], (ARRAY['IT Department','Asset Department','Budget Department'])[1 + g % 3],
              st, CASE WHEN st = 'New' THEN NULL ELSE (?::bigint[])[1 + g % 20] END,
              sub, CASE WHEN st IN ('New', 'Rejected') THEN NULL ELSE sub + rt * interval '1 second' END, CASE WHEN st IN ('New', 'Rejected') THEN NULL ELSE rt END,
              CASE WHEN st IN ('Resolved', 'Closed') THEN sub + res * interval '1 second' END, CASE WHEN st IN ('Resolved', 'Closed') THEN res END
         FROM (SELECT g,
                      now() - (g::float8 / ?) * interval '365 days' AS sub,
                      CASE WHEN g % 20 = 0 THEN (ARRAY['New','Open','In Progress','On Hold','Pending'])[1 + (g / 20) % 5]
                           WHEN g % 100 = 1 THEN 'Rejected' ELSE (ARRAY['Resolved','Closed'])[1 + g % 2] END AS st,
                      60 + (g::bigint * 7919) % 14400 AS rt,
                      1800 + (g::bigint * 104729) % 604800 AS res
                 FROM generate_series(?::int, ?::int) g) s`,
      [owner.id, staff, TICKETS, from, to],
    );
    process.stderr.write(`  reports: ${to} tickets (${Math.round((Date.now() - started) / 1000)} s)\n`);
  }
  await db.raw(
    `INSERT INTO ticket_history (ticket_id, event, field, from_value, to_value, created_at)
     SELECT id, 'status_changed', 'status', 'New', 'Open', approved_at FROM tickets WHERE approved_at IS NOT NULL
     UNION ALL
     SELECT id, 'status_changed', 'status', 'In Progress', 'Resolved', resolved_at FROM tickets WHERE resolved_at IS NOT NULL
     UNION ALL
     SELECT id, 'status_changed', 'status', 'Resolved', 'In Progress', resolved_at + interval '1 hour' FROM tickets WHERE resolved_at IS NOT NULL AND id % 50 = 0`,
  );
  process.stderr.write(`  reports: history written (${Math.round((Date.now() - started) / 1000)} s)\n`);
  const questions = ['How do I reset my VPN password?', 'reset vpn password', 'Where is the printer on floor 3?', 'How to request a new laptop', 'Who approves software licences?', 'wifi password for guests'];
  await db.raw(
    `WITH c AS (
       INSERT INTO chat_conversations (employee_id, created_at, escalated_at)
       SELECT ?, now() - (g::float8 / ?) * interval '365 days', CASE WHEN g % 10 = 0 THEN now() - (g::float8 / ?) * interval '365 days' END
         FROM generate_series(1, ?) g RETURNING id, created_at)
     INSERT INTO chat_messages (conversation_id, role, content, provider, sources, created_at)
     SELECT c.id, r.role, CASE WHEN r.role = 'user' THEN (?::text[])[1 + c.id % 6] || ' ' || (c.id % 7) ELSE 'answer' END,
            CASE WHEN r.role = 'assistant' THEN 'faq' END, CASE WHEN r.role = 'assistant' AND c.id % 3 > 0 THEN '{1}'::bigint[] ELSE '{}' END, c.created_at
       FROM c CROSS JOIN (VALUES ('user'), ('assistant')) r(role)`,
    [owner.id, CONVERSATIONS, CONVERSATIONS, CONVERSATIONS, questions],
  );
  // what the fold job (every minute) does after the load; readers would be exact without it too
  const folded = await foldTicketCounts(db);
  const keys = (await db.raw(`SELECT count(*)::int AS n FROM ticket_counts`)).rows[0].n as number;
  process.stderr.write(`  reports: ${folded.deltas} count deltas folded into ${keys} keys\n`);
  process.stderr.write(`  reports: data ready (${Math.round((Date.now() - started) / 1000)} s)\n`);
  return { token: admin.token };
}

/** the big tables (autovacuum off until the vacuumed phase) and the count rollup, analysed and vacuumed with them */
const TABLES = ['tickets', 'ticket_history', 'chat_messages', 'chat_conversations', 'ticket_counts', 'ticket_count_deltas'];

/** `rollup`: the open-now count must come from the count rollup (a plan reading ticket_counts), not from tickets */
const REPORTS: { name: string; path: string; index: RegExp; rollup?: boolean }[] = [
  { name: 'volume by category, 30 days', path: '/api/reports/tickets/volume/?by=category', index: /tickets_(report_)?submit(_date)?_idx/ },
  { name: 'backlog, 30 days', path: '/api/reports/tickets/backlog/', index: /ticket_history_backlog_idx/, rollup: true },
  { name: 'times by department, 30 days', path: '/api/reports/tickets/times/?by=department', index: /tickets_(approved|resolved)_at_idx/ },
  { name: 'workload, 30 days', path: '/api/reports/tickets/workload/', index: /tickets_resolved_at_idx/, rollup: true },
  { name: 'chat, 30 days', path: '/api/reports/chat/', index: /chat_(messages|conversations)_created_at_idx/ },
  { name: 'volume weekly, 12 weeks', path: '/api/reports/tickets/volume/?interval=week&since=84d', index: /tickets_(report_)?submit(_date)?_idx/ },
];

export const reports: Benchmark = {
  name: 'reports',
  async run(env): Promise<BenchResult> {
    const { token } = await prepare(env);
    const since84 = new Date(Date.now() - 83 * 86_400_000).toISOString().slice(0, 10);
    const rows: string[] = [];
    let worst = 0;
    let allIndexed = true;
    for (const phase of ['unanalysed', 'analysed', 'vacuumed'] as const) {
      if (phase === 'analysed') await env.app.db.raw(`ANALYZE ${TABLES.join(', ')}`);
      // what autovacuum leaves behind: the visibility map set, so the covering indexes answer alone
      if (phase === 'vacuumed') await env.app.db.raw(`VACUUM (ANALYZE) ${TABLES.join(', ')}`);
      for (const r of REPORTS) {
        const url = `${env.server.url}${r.path.replace('since=84d', `since=${since84}`)}`;
        // every query the report sends, EXPLAIN ANALYZEd: a one-line summary each and the in-database time
        const qs = await explainEndpoint(env, url, token, /FROM (tickets|ticket_history|chat_messages|chat_conversations|ticket_counts)\b/i);
        const p = qs.map((q) => q.summary);
        const indexed = p.some((x) => r.index.test(x)) && !p.some((x) => /Seq Scan on (tickets|ticket_history|chat_messages)\b/.test(x)) && (!r.rollup || p.some((x) => / on ticket_counts\b/.test(x)));
        allIndexed &&= indexed;
        // the queries run concurrently (Promise.all) where the report allows: the slowest bounds the database's part
        const dbMs = Math.max(...qs.map((q) => q.dbMs));
        process.stderr.write(`\n--- ${phase}: ${r.name} (load ${await loadavg()})\n${qs.map((q) => `  ${round(q.dbMs, 1)} ms in DB: ${q.summary}`).join('\n')}\n`);
        if (process.env.BENCH_PLANS) process.stderr.write(`${qs.map((q) => q.text).join('\n\n')}\n`);
        const l = await load({ url, headers: { Authorization: `Bearer ${token}` }, connections: 1 });
        worst = Math.max(worst, l.p99);
        rows.push(`${phase} ${r.name}: p99 ${round(l.p99, 1)} ms, mean ${round(1000 / l.rps, 1)} ms, slowest query ${round(dbMs, 1)} ms in DB, ${indexed ? 'index-backed' : 'NOT index-backed'}, load ${await loadavg()}`);
      }
    }
    process.stderr.write(`\n${rows.join('\n')}\n`);
    return {
      name: 'reports',
      metric: `worst p99 ms (${TICKETS} tickets)`,
      ours: round(worst, 1),
      baseline: TARGET_MS,
      ratio: round(worst / TARGET_MS, 3),
      target: `p99 ≤ ${TARGET_MS} ms, index-backed`,
      pass: worst <= TARGET_MS && allIndexed,
      note: allIndexed ? 'all plans index-backed' : 'a plan is not index-backed (BENCH_PLANS=1)',
    };
  },
};
