/**
 * Authenticated POST /api/tickets/ (auth, validation, insert + history event)
 * vs a bare Koa + pg single INSERT … RETURNING of the same row.
 */
import { load, ratioResult, type Benchmark } from './lib.js';
import { bareApp, benchEmployee } from './ticket-fixtures.js';

const BODY = JSON.stringify({ subject: 'Bench ticket', category: 'Hardware', sub_category: 'Laptop', description: 'Created by the benchmark.' });

export const ticketCreate: Benchmark = {
  name: 'ticket-create',
  async run(env) {
    const emp = await benchEmployee(env);
    const bare = await bareApp(env.databaseUrl, async (pool, ctx) => {
      const b = ctx.request.body as Record<string, string>;
      const r = await pool.query(
        `INSERT INTO tickets (employee_id, subject, category, sub_category, description) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [emp.id, b.subject, b.category, b.sub_category, b.description],
      );
      ctx.status = 201;
      ctx.body = r.rows[0];
    });
    try {
      const request = { method: 'POST' as const, body: BODY, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${emp.token}` } };
      const b = await load({ ...request, url: `${bare.server.url}/api/tickets/` });
      const o = await load({ ...request, url: `${env.server.url}/api/tickets/` });
      return ratioResult('ticket-create', 'req/s', o.rps, b.rps, 0.5, 'ours: auth + validation + insert + history event (no Idempotency-Key)');
    } finally {
      await bare.close();
    }
  },
};
