/**
 * Issue 13 measurements (not part of `npm run bench`'s ratios): run it on a build before and after a
 * change to the sign-in, registration or forgot-password paths and compare.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/security.ts
 *
 * Prints one JSON object:
 *  - item 2: of 60 simultaneous sign-ins for one account from one address (59 wrong, 1 right), how
 *    many had their password checked (401 + 200), and whether the right one got in;
 *  - item 3: after 5 wrong passwords from address A, the owner's right password from address B;
 *  - item 4: median / p90 sign-in latency alone, then while 8 clients register in a loop with an
 *    existing email and a 7000×7000 PNG;
 *  - item 6: forgot-password response-time medians for an existing and an unknown address (40 each,
 *    interleaved), and how many reset mails 40 requests for one address produced.
 * Uses only HTTP and the database, so the same script measures any version of the code.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { createContext } from '../src/app/context.js';
import { features } from '../src/app/features.js';
import { createApp, listen } from '../src/app/server.js';
import { startWorkers } from '../src/app/worker.js';
import { loadConfig } from '../src/config/config.js';
import { hashPassword } from '../src/features/auth/passwords.js';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PW = 'quiet-maple-orbit-77';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const round = (n: number) => Math.round(n * 10) / 10;

async function main() {
  const dbName = `ss_secbench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ss-secbench-'));
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: u.toString(),
    SMARTSUPPORT_DATA_DIR: tmp,
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    TRUST_PROXY: 'true',
    REGISTRATION_LIMIT_PER_HOUR: '0',
    PORT: '0',
  });
  const app = await createContext(config, { migrate: true, supervise: false });
  for (const f of features) await f.onStart?.(app);
  const server = await listen(createApp(app, features), 0, '127.0.0.1');
  await startWorkers(app, features);
  const base = server.url;
  let ipSeq = 0;
  const ip = () => `10.77.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;
  const post = async (p: string, body: unknown, from: string) => {
    const t0 = performance.now();
    const r = await fetch(base + p, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': from }, body: JSON.stringify(body) });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - t0 };
  };
  const hash = await hashPassword(PW);
  const person = async () => {
    const email = `p${randomBytes(5).toString('hex')}@example.com`;
    await app.db('employees').insert({ first_name: 'Bench', last_name: 'Person', email, department: 'IT Department', role: 'Employee', status: 'Approved', password_hash: hash });
    return email;
  };
  const out: Record<string, unknown> = {};

  // item 2: concurrent guesses
  {
    const email = await person();
    const from = ip();
    const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => post('/api/token/employee/', { email, password: i === 59 ? PW : `wrong-guess-${i}` }, from)));
    out.item2_concurrent_guesses = {
      attempts: 60,
      password_checks_evaluated: rs.filter((r) => r.status === 401 || r.status === 200).length,
      right_password_accepted: rs[59]!.status === 200,
      refused_429: rs.filter((r) => r.status === 429).length,
    };
  }

  // item 3: lockout of the owner by someone else
  {
    const email = await person();
    const attacker = ip();
    const wrong = [];
    for (let i = 0; i < 6; i++) wrong.push((await post('/api/token/employee/', { email, password: `bad-${i}-pass` }, attacker)).status);
    const owner = await post('/api/token/employee/', { email, password: PW }, ip());
    out.item3_lockout = { attacker_statuses: wrong, owner_from_other_address: owner.status };
  }

  // item 4: login latency alone and under registration amplification
  {
    const email = await person();
    const from = ip();
    const logins = async (n: number) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await post('/api/token/employee/', { email, password: PW }, from);
        if (r.status !== 200) throw new Error(`login answered ${r.status}`);
        ms.push(r.ms);
      }
      return ms;
    };
    await logins(3); // warm-up
    const alone = await logins(20);
    const big = await sharp({ create: { width: 7000, height: 7000, channels: 3, background: { r: 30, g: 120, b: 200 } } }).png({ compressionLevel: 9 }).toBuffer();
    let stop = false;
    const regs: { status: number; ms: number }[] = [];
    const taken = await person();
    const client = async () => {
      while (!stop) {
        const f = new FormData();
        for (const [k, v] of Object.entries({ first_name: 'Amp', last_name: 'Lifier', department: 'IT Department', email: taken, password: PW, confirm_password: PW })) f.append(k, v);
        f.append('image', new Blob([big], { type: 'image/png' }), 'big.png');
        const t0 = performance.now();
        const r = await fetch(base + '/api/create_employee/', { method: 'POST', body: f, headers: { 'X-Forwarded-For': ip() } });
        await r.arrayBuffer();
        regs.push({ status: r.status, ms: performance.now() - t0 });
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await logins(20);
    stop = true;
    await Promise.all(clients);
    const statuses: Record<string, number> = {};
    for (const r of regs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    out.item4_registration_amplification = {
      png_bytes: big.length,
      login_ms_alone: { median: round(median(alone)), p90: round(pct(alone, 90)) },
      login_ms_with_8_registrations: { median: round(median(loaded)), p90: round(pct(loaded, 90)) },
      registrations: { count: regs.length, statuses, median_ms: round(median(regs.map((r) => r.ms))) },
    };
  }

  // item 6: forgot-password timing and mail flood
  {
    const email = await person();
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 40; i++) {
      known.push((await post('/api/employee/forgot-password/', { email }, ip())).ms);
      unknown.push((await post('/api/employee/forgot-password/', { email: `ghost${i}-${randomBytes(3).toString('hex')}@example.com` }, ip())).ms);
    }
    // let the forgot-password jobs (if this version has them) finish
    for (let i = 0; i < 600; i++) {
      const r = await app.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'auth.password_forgot' AND state NOT IN ('completed', 'failed', 'cancelled')`).catch(() => ({ rows: [{ n: 0 }] }));
      if (r.rows[0].n === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const mails = await app.db('notifications').where({ recipient: email, template: 'password_reset' });
    out.item6_forgot_password = {
      median_ms_existing: round(median(known)),
      median_ms_unknown: round(median(unknown)),
      requests_for_one_address: 40,
      reset_mails: mails.length,
    };
  }

  console.log(JSON.stringify(out, null, 2));
  await server.close(1000);
  await app.close();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  await rm(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
