/**
 * Plans for the report benchmarks: capture the SQL an endpoint sends, EXPLAIN (ANALYZE) it on a
 * connection of the app's pool, and summarise each plan in one line — its scans (with index names,
 * rows and heap fetches), aggregates and sorts, and the in-database time — so a run on a loaded
 * machine can still be judged by what the database did. Also the machine's load, for the record.
 */
import { readFile } from 'node:fs/promises';
import type { BenchEnv } from './lib.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Heap Fetches'?: number;
  Strategy?: string;
  'Sort Method'?: string;
  Plans?: PlanNode[];
}

export interface ExplainedQuery {
  sql: string;
  /** one line: the plan's interesting nodes */
  summary: string;
  /** Execution Time of EXPLAIN ANALYZE (ms) */
  dbMs: number;
  /** the plan as text (BENCH_PLANS=1 prints it) */
  text: string;
}

const walk = (n: PlanNode, out: PlanNode[] = []): PlanNode[] => {
  out.push(n);
  for (const c of n.Plans ?? []) walk(c, out);
  return out;
};

function summarise(root: PlanNode): string {
  const parts: string[] = [];
  for (const n of walk(root)) {
    const rows = (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1);
    if (/Scan/.test(n['Node Type']) && (n['Relation Name'] || n['Index Name'])) {
      const heap = n['Heap Fetches'] !== undefined ? `, heap fetches ${n['Heap Fetches']}` : '';
      parts.push(`${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''} (${rows} rows${heap})`);
    } else if (n['Node Type'] === 'Aggregate' && n.Strategy) parts.push(`${n.Strategy} Aggregate (${rows} rows)`);
    else if (n['Node Type'] === 'Sort') parts.push(`Sort ${n['Sort Method'] ?? ''} (${rows} rows)`.replace('  ', ' '));
  }
  return parts.join(' · ');
}

/** Call `url` once, capturing the SQL matching `pick`, and EXPLAIN ANALYZE each captured query. */
export async function explainEndpoint(env: BenchEnv, url: string, token: string, pick: RegExp): Promise<ExplainedQuery[]> {
  const captured: { sql: string; bindings: unknown[] }[] = [];
  // a report that raises its sort memory (SET LOCAL work_mem) is EXPLAINed with the same setting
  let workMem: string | undefined;
  const on = (q: { sql: string; bindings: unknown[] }) => {
    const mem = /^SET LOCAL work_mem = '([^']+)'/.exec(q.sql);
    if (mem) workMem = mem[1];
    else if (pick.test(q.sql)) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  env.app.db.on('query', on);
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  env.app.db.off('query', on);
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const client = (env.app.db as unknown as { client: { acquireConnection(): Promise<{ query(s: string, v: unknown[]): Promise<{ rows: Record<string, unknown>[] }> }>; releaseConnection(c: unknown): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  try {
    if (workMem) await conn.query(`SET work_mem = '${workMem}'`, []);
    const out: ExplainedQuery[] = [];
    for (const q of captured) {
      // knex raw queries carry `?` placeholders, builder queries `$n` (as the pg driver receives them)
      let n = 0;
      const sql = /\$1\b/.test(q.sql) ? q.sql : q.sql.replace(/\?/g, () => `$${++n}`);
      const json = (await conn.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, q.bindings)).rows[0]!['QUERY PLAN'] as { Plan: PlanNode; 'Execution Time': number }[];
      const text = (await conn.query(`EXPLAIN ${sql}`, q.bindings)).rows.map((r) => r['QUERY PLAN']).join('\n');
      out.push({ sql, summary: summarise(json[0]!.Plan), dbMs: json[0]!['Execution Time'], text });
    }
    return out;
  } finally {
    if (workMem) await conn.query('RESET work_mem', []).catch(() => undefined);
    await client.releaseConnection(conn);
  }
}

export const loadavg = async () => (await readFile('/proc/loadavg', 'utf8').catch(() => '? ? ?')).split(' ').slice(0, 3).join(' ');
