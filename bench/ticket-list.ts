/**
 * Authenticated GET /api/tickets/?limit=20 as staff vs a bare Koa + pg SELECT of the same shape
 * (tickets joined with owner and assignee summaries, newest first, LIMIT 20) on 10k tickets.
 */
import { load, ratioResult, type Benchmark } from './lib.js';
import { bareApp, benchEmployee } from './ticket-fixtures.js';

export const ticketList: Benchmark = {
  name: 'ticket-list',
  async run(env) {
    const emp = await benchEmployee(env);
    const staff = await benchEmployee(env, 'Ticket Coordinator');
    await env.app.db.raw(
      `INSERT INTO tickets (employee_id, subject, category, sub_category, description)
       SELECT ?, 'Bench ' || g, 'Hardware', 'Laptop', 'Generated' FROM generate_series(1, 10000) g`,
      [emp.id],
    );
    await env.app.db.raw('ANALYZE tickets');
    const person = (a: string) => `json_build_object('id', ${a}.id, 'company_id', ${a}.company_id, 'first_name', ${a}.first_name, 'last_name', ${a}.last_name, 'email', ${a}.email, 'department', ${a}.department)`;
    const sql = `SELECT t.*, ${person('e')} AS employee, CASE WHEN a.id IS NULL THEN NULL ELSE ${person('a')} END AS assigned_to
      FROM tickets t JOIN employees e ON e.id = t.employee_id LEFT JOIN employees a ON a.id = t.assigned_to
      ORDER BY t.id DESC LIMIT 21`;
    const bare = await bareApp(env.databaseUrl, async (pool, ctx) => {
      const r = await pool.query(sql);
      ctx.body = { data: r.rows.slice(0, 20), next_cursor: null };
    });
    try {
      const b = await load({ url: `${bare.server.url}/api/tickets/?limit=20` });
      const o = await load({ url: `${env.server.url}/api/tickets/?limit=20`, headers: { Authorization: `Bearer ${staff.token}` } });
      return ratioResult('ticket-list', 'req/s', o.rps, b.rps, 0.6);
    } finally {
      await bare.close();
    }
  },
};
