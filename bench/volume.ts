/**
 * `npm run bench volume`: the 1M-ticket scenario of issue 17.
 *
 * Seeds (set-based SQL, generate_series; secondary indexes dropped during the load and rebuilt
 * after, as a bulk load would): BENCH_VOLUME_TICKETS tickets (default 1,000,000) from
 * BENCH_VOLUME_EMPLOYEES employees (default 50,000; the first 500 are staff who get assignments),
 * BENCH_VOLUME_CHILD_ROWS comment + history rows (default 5,000,000, half each), an SLA clock on
 * every unfinished ticket; then VACUUM ANALYZE. With BENCH_KEEP=1 and BENCH_DATABASE_URL the
 * database is kept (ss_bench_keep) and a later run with the same sizes reuses the seed.
 *
 * Then, through the API, one client back to back for BENCH_VOLUME_SECONDS (default 3) each: the
 * p99 of the ticket list with each filter, search, an employee's own list, a staff member's
 * assigned list, deep keyset pages, the ticket report. Each query's SQL (captured from knex) is
 * EXPLAINed (ANALYZE, FORMAT JSON); a Seq Scan on a big table fails its row. The plans go to
 * bench/results/volume-plans.json. Target: p99 ≤ 50 ms, index-backed.
 *
 * Last, `smartsupport tickets list --all --json` (dist/ build) exports every ticket through a
 * pipe; its RSS is sampled at 10% and 100% of the tickets read (BENCH_VOLUME_EXPORT=0 skips it).
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeCursor } from '../src/http/pagination.js';
import { createSession } from '../src/features/auth/auth-store.js';
import { signAccessToken } from '../src/lib/jwt.js';
import { refreshTicketTimesIfLarge } from '../src/features/reports/ticket-times.js';
import { load, round, type BenchEnv, type Benchmark, type BenchResult } from './lib.js';
import { startMinimalApp } from './minimal-app.js';
import { loadavg } from './minimal.js';
import { benchEmployee } from './ticket-fixtures.js';

const TICKETS = Number(process.env.BENCH_VOLUME_TICKETS ?? 1_000_000);
const EMPLOYEES = Number(process.env.BENCH_VOLUME_EMPLOYEES ?? 50_000);
const CHILD_ROWS = Number(process.env.BENCH_VOLUME_CHILD_ROWS ?? 5_000_000);
const SECONDS = Number(process.env.BENCH_VOLUME_SECONDS ?? 3);
const STAFF = 500;
const TARGET_MS = 50;
const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
/** tables big enough that a sequential scan of them is a finding */
const BIG = new Set(['tickets', 'ticket_comments', 'ticket_history', 'ticket_sla', 'employees']);

const log = (s: string) => process.stderr.write(`  volume: ${s}\n`);

interface Seeded { e0: number; t0: number }

async function seed(env: BenchEnv): Promise<Seeded> {
  const db = env.app.db;
  await db.raw(`CREATE TABLE IF NOT EXISTS bench_volume_meta (tickets bigint, employees bigint, child_rows bigint, e0 bigint, t0 bigint, seeded_at timestamptz DEFAULT now())`);
  const meta = (await db.raw(`SELECT * FROM bench_volume_meta`)).rows[0] as { tickets: string; employees: string; child_rows: string; e0: string; t0: string } | undefined;
  if (meta && Number(meta.tickets) === TICKETS && Number(meta.employees) === EMPLOYEES && Number(meta.child_rows) === CHILD_ROWS) {
    log(`reusing the seed (${TICKETS} tickets, kept database)`);
    return { e0: Number(meta.e0), t0: Number(meta.t0) };
  }
  if (meta) throw new Error('the kept database holds a seed of other sizes: drop database ss_bench_keep first');
  const started = Date.now();
  const step = async (what: string, sql: string, bindings: unknown[] = []) => {
    const t = Date.now();
    await db.raw(sql, bindings as never);
    log(`${what} (${round((Date.now() - t) / 1000)} s)`);
  };
  const tables = ['tickets', 'ticket_comments', 'ticket_history', 'ticket_sla'];
  // secondary indexes that are not constraints: dropped for the load, rebuilt after (as pg_restore
  // does); their definitions are kept in a table first, so a seed cut short can be run again
  await db.raw(`CREATE TABLE IF NOT EXISTS bench_volume_indexes (indexname text PRIMARY KEY, indexdef text NOT NULL, reloptions text[])`);
  await db.raw(
    `INSERT INTO bench_volume_indexes
     SELECT i.indexname, i.indexdef, c.reloptions FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname
     WHERE i.schemaname = 'public' AND i.tablename = ANY(?) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)
     ON CONFLICT DO NOTHING`,
    [tables],
  );
  const indexes = (await db.raw(`SELECT * FROM bench_volume_indexes ORDER BY indexname`)).rows as { indexname: string; indexdef: string; reloptions: string[] | null }[];
  await db.raw(`SET maintenance_work_mem = '256MB'`).catch(() => undefined);
  // a seed cut short earlier (no meta row): start over
  await db.raw(`DELETE FROM employees WHERE email LIKE '%@volume.example.com'`);
  const e0 = Number(
    (
      await db.raw(
        `WITH ins AS (
           INSERT INTO employees (first_name, last_name, email, department, role, status)
           SELECT 'Vol', 'Person ' || g, 'vol-' || g || '@volume.example.com', (ARRAY['IT Department','Asset Department','Budget Department'])[1 + g % 3],
                  CASE WHEN g <= ? THEN 'Ticket Coordinator' ELSE 'Employee' END, 'Approved'
           FROM generate_series(1, ?) g RETURNING id)
         SELECT min(id) AS e0, max(id) - min(id) + 1 AS n FROM ins`,
        [STAFF, EMPLOYEES],
      )
    ).rows[0].e0,
  );
  log(`${EMPLOYEES} employees`);
  for (const i of indexes) await db.raw(`DROP INDEX IF EXISTS ${i.indexname}`);
  // employee_id/assigned_to reference existing employees; FK and event triggers are not needed for a bulk load
  await db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL session_replication_role = replica`);
    const t = Date.now();
    await trx.raw(
      `INSERT INTO tickets (employee_id, subject, category, sub_category, description, priority, department, status, assigned_to,
                            submit_date, update_date, approved_at, response_time, resolved_at, resolution_time, time_closed)
       SELECT ?::bigint + ${STAFF} + (g::bigint * 7919) % (? - ${STAFF}),
              (ARRAY['Laptop','Printer','VPN','Email','Monitor','Badge','Phone','Wifi'])[1 + g % 8] || ' ' ||
              (ARRAY['broken','slow','not working','needs setup','error','missing','locked'])[1 + g % 7] || ' ' || g
                || CASE WHEN g % 200 = 0 THEN ' quasar' ELSE '' END,
              (ARRAY['Hardware','Software','Network','Access','Email','Printer','Account','Other'])[1 + (g / 3) % 8], 'Other',
              'Reported on floor ' || (g % 40) || ': ' || (ARRAY['screen flickers','cannot sign in','paper jam','no connection','battery drains','fan noise'])[1 + g % 6],
              (ARRAY['Low','Medium','High','Critical'])[1 + (g / 7) % 4],
              (ARRAY['IT Department','Asset Department','Budget Department'])[1 + (g / 5) % 3],
              s.status,
              CASE WHEN s.status NOT IN ('New','Rejected','Withdrawn') THEN ?::bigint + (g * 31 + g / 20) % ${STAFF} END,
              s.at, s.at + interval '1 hour',
              CASE WHEN s.status NOT IN ('New','Rejected','Withdrawn') THEN s.at + make_interval(mins => g % 240) END,
              CASE WHEN s.status NOT IN ('New','Rejected','Withdrawn') THEN (g % 240) * 60 END,
              CASE WHEN s.status IN ('Resolved','Closed') THEN s.at + make_interval(mins => 240 + g % 5000) END,
              CASE WHEN s.status IN ('Resolved','Closed') THEN (240 + g % 5000) * 60 END,
              CASE WHEN s.status = 'Closed' THEN s.at + make_interval(mins => 6000) END
       FROM generate_series(1, ?) g,
            LATERAL (SELECT (ARRAY['New','New','Open','Open','In Progress','In Progress','On Hold','Pending','Resolved','Resolved',
                                   'Closed','Closed','Closed','Closed','Closed','Closed','Closed','Closed','Rejected','Withdrawn'])[1 + (g * 13) % 20] AS status,
                            now() - make_interval(mins => ? - g) AS at) s`,
      [e0, EMPLOYEES, e0, TICKETS, TICKETS],
    );
    log(`${TICKETS} tickets (${round((Date.now() - t) / 1000)} s)`);
  });
  // the load bypassed the triggers that keep the ticket count rollup (the ticket report reads it): recount
  await step('ticket counts rebuilt', `SELECT smartsupport_ticket_counts_rebuild()`);
  // one INSERT: consecutive ids ending at max(id)
  const t0 = Number((await db.raw(`SELECT max(id) - ? + 1 AS t0 FROM tickets`, [TICKETS])).rows[0].t0);
  const half = Math.floor(CHILD_ROWS / 2);
  await db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL session_replication_role = replica`);
    await trx.raw(
      `INSERT INTO ticket_comments (ticket_id, user_id, comment, is_internal, created_at)
       SELECT ?::bigint + g % ?, ?::bigint + (g * 17) % ?, 'Comment ' || g || ' on the ticket', g % 5 = 0, now() - make_interval(mins => (? - g) / 3)
       FROM generate_series(1, ?) g`,
      [t0, TICKETS, e0, EMPLOYEES, half, half],
    );
    log(`${half} comments`);
    await trx.raw(
      `INSERT INTO ticket_history (ticket_id, actor_id, actor_kind, event, field, from_value, to_value, created_at)
       SELECT ?::bigint + g % ?, ?::bigint + (g * 17) % ${STAFF}, 'user', CASE WHEN g % 2 = 0 THEN 'created' ELSE 'status_changed' END, 'status',
              CASE WHEN g % 2 = 1 THEN 'New' END, CASE WHEN g % 2 = 0 THEN 'New' ELSE 'Open' END, now() - make_interval(mins => (? - g) / 3)
       FROM generate_series(1, ?) g`,
      [t0, TICKETS, e0, CHILD_ROWS - half, CHILD_ROWS - half],
    );
    log(`${CHILD_ROWS - half} history rows`);
    // an SLA clock on every unfinished ticket: due times from two days ago to two days ahead
    await trx.raw(
      `INSERT INTO ticket_sla (ticket_id, policy_name, reason, targets, first_response_start, first_response_due_at, resolution_start, resolution_due_at, breach_at, warn_at, created_at, priority, category, assignee_id)
       SELECT id, 'Bench', 'bench', '{"first_response_minutes":60,"next_response_minutes":null,"resolution_minutes":480}', submit_date, submit_date + interval '60 minutes', submit_date,
              now() - interval '2 days' + make_interval(secs => (id * 7919) % 345600),
              now() - interval '2 days' + make_interval(secs => (id * 7919) % 345600),
              now() - interval '2 days' + make_interval(secs => (id * 7919) % 345600) - interval '96 minutes',
              submit_date, priority, category, assigned_to
       FROM tickets WHERE status IN ('New','Open','In Progress','On Hold','Pending')`,
    );
    log('SLA clocks');
  });
  for (const i of indexes) {
    await step(`index ${i.indexname}`, i.indexdef.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
    if (i.reloptions?.length) await db.raw(`ALTER INDEX ${i.indexname} SET (${i.reloptions.join(', ')})`);
  }
  await step('VACUUM ANALYZE', 'VACUUM ANALYZE tickets, ticket_comments, ticket_history, ticket_sla, employees');
  await db.raw(`INSERT INTO bench_volume_meta (tickets, employees, child_rows, e0, t0) VALUES (?, ?, ?, ?, ?)`, [TICKETS, EMPLOYEES, CHILD_ROWS, e0, t0]);
  log(`seeded in ${round((Date.now() - started) / 1000)} s`);
  return { e0, t0 };
}

/** A signed-in session's token, valid `hours` (the export of 1M tickets outlives a 15-minute token). */
async function tokenOf(env: BenchEnv, id: number, role: string, hours = 1): Promise<string> {
  const { sessionId } = await createSession(env.app.db, id, hours * 3600);
  return signAccessToken({ ...env.app.jwt, accessTtlSeconds: hours * 3600 }, { sub: String(id), role, sid: sessionId });
}

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Actual Rows'?: number; 'Actual Loops'?: number; Plans?: PlanNode[] }
const walk = (n: PlanNode, out: PlanNode[] = []): PlanNode[] => (out.push(n), (n.Plans ?? []).forEach((c) => walk(c, out)), out);

/** Run the request once, capture every SQL statement it sent, EXPLAIN (ANALYZE, FORMAT JSON) each. */
async function explainRequest(env: BenchEnv, url: string, token: string): Promise<{ sql: string; plan: unknown; seqScans: string[]; scans: string[]; ms: number }[]> {
  const captured: { sql: string; bindings: unknown[] }[] = [];
  const on = (q: { sql: string; bindings?: unknown[] }) => {
    if (/^\s*(with|select)/i.test(q.sql) && !/auth_sessions|pg_advisory|rate_limits/i.test(q.sql)) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  env.app.db.on('query', on);
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  env.app.db.off('query', on);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  await res.arrayBuffer();
  const client = (env.app.db as unknown as { client: { acquireConnection(): Promise<{ query(s: string, v: unknown[]): Promise<{ rows: { 'QUERY PLAN': unknown }[] }> }>; releaseConnection(c: unknown): Promise<void> } }).client;
  const out = [];
  for (const q of captured) {
    const conn = await client.acquireConnection();
    try {
      const r = (await conn.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${q.sql}`, q.bindings)).rows[0]!['QUERY PLAN'] as { Plan: PlanNode; 'Execution Time': number }[];
      const nodes = walk(r[0]!.Plan);
      out.push({
        sql: q.sql,
        plan: r[0],
        ms: round(r[0]!['Execution Time'], 2),
        seqScans: nodes.filter((n) => n['Node Type'] === 'Seq Scan' && BIG.has(n['Relation Name'] ?? '')).map((n) => n['Relation Name']!),
        scans: nodes.filter((n) => n['Relation Name']).map((n) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''} on ${n['Relation Name']} (${(n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1)} rows)`),
      });
    } finally {
      await client.releaseConnection(conn);
    }
  }
  return out;
}

/**
 * RSS of the CLI export at 10% and 100% of the tickets read from its stdout (a pipe), and sampled
 * every 200 ms: the peak of each tenth of the export. Flat = the last tenth's peak within 1.25× the
 * second tenth's (the first includes start-up).
 */
async function exportRss(env: BenchEnv, token: string, total: number): Promise<BenchResult> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/smartsupport'), 'tickets', 'list', '--all', '--json'], {
    env: { ...process.env, SMARTSUPPORT_URL: env.server.url, SMARTSUPPORT_TOKEN: token, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rss = async () => {
    const s = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    return Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? NaN) / 1024;
  };
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let seen = 0;
  let tail = '';
  let at10: number | undefined;
  let at100: number | undefined;
  let bytes = 0;
  const peaks: number[] = Array.from({ length: 10 }, () => 0);
  const t = Date.now();
  const marks: Promise<void>[] = [];
  const sampler = setInterval(() => {
    const decile = Math.min(9, Math.floor((10 * seen) / total));
    void rss().then((v) => {
      if (v > peaks[decile]!) peaks[decile] = v;
    });
  }, 200);
  child.stdout.on('data', (d: Buffer) => {
    bytes += d.length;
    const text = tail + d.toString('utf8');
    seen += text.split('"ticket_number":').length - 1;
    tail = text.slice(-20).includes('"ticket_number":') ? '' : text.slice(-20);
    if (at10 === undefined && seen >= total / 10) {
      at10 = NaN;
      marks.push(rss().then((v) => void (at10 = v)));
    }
    if (at100 === undefined && seen >= total) {
      at100 = NaN;
      marks.push(rss().then((v) => void (at100 = v)));
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  await Promise.all(marks);
  const secs = (Date.now() - t) / 1000;
  if (code !== 0) throw new Error(`export exited ${code}: ${stderr.slice(-300)}`);
  const flat = peaks[9]! / peaks[1]!;
  return {
    name: 'volume-export',
    metric: 'RSS MB at 100% / at 10%',
    ours: round(at100 ?? NaN),
    baseline: round(at10 ?? NaN),
    ratio: round((at100 ?? NaN) / (at10 ?? NaN), 3),
    target: 'peak of last tenth ≤ 1.25 × second tenth',
    pass: seen >= total && flat <= 1.25,
    note: `tickets list --all --json | pipe: ${seen} tickets, ${round(bytes / 1024 / 1024)} MB in ${round(secs)} s; RSS peak per tenth ${peaks.map((p) => Math.round(p)).join('/')} MB; loadavg ${await loadavg()}`,
  };
}

export const volume: Benchmark = {
  name: 'volume',
  async run(env): Promise<BenchResult[]> {
    const { e0, t0 } = await seed(env);
    const total = Number((await env.app.db.raw(`SELECT count(*) AS n FROM tickets`)).rows[0].n);
    const admin = await benchEmployee(env, 'System Admin');
    // the staff member with the most unfinished assigned tickets (their my-tickets view is not empty)
    const staffId = Number(
      (await env.app.db.raw(`SELECT assigned_to FROM tickets WHERE assigned_to BETWEEN ? AND ? AND status IN ('Open','In Progress','On Hold','Pending') GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`, [e0, e0 + STAFF - 1])).rows[0]?.assigned_to ?? e0,
    );
    const staffToken = await tokenOf(env, staffId, 'Ticket Coordinator');
    const ownerId = e0 + STAFF + 1234;
    const ownerToken = await tokenOf(env, ownerId, 'Employee');
    const lastId = t0 + TICKETS - 1;
    const deep = encodeCursor([lastId - Math.floor(TICKETS / 2)]);
    const number = (await env.app.db.raw(`SELECT ticket_number FROM tickets WHERE id = ?`, [t0 + 12345])).rows[0].ticket_number as string;
    const since = new Date(Date.now() - 30 * 86400_000).toISOString();
    const cases: [string, string, string][] = [
      ['all (staff)', '/api/tickets/?limit=20', admin.token],
      ['status=Open', '/api/tickets/?limit=20&status=Open', admin.token],
      ['status=Closed', '/api/tickets/?limit=20&status=Closed', admin.token],
      ['status=On Hold&status=Pending', '/api/tickets/?limit=20&status=On%20Hold&status=Pending', admin.token],
      ['priority=Critical', '/api/tickets/?limit=20&priority=Critical', admin.token],
      ['category=Network', '/api/tickets/?limit=20&category=Network', admin.token],
      ['department=Asset Department', '/api/tickets/?limit=20&department=Asset%20Department', admin.token],
      ['assigned_to=<staff>', `/api/tickets/?limit=20&assigned_to=${staffId}`, admin.token],
      ['employee=<owner>', `/api/tickets/?limit=20&employee=${ownerId}`, admin.token],
      ['status+priority+category', '/api/tickets/?limit=20&status=Open&priority=Critical&category=Network', admin.token],
      ['submitted_after=30d', `/api/tickets/?limit=20&submitted_after=${encodeURIComponent(since)}`, admin.token],
      ['order=submit_date', '/api/tickets/?limit=20&order=submit_date', admin.token],
      ['sla_state=breached', '/api/tickets/?limit=20&sla_state=breached', admin.token],
      ['sla_state=at_risk', '/api/tickets/?limit=20&sla_state=at_risk', admin.token],
      ['q=quasar (0.5%)', '/api/tickets/?limit=20&q=quasar', admin.token],
      ['q=printer jam (common)', '/api/tickets/?limit=20&q=printer%20jam', admin.token],
      ['q=<ticket number>', `/api/tickets/?limit=20&q=${number}`, admin.token],
      ["employee's own list", '/api/tickets/?limit=20', ownerToken],
      ['my-tickets (staff)', '/api/tickets/my-tickets/?limit=20', staffToken],
      ['new (staff view)', '/api/tickets/new/?limit=20', admin.token],
      ['deep keyset page (depth 50%)', `/api/tickets/?limit=20&cursor=${deep}`, admin.token],
      ['deep keyset page status=Closed', `/api/tickets/?limit=20&status=Closed&cursor=${deep}`, admin.token],
      ['ticket report', '/api/reports/tickets/', admin.token],
    ];
    // the ticket report's percentiles come from a snapshot above TICKET_REPORT_LIVE_MAX tickets: refreshed
    // here as the every-five-minutes job would have after the load (src/features/reports/ticket-times.ts)
    const refreshStarted = Date.now();
    const refreshed = await refreshTicketTimesIfLarge(env.app.db, env.app.config.ticketReportLiveMax);
    process.stderr.write(`  volume: ticket report times ${refreshed ? `snapshot refreshed in ${Date.now() - refreshStarted} ms (the job's cost, off the request path)` : 'computed per request (at or below TICKET_REPORT_LIVE_MAX)'}\n`);
    const results: BenchResult[] = [];
    const plans: Record<string, unknown> = {};
    // the floor on this machine right now: the minimal Koa + pg app's 20-row list, one client
    {
      const m = await startMinimalApp(env.databaseUrl);
      try {
        const l = await load({ url: `${m.server.url}/api/tickets/`, connections: 1, duration: SECONDS });
        results.push({ name: 'volume floor (minimal app list)', metric: 'p99 ms', ours: round(l.p99, 1), baseline: TARGET_MS, ratio: round(l.p99 / TARGET_MS, 3), target: 'reference', pass: true, note: `what one client sees from a bare Koa + pg app here; loadavg ${await loadavg()}` });
      } finally {
        await m.close();
      }
    }
    for (const [name, url, token] of cases) {
      try {
        const explained = await explainRequest(env, `${env.server.url}${url}`, token);
        plans[name] = { url, queries: explained };
        const l = await load({ url: `${env.server.url}${url}`, headers: { Authorization: `Bearer ${token}` }, connections: 1, duration: SECONDS });
        const seq = explained.flatMap((e) => e.seqScans);
        const la = await loadavg();
        results.push({
          name: `volume ${name}`,
          metric: `p99 ms (${total} tickets)`,
          ours: round(l.p99, 1),
          baseline: TARGET_MS,
          ratio: round(l.p99 / TARGET_MS, 3),
          target: `≤ ${TARGET_MS} ms, no Seq Scan`,
          pass: l.rps > 0 && l.p99 <= TARGET_MS && seq.length === 0,
          note: `${l.rps === 0 ? `no request completed in ${SECONDS} s; ` : ''}${seq.length ? `SEQ SCAN on ${seq.join(', ')}; ` : ''}sql ${explained.map((e) => `${e.ms} ms`).join('+')}; ${[...new Set(explained.flatMap((e) => e.scans))].join('; ')}; loadavg ${la}`,
        });
      } catch (err) {
        results.push({ name: `volume ${name}`, metric: 'error', ours: NaN, baseline: NaN, ratio: NaN, target: '', pass: false, note: (err as Error).message });
      }
    }
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/volume-plans.json', JSON.stringify({ at: new Date().toISOString(), tickets: total, plans }, null, 2) + '\n');
    if (process.env.BENCH_VOLUME_EXPORT !== '0') {
      try {
        results.push(await exportRss(env, await tokenOf(env, admin.id, 'System Admin', 6), total));
      } catch (err) {
        results.push({ name: 'volume-export', metric: 'error', ours: NaN, baseline: NaN, ratio: NaN, target: '', pass: false, note: (err as Error).message });
      }
    }
    return results;
  },
};
