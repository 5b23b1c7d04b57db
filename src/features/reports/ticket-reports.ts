/**
 * Ticket analytics, computed in PostgreSQL over one period. Each query is a range scan of an index
 * on the period's timestamp (submit_date, approved_at, resolved_at, status changes), and the counts
 * of tickets open now come from the count rollup (ticket-counts.ts), so its cost follows the period's
 * size, not the table's (docs/reports.md lists the plans). Buckets are UTC days or ISO weeks.
 */
import type { Knex } from 'knex';

type Binding = Knex.Value;
import { bucketIndex, type Period } from './period.js';
import { TICKET_COUNTS_SQL } from './ticket-counts.js';

export const OPEN_STATUSES = ['New', 'Open', 'In Progress', 'On Hold', 'Pending'] as const;
export const FINAL_STATUSES = ['Resolved', 'Closed', 'Rejected', 'Withdrawn'] as const;
const OPEN_SQL = `('New', 'Open', 'In Progress', 'On Hold', 'Pending')`;
const FINAL_SQL = `('Resolved', 'Closed', 'Rejected', 'Withdrawn')`;
/** A status change into or out of the open set; the predicate of ticket_history_backlog_idx, repeated as is. */
const CROSSING_SQL = `((h.from_value IN ${OPEN_SQL} AND h.to_value IN ${FINAL_SQL}) OR (h.from_value IN ${FINAL_SQL} AND h.to_value IN ${OPEN_SQL}))`;

export const GROUP_BY = ['none', 'category', 'department', 'priority', 'status', 'assignee'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface TicketReportFilters {
  category?: string;
  department?: string;
  priority?: string;
  /** numeric employee id or company id (MA0003) */
  assigned_to?: string;
}

/** `AND …` conditions on the tickets alias `t`, with their bindings. */
function filterSql(f: TicketReportFilters): { sql: string; bindings: Binding[] } {
  const parts: string[] = [];
  const bindings: Binding[] = [];
  for (const k of ['category', 'department', 'priority'] as const) {
    if (f[k]) {
      parts.push(`t.${k} = ?`);
      bindings.push(f[k]);
    }
  }
  if (f.assigned_to) {
    if (/^\d{1,15}$/.test(f.assigned_to)) {
      parts.push('t.assigned_to = ?');
      bindings.push(Number(f.assigned_to));
    } else {
      parts.push('t.assigned_to = (SELECT id FROM employees WHERE company_id = upper(?))');
      bindings.push(f.assigned_to);
    }
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(''), bindings };
}

/** Whether `f` filters on ticket columns (history queries then join tickets; otherwise they need not). */
const filtered = (f: TicketReportFilters) => Boolean(f.category || f.department || f.priority || f.assigned_to);

/**
 * Run `fn` in a transaction whose sorts may use `mem` (SET LOCAL: this statement only, safe behind a
 * pooler). The percentile reports sort a period's values (~80,000 at 1M tickets a year); with the
 * default 4 MB they spill to disk (external merge) and take several times longer.
 */
export const SORT_MEMORY = '32MB';
async function withSortMemory<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL work_mem = '${SORT_MEMORY}'`);
    return fn(trx);
  });
}

/** The grouping expression on `t` (assignee: its id; names are looked up once afterwards). */
function keySql(by: GroupBy): string {
  switch (by) {
    case 'none':
      return `'all'`;
    case 'assignee':
      return `t.assigned_to::text`;
    default:
      return `t.${by}`;
  }
}

/** Assignee ids → "MA0003 Ana Cruz", one query. */
async function assigneeNames(db: Knex, ids: string[]): Promise<Map<string, string>> {
  const nums = ids.filter((i) => /^\d+$/.test(i)).map(Number);
  if (!nums.length) return new Map();
  const rows = (await db('employees').whereIn('id', nums).select('id', 'company_id', 'first_name', 'last_name')) as { id: string | number; company_id: string; first_name: string; last_name: string }[];
  return new Map(rows.map((r) => [String(r.id), `${r.company_id} ${r.first_name} ${r.last_name}`]));
}

async function labelKeys(db: Knex, by: GroupBy, keys: (string | null)[]): Promise<(k: string | null) => string> {
  const names = by === 'assignee' ? await assigneeNames(db, keys.filter((k): k is string => k !== null)) : new Map<string, string>();
  return (k) => (k === null ? (by === 'assignee' ? '(unassigned)' : '(none)') : (names.get(k) ?? k));
}

const iso = (d: Date) => d.toISOString();

/**
 * The period's buckets as `[lo, hi)` ranges (the first starts at `since`, the last ends at `until`)
 * plus (unless `tail: false`) `tail` = `[until, ∞)`, as a relation `b(bucket, lo, hi)` to aggregate
 * per row. One range aggregate per bucket reads the same index entries as one scan of the whole period, but needs no
 * bucket expression per row and no sort or hash to group them: on a 1M-ticket table that halves the
 * backlog's queries (creations 68 → 27–35 ms, status moves 160 → 88 ms never analysed). Volume uses
 * the same ranges, grouped by key within each.
 */
function bucketRanges(p: Period, opts: { tail?: boolean } = {}): { sql: string; bindings: Binding[] } {
  const step = p.interval === 'day' ? 86_400_000 : 7 * 86_400_000;
  const keys: string[] = [];
  const los: string[] = [];
  const his: string[] = [];
  p.buckets.forEach((key, i) => {
    const start = new Date(`${key}T00:00:00Z`).getTime();
    keys.push(key);
    los.push(iso(i === 0 ? p.since : new Date(start)));
    his.push(iso(i === p.buckets.length - 1 ? p.until : new Date(start + step)));
  });
  if (opts.tail !== false) {
    keys.push('tail');
    los.push(iso(p.until));
    // bounded on both sides ('infinity'), so the planner picks the index even without statistics
    his.push('infinity');
  }
  return { sql: `unnest(?::text[], ?::timestamptz[], ?::timestamptz[]) AS b(bucket, lo, hi)`, bindings: [keys, los, his] as unknown as Binding[] };
}

// ─── volume ──────────────────────────────────────────────────────────────────

export async function volumeReport(db: Knex, p: Period, by: GroupBy, f: TicketReportFilters) {
  const fs = filterSql(f);
  // one range aggregate per bucket (bucketRanges), grouped by key within it
  const r = bucketRanges(p, { tail: false });
  const { rows } = (await db.raw(
    `SELECT b.bucket, c.key, c.n
       FROM ${r.sql}
      CROSS JOIN LATERAL (SELECT ${keySql(by)} AS key, count(*)::int AS n
                            FROM tickets t
                           WHERE t.submit_date >= b.lo AND t.submit_date < b.hi${fs.sql}
                           GROUP BY 1) c`,
    [...r.bindings, ...fs.bindings],
  )) as { rows: { bucket: string; key: string | null; n: number }[] };
  const idx = bucketIndex(p);
  const label = await labelKeys(db, by, rows.map((r) => r.key));
  const series = new Map<string, number[]>();
  for (const r of rows) {
    const k = label(r.key);
    let vs = series.get(k);
    if (!vs) series.set(k, (vs = p.buckets.map(() => 0)));
    const i = idx.get(r.bucket);
    if (i !== undefined) vs[i]! += r.n;
  }
  const out = [...series.entries()]
    .map(([key, values]) => ({ key, values, total: values.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  return { since: iso(p.since), until: iso(p.until), interval: p.interval, by, buckets: p.buckets, series: out, total: out.reduce((a, s) => a + s.total, 0) };
}

// ─── backlog ─────────────────────────────────────────────────────────────────

/**
 * Open tickets (New, Open, In Progress, On Hold, Pending) at the end of each bucket. Exact, from the
 * open count now walked back through what happened since: open(T) = open now − created after T +
 * left the open set after T − came back after T (reopened).
 */
export async function backlogReport(db: Knex, p: Period, f: TicketReportFilters, now = new Date()) {
  const fs = filterSql(f);
  // the period's buckets and the "tail" after it, as ranges: each bucket is its own range aggregate
  // (an index range scan, no per-row bucket expression, no sort), see bucketRanges
  const r = bucketRanges(p);
  const [open, created, moves] = await Promise.all([
    // from the count rollup (ticket-counts.ts): the number of keys, not a scan of the open tickets
    db.raw(`SELECT coalesce(sum(t.n), 0)::int AS n FROM ${TICKET_COUNTS_SQL} t WHERE t.status IN ${OPEN_SQL}${fs.sql}`, fs.bindings),
    db.raw(
      `SELECT b.bucket, (SELECT count(*) FROM tickets t WHERE t.submit_date >= b.lo AND t.submit_date < b.hi${fs.sql})::int AS n
         FROM ${r.sql}`,
      [...fs.bindings, ...r.bindings], // in the text's order: the subquery's filters come before the ranges
    ),
    db.raw(
      `SELECT b.bucket, (SELECT coalesce(sum(CASE WHEN h.from_value IN ${OPEN_SQL} THEN -1 ELSE 1 END), 0)
                            FROM ticket_history h${filtered(f) ? ' JOIN tickets t ON t.id = h.ticket_id' : ''}
                           WHERE h.event = 'status_changed' AND ${CROSSING_SQL}
                             AND h.created_at >= b.lo AND h.created_at < b.hi${fs.sql})::int AS delta
         FROM ${r.sql}`,
      [...fs.bindings, ...r.bindings], // in the text's order: the subquery's filters come before the ranges
    ),
  ]);
  const openNow = (open.rows[0] as { n: number }).n;
  // net change of the open count per bucket (and after the period: the "tail")
  const idx = bucketIndex(p);
  const change = p.buckets.map(() => 0);
  let tail = 0;
  const add = (bucket: string, d: number) => {
    const i = idx.get(bucket);
    if (bucket === 'tail') tail += d;
    else if (i !== undefined) change[i]! += d;
  };
  for (const r of created.rows as { bucket: string; n: number }[]) add(r.bucket, r.n);
  for (const r of moves.rows as { bucket: string; delta: number }[]) add(r.bucket, r.delta);
  // walk back from the open count at `until` (now minus what happened after `until`)
  const values = p.buckets.map(() => 0);
  let level = openNow - tail;
  for (let i = p.buckets.length - 1; i >= 0; i--) {
    values[i] = level;
    level -= change[i]!;
  }
  return { since: iso(p.since), until: iso(p.until), interval: p.interval, buckets: p.buckets, values, open_now: openNow, as_of: iso(now) };
}

// ─── response and resolution times ───────────────────────────────────────────

/** Histogram buckets (seconds, lower bounds) and their labels. */
export const TIME_BUCKETS = [0, 900, 3600, 14400, 28800, 86400, 259200, 604800] as const;
export const TIME_BUCKET_LABELS = ['<15m', '15m–1h', '1h–4h', '4h–8h', '8h–1d', '1d–3d', '3d–1w', '≥1w'] as const;

interface Dist {
  count: number;
  p50: number | null;
  p90: number | null;
}

async function distribution(db: Knex, column: 'response_time' | 'resolution_time', at: 'approved_at' | 'resolved_at', p: Period, by: GroupBy, f: TicketReportFilters) {
  const fs = filterSql(f);
  // one scan and as few sorts as exact percentiles allow: ROLLUP (key) sorts the rows by group once and
  // gives the groups and the total in one pass (each percentile_cont sorts its own group's values);
  // the histogram is counted alongside (FILTER), not grouped on, so its buckets cost no sort or percentile.
  // Without a grouping only the total is computed (one sort).
  const hist = TIME_BUCKETS.map((_, i) => `count(*) FILTER (WHERE s.b = ${i + 1})::int`).join(', ');
  const grouped = by !== 'none';
  const { rows } = (await withSortMemory(db, (trx) => trx.raw(
    `SELECT ${grouped ? 's.key, GROUPING(s.key) = 1' : `NULL::text AS key, true`} AS is_total, count(*)::int AS count,
            percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s.v) AS pct, ARRAY[${hist}] AS hist
       FROM (SELECT ${keySql(by)} AS key, t.${column} AS v, width_bucket(t.${column}, ARRAY[${TIME_BUCKETS.join(',')}]::int[]) AS b
               FROM tickets t WHERE t.${at} >= ? AND t.${at} < ? AND t.${column} IS NOT NULL${fs.sql}) s
      ${grouped ? 'GROUP BY ROLLUP (s.key)' : ''}`,
    [p.since, p.until, ...fs.bindings],
  ))) as { rows: { key: string | null; is_total: boolean; count: number; pct: (number | null)[] | null; hist: number[] }[] };
  const overallRow = rows.find((r) => r.is_total);
  const histogram = TIME_BUCKET_LABELS.map((label, i) => ({ label, count: overallRow?.hist[i] ?? 0 }));
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    overall: { count: overallRow?.count ?? 0, p50: num(overallRow?.pct?.[0] ?? null), p90: num(overallRow?.pct?.[1] ?? null) } as Dist,
    groups: rows.filter((r) => !r.is_total).map((r) => ({ key: r.key, dist: { count: r.count, p50: num(r.pct?.[0] ?? null), p90: num(r.pct?.[1] ?? null) } as Dist })),
    histogram,
  };
}

/**
 * Tickets reopened in the period (Resolved/Closed → an open status), per group and in total
 * (`is_total`). The WHERE repeats the predicate of ticket_history_reopened_idx, so only reopenings
 * are read, and only they are joined to their tickets.
 */
async function reopens(db: Knex, p: Period, by: GroupBy, f: TicketReportFilters) {
  const fs = filterSql(f);
  const { rows } = (await db.raw(
    `SELECT s.key, GROUPING(s.key) = 1 AS is_total, count(DISTINCT s.ticket_id)::int AS reopened
       FROM (SELECT ${keySql(by)} AS key, h.ticket_id
               FROM ticket_history h${by !== 'none' || filtered(f) ? ' JOIN tickets t ON t.id = h.ticket_id' : ''}
              WHERE h.event = 'status_changed' AND h.from_value IN ('Resolved', 'Closed') AND h.to_value IN ${OPEN_SQL}
                AND h.created_at >= ? AND h.created_at < ?${fs.sql}) s
      GROUP BY ROLLUP (s.key)`,
    [p.since, p.until, ...fs.bindings],
  )) as { rows: { key: string | null; is_total: boolean; reopened: number }[] };
  return rows;
}

const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

export async function timesReport(db: Knex, p: Period, by: GroupBy, f: TicketReportFilters) {
  const [fr, res, ro] = await Promise.all([distribution(db, 'response_time', 'approved_at', p, by, f), distribution(db, 'resolution_time', 'resolved_at', p, by, f), reopens(db, p, by, f)]);
  const roTotal = ro.find((r) => r.is_total);
  const roGroups = ro.filter((r) => !r.is_total);
  const keys = new Set<string | null>([...fr.groups.map((g) => g.key), ...res.groups.map((g) => g.key), ...roGroups.map((r) => r.key)]);
  const label = await labelKeys(db, by, [...keys]);
  const empty: Dist = { count: 0, p50: null, p90: null };
  const groups = by === 'none'
    ? []
    : [...keys]
        .map((k) => {
          const r = roGroups.find((x) => x.key === k);
          return {
            key: label(k),
            first_response: fr.groups.find((g) => g.key === k)?.dist ?? empty,
            resolution: res.groups.find((g) => g.key === k)?.dist ?? empty,
            resolved: res.groups.find((g) => g.key === k)?.dist.count ?? 0,
            reopened: r?.reopened ?? 0,
            reopen_rate: rate(r?.reopened ?? 0, res.groups.find((g) => g.key === k)?.dist.count ?? 0),
          };
        })
        .sort((a, b) => b.resolution.count + b.first_response.count - (a.resolution.count + a.first_response.count) || a.key.localeCompare(b.key));
  return {
    since: iso(p.since),
    until: iso(p.until),
    by,
    overall: {
      first_response: fr.overall,
      resolution: res.overall,
      resolved: res.overall.count,
      reopened: roTotal?.reopened ?? 0,
      reopen_rate: rate(roTotal?.reopened ?? 0, res.overall.count),
    },
    groups,
    histograms: { first_response: fr.histogram, resolution: res.histogram },
  };
}

// ─── workload ────────────────────────────────────────────────────────────────

export async function workloadReport(db: Knex, p: Period, f: TicketReportFilters) {
  const fs = filterSql(f);
  const [open, resolved] = await Promise.all([
    // open now per assignee, from the count rollup (ticket-counts.ts)
    db.raw(`SELECT t.assigned_to AS id, sum(t.n)::int AS n FROM ${TICKET_COUNTS_SQL} t WHERE t.status IN ${OPEN_SQL}${fs.sql} GROUP BY 1 HAVING sum(t.n) <> 0`, fs.bindings),
    withSortMemory(db, (trx) =>
      trx.raw(
        `SELECT t.assigned_to AS id, count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY t.resolution_time) AS p50
           FROM tickets t WHERE t.resolved_at >= ? AND t.resolved_at < ?${fs.sql} GROUP BY 1`,
        [p.since, p.until, ...fs.bindings],
      ),
    ),
  ]);
  const by = new Map<string, { open: number; resolved: number; resolution_p50: number | null }>();
  const key = (id: unknown) => (id === null ? '' : String(id));
  for (const r of open.rows as { id: unknown; n: number }[]) by.set(key(r.id), { open: r.n, resolved: 0, resolution_p50: null });
  for (const r of resolved.rows as { id: unknown; n: number; p50: number | null }[]) {
    const e = by.get(key(r.id)) ?? { open: 0, resolved: 0, resolution_p50: null };
    by.set(key(r.id), { ...e, resolved: r.n, resolution_p50: r.p50 === null ? null : Number(r.p50) });
  }
  const ids = [...by.keys()].filter(Boolean).map(Number);
  const people = ids.length ? ((await db('employees').whereIn('id', ids).select('id', 'company_id', 'first_name', 'last_name', 'role')) as { id: string | number; company_id: string; first_name: string; last_name: string; role: string }[]) : [];
  const person = new Map(people.map((e) => [String(e.id), e]));
  const data = [...by.entries()]
    .map(([id, v]) => {
      const e = person.get(id);
      return { assignee: e ? { id: Number(e.id), company_id: e.company_id, name: `${e.first_name} ${e.last_name}` } : null, ...v };
    })
    .sort((a, b) => b.open - a.open || b.resolved - a.resolved || (a.assignee?.company_id ?? '~').localeCompare(b.assignee?.company_id ?? '~'));
  return { since: iso(p.since), until: iso(p.until), data };
}
