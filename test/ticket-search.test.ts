/**
 * The `q` search on a 100k-ticket table uses the full-text GIN index: the exact SQL the list
 * endpoint runs is captured and EXPLAINed.
 */
import t from 'tap';
import { signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const admin = await signedIn(ta, { role: 'System Admin' });
const owner = await signedIn(ta, { role: 'Employee' });

await ta.db.raw(
  `INSERT INTO tickets (employee_id, subject, category, sub_category, description, status)
   SELECT ?, 'Ticket number ' || g || CASE WHEN g % 5000 = 0 THEN ' quasar' ELSE ' printer' END, 'Hardware', 'Printer',
          'Generated description ' || md5(g::text), 'New'
   FROM generate_series(1, 100000) AS g`,
  [owner.user.id],
);
await ta.db.raw('ANALYZE tickets');

t.test('q search: results right, plan uses tickets_search_idx', async (t) => {
  const captured: { sql: string; bindings: unknown[] }[] = [];
  const on = (q: { sql: string; bindings: unknown[] }) => void captured.push(q);
  ta.db.on('query', on);
  const r = await ta.api.get('/api/tickets/', { token: admin.token, query: { q: 'quasar', limit: 100 } });
  ta.db.off('query', on);
  t.equal(r.status, 200);
  t.equal(r.body.data.length, 20, 'the 20 tickets with the rare word');
  const q = captured.find((c) => /websearch_to_tsquery/.test(c.sql));
  t.ok(q, 'the list query was captured');
  // the captured SQL is in pg's $n form: run it on a raw connection
  const client = (ta.db as unknown as { client: { acquireConnection(): Promise<{ query(s: string, v: unknown[]): Promise<{ rows: { 'QUERY PLAN': string }[] }> }>; releaseConnection(c: unknown): Promise<void> } }).client;
  const conn = await client.acquireConnection();
  const plan = (await conn.query(`EXPLAIN ${q!.sql}`, q!.bindings)).rows.map((x) => x['QUERY PLAN']).join('\n');
  await client.releaseConnection(conn);
  t.match(plan, /tickets_search_idx/, plan);

  const byNumber = await ta.api.get('/api/tickets/', { token: admin.token, query: { q: 'TX50000' } });
  t.same(byNumber.body.data.map((x: { ticket_number: string }) => x.ticket_number), ['TX50000'], 'exact number (widened past 9999)');
});
