/**
 * The "minimal" baseline of issue 17: a bare Koa + pg app with its own minimal ticket table
 * (id, number from a sequence, owner, subject, description, status, date). It
 *
 * - POST /api/tickets/  inserts one row (JSON body: subject, description) for a fixed owner;
 * - GET  /api/tickets/  lists that owner's 20 newest rows by id (index on (owner, id));
 * - GET  /healthz       answers {"status":"ok"}.
 *
 * No authentication, validation, history, events, logging or headers: it is the floor the real
 * endpoints are compared with (bench/minimal.ts). Runnable on its own for profiling comparisons:
 *   node --import tsx bench/minimal-app.ts postgres://…/db 3999
 */
import Koa from 'koa';
import pg from 'pg';
import { listen, type RunningServer } from '../src/app/server.js';

export const MINIMAL_SCHEMA = `
  CREATE SEQUENCE IF NOT EXISTS bench_minimal_number_seq;
  CREATE TABLE IF NOT EXISTS bench_minimal_tickets (
    id bigserial PRIMARY KEY,
    number text NOT NULL DEFAULT 'M' || lpad(nextval('bench_minimal_number_seq')::text, 7, '0'),
    owner bigint NOT NULL,
    subject text NOT NULL,
    description text NOT NULL,
    status text NOT NULL DEFAULT 'New',
    date timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS bench_minimal_tickets_owner_id_idx ON bench_minimal_tickets (owner, id DESC);`;

export interface MinimalApp {
  server: RunningServer;
  owner: number;
  close(): Promise<void>;
}

export async function startMinimalApp(databaseUrl: string, opts: { owner?: number; port?: number } = {}): Promise<MinimalApp> {
  const owner = opts.owner ?? 1;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  await pool.query(MINIMAL_SCHEMA);
  const koa = new Koa();
  koa.use(async (ctx) => {
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
    } else if (ctx.path === '/api/tickets/' && ctx.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of ctx.req) chunks.push(c as Buffer);
      const b = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { subject: string; description: string };
      const r = await pool.query(`INSERT INTO bench_minimal_tickets (owner, subject, description) VALUES ($1, $2, $3) RETURNING *`, [owner, b.subject, b.description]);
      ctx.status = 201;
      ctx.body = r.rows[0];
    } else if (ctx.path === '/api/tickets/' && ctx.method === 'GET') {
      const r = await pool.query(`SELECT * FROM bench_minimal_tickets WHERE owner = $1 ORDER BY id DESC LIMIT 20`, [owner]);
      ctx.body = { data: r.rows };
    } else {
      ctx.status = 404;
    }
  });
  const server = await listen(koa, opts.port ?? 0, '127.0.0.1');
  return {
    server,
    owner,
    async close() {
      await server.close(1000);
      await pool.end();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, port] = process.argv.slice(2);
  const app = await startMinimalApp(url!, { port: Number(port ?? 3999) });
  process.stderr.write(`minimal app on ${app.server.url}\n`);
}
