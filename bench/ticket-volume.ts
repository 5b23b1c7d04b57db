/**
 * Deep pagination and full-text search on a large ticket table (200k rows, or BENCH_TICKETS).
 * - deep-page: latency of the keyset page at depth 100k vs page 1, through the API (target ≤ 1.5).
 * - search: p99 of `GET /api/tickets/?q=` through the API (target ≤ 50 ms) and EXPLAIN of the exact
 *   SQL the endpoint runs must use the GIN index.
 */
import { load, round, type BenchEnv, type Benchmark, type BenchResult } from './lib.js';
import { benchEmployee } from './ticket-fixtures.js';

const TOTAL = Number(process.env.BENCH_TICKETS ?? 200_000);
const DEPTH = Math.floor(TOTAL / 2);

let prepared: Promise<{ token: string }> | undefined;

/** 200k tickets with a vocabulary that makes search selective: `quasar` in 0.5% of them. */
function prepare(env: BenchEnv): Promise<{ token: string }> {
  prepared ??= (async () => {
    const owner = await benchEmployee(env);
    const staff = await benchEmployee(env, 'System Admin');
    await env.app.db.raw(
      `INSERT INTO tickets (employee_id, subject, category, sub_category, description)
       SELECT ?, (ARRAY['Laptop','Printer','VPN','Email','Monitor','Badge'])[1 + g % 6] || ' issue ' || g
                 || CASE WHEN g % 200 = 0 THEN ' quasar' ELSE '' END,
              'Hardware', 'Other', 'Generated description ' || md5(g::text)
       FROM generate_series(1, ?) g`,
      [owner.id, TOTAL],
    );
    await env.app.db.raw('ANALYZE tickets');
    return { token: staff.token };
  })();
  return prepared;
}

/** Latency of one client issuing requests back to back (a latency target, not a throughput one). */
const latency = (url: string, token: string) => load({ url, headers: { Authorization: `Bearer ${token}` }, connections: 1 });

export const deepPage: Benchmark = {
  name: 'deep-page',
  async run(env): Promise<BenchResult> {
    const { token } = await prepare(env);
    // walk to depth DEPTH by following cursors (100 rows a page), as a client would
    let cursor: string | null = null;
    for (let seen = 0; seen < DEPTH; seen += 100) {
      const u = new URL(`${env.server.url}/api/tickets/`);
      u.searchParams.set('limit', '100');
      if (cursor) u.searchParams.set('cursor', cursor);
      const res = await fetch(u, { headers: { Authorization: `Bearer ${token}` } });
      cursor = ((await res.json()) as { next_cursor: string | null }).next_cursor;
      if (!cursor) throw new Error(`ran out of pages at ${seen}`);
    }
    const first = await latency(`${env.server.url}/api/tickets/?limit=20`, token);
    const deep = await latency(`${env.server.url}/api/tickets/?limit=20&cursor=${encodeURIComponent(cursor!)}`, token);
    // autocannon records latencies in whole milliseconds, too coarse for sub-millisecond pages; with one
    // connection and no pipelining the mean latency is exactly the inverse of the request rate
    const firstMs = 1000 / first.rps;
    const deepMs = 1000 / deep.rps;
    const ratio = deepMs / firstMs;
    return { name: 'deep-page', metric: `ms mean (depth ${DEPTH})`, ours: round(deepMs, 3), baseline: round(firstMs, 3), ratio: round(ratio, 3), target: '≤ 1.5', pass: ratio <= 1.5 };
  },
};

export const search: Benchmark = {
  name: 'search',
  async run(env): Promise<BenchResult> {
    const { token } = await prepare(env);
    // the exact SQL the endpoint runs, captured and EXPLAINed
    const captured: { sql: string; bindings: unknown[] }[] = [];
    const on = (q: { sql: string; bindings: unknown[] }) => void captured.push(q);
    env.app.db.on('query', on);
    const probe = await fetch(`${env.server.url}/api/tickets/?q=quasar`, { headers: { Authorization: `Bearer ${token}` } });
    env.app.db.off('query', on);
    const found = ((await probe.json()) as { data: unknown[] }).data.length;
    const q = captured.find((c) => /websearch_to_tsquery/.test(c.sql));
    if (!q) throw new Error('the search query was not captured');
    const client = (env.app.db as unknown as { client: { acquireConnection(): Promise<{ query(s: string, v: unknown[]): Promise<{ rows: { 'QUERY PLAN': string }[] }> }>; releaseConnection(c: unknown): Promise<void> } }).client;
    const conn = await client.acquireConnection();
    const plan = (await conn.query(`EXPLAIN ${q.sql}`, q.bindings)).rows.map((r) => r['QUERY PLAN']).join('\n');
    await client.releaseConnection(conn);
    const indexUsed = /tickets_search_idx/.test(plan);
    const l = await latency(`${env.server.url}/api/tickets/?q=quasar`, token);
    return {
      name: 'search',
      metric: `p99 ms (${TOTAL} tickets)`,
      ours: round(l.p99, 1),
      baseline: 50,
      ratio: round(l.p99 / 50, 3),
      target: 'index used, p99 ≤ 50 ms',
      pass: indexUsed && l.p99 <= 50 && found > 0,
      note: indexUsed ? `GIN index used; ${found} hits on page 1` : 'GIN index NOT used',
    };
  },
};
