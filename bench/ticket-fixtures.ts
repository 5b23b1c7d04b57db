/** Shared set-up for the ticket benchmarks: an approved employee with a token, and a bare Koa + pg app. */
import Koa from 'koa';
import pg from 'pg';
import { createSession } from '../src/features/auth/auth-store.js';
import { signAccessToken } from '../src/lib/jwt.js';
import { listen, type RunningServer } from '../src/app/server.js';
import type { BenchEnv } from './lib.js';

export async function benchEmployee(env: BenchEnv, role = 'Employee'): Promise<{ id: number; token: string; refresh(): Promise<string> }> {
  const [row] = await env.app
    .db('employees')
    .insert({ first_name: 'Bench', last_name: role, email: `bench-${role.replace(/\s/g, '')}-${Date.now()}@example.com`, department: 'IT Department', role, status: 'Approved' })
    .returning('id');
  // a real session, as a signed-in client has: every request then also checks that it is not revoked
  const { sessionId } = await createSession(env.app.db, Number(row.id), 3600);
  // access tokens live ACCESS_TOKEN_TTL_SECONDS (15 min); a long run renews them as a client's refresh does
  const refresh = () => signAccessToken(env.app.jwt, { sub: String(row.id), role, sid: sessionId });
  return { id: Number(row.id), token: await refresh(), refresh };
}

/** A bare Koa app on a plain pg pool running one handler (no auth, no validation, no middleware). */
export async function bareApp(databaseUrl: string, handler: (pool: pg.Pool, ctx: Koa.Context) => Promise<void>): Promise<{ server: RunningServer; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  const koa = new Koa();
  koa.use(async (ctx) => {
    if (ctx.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of ctx.req) chunks.push(c as Buffer);
      (ctx.request as unknown as { body: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    }
    await handler(pool, ctx);
  });
  const server = await listen(koa, 0, '127.0.0.1');
  return {
    server,
    async close() {
      await server.close(1000);
      await pool.end();
    },
  };
}
