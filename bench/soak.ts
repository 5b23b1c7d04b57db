/**
 * Soak: SOAK_MINUTES (default 30) of mixed API load — creates (half with an Idempotency-Key),
 * own-ticket lists, ticket reads — while emails are queued and the workers send them (outbox).
 * Reports RSS, p99 latency and errors for the first and the last window (a window is a minute, or
 * a quarter of the run if shorter; the first starts after a warm-up window). Passes when there is
 * no error, every queued email was sent, and RSS at the end is at most 1.5× RSS at the start.
 */
import { startWorkers } from '../src/app/worker.js';
import { features } from '../src/app/features.js';
import { queueEmail } from '../src/features/notifications/notification-outbox.js';
import { round, type Benchmark } from './lib.js';
import { benchEmployee } from './ticket-fixtures.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const CLIENTS = 8;

interface Window {
  latencies: number[];
  errors: number;
  requests: number;
  rssStart: number;
  rssEnd: number;
}

const p99 = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!;
};
const mb = (b: number) => round(b / 1024 / 1024);

export const soak: Benchmark = {
  name: 'soak',
  async run(env) {
    const totalMs = MINUTES * 60_000;
    const windowMs = Math.min(60_000, totalMs / 4);
    const emp = await benchEmployee(env);
    const workers = await startWorkers(env.app, features);
    const headers = { Authorization: `Bearer ${emp.token}`, 'Content-Type': 'application/json' };
    // renew the access token every 5 minutes, as a client does with its refresh token
    const renew = setInterval(() => {
      emp.refresh().then((t) => (headers.Authorization = `Bearer ${t}`), () => undefined);
    }, 5 * 60_000);
    /** what the failures were: HTTP status or the exception's name */
    const failures = new Map<string, number>();
    const started = Date.now();
    const windows = new Map<number, Window>();
    const windowOf = (t: number) => {
      const i = Math.floor((t - started) / windowMs);
      let w = windows.get(i);
      if (!w) windows.set(i, (w = { latencies: [], errors: 0, requests: 0, rssStart: process.memoryUsage().rss, rssEnd: 0 }));
      w.rssEnd = process.memoryUsage().rss;
      return w;
    };
    const ids: number[] = [];
    let n = 0;
    const one = async (): Promise<void> => {
      const k = n++;
      const t0 = performance.now();
      let ok = false;
      let status = 'exception';
      try {
        if (k % 3 === 0 || ids.length === 0) {
          const r = await fetch(`${env.server.url}/api/tickets/`, {
            method: 'POST',
            headers: k % 2 ? { ...headers, 'Idempotency-Key': `soak-${k}` } : headers,
            body: JSON.stringify({ subject: `Soak ${k}`, category: 'Hardware', sub_category: 'Laptop', description: 'soak' }),
          });
          const body = (await r.json()) as { id: number };
          status = String(r.status);
          ok = r.status === 201;
          if (ok && ids.length < 5000) ids.push(body.id);
        } else if (k % 3 === 1) {
          const r = await fetch(`${env.server.url}/api/tickets/?limit=20`, { headers });
          await r.arrayBuffer();
          status = String(r.status);
          ok = r.status === 200;
        } else {
          const r = await fetch(`${env.server.url}/api/tickets/${ids[k % ids.length]}/`, { headers });
          await r.arrayBuffer();
          status = String(r.status);
          ok = r.status === 200;
        }
      } catch (err) {
        ok = false;
        status = `exception ${(err as Error).name}`;
      }
      if (!ok) failures.set(status, (failures.get(status) ?? 0) + 1);
      const w = windowOf(Date.now());
      w.requests++;
      w.latencies.push(performance.now() - t0);
      if (!ok) w.errors++;
    };
    // emails: a few per second, sent by the workers
    let queued = 0;
    const mailer = setInterval(() => {
      env.app.db
        .transaction((trx) => queueEmail(trx, env.app.jobs, { template: 'account_pending', to: `soak${queued}@example.com`, data: { first_name: 'S', last_name: 'K', company_id: `MA${queued}` } }))
        .then(() => queued++, () => windowOf(Date.now()).errors++);
    }, 250);
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() - started < totalMs) await one();
      }),
    );
    clearInterval(mailer);
    clearInterval(renew);
    // let the last emails go out
    const deadline = Date.now() + 60_000;
    let unsent = 0;
    do {
      unsent = Number((await env.app.db('notifications').whereNot({ status: 'sent' }).count({ n: '*' }))[0]!.n);
      if (unsent) await new Promise((r) => setTimeout(r, 250));
    } while (unsent && Date.now() < deadline);
    const unsentByStatus = (await env.app.db('notifications').whereNot({ status: 'sent' }).groupBy('status').select('status').count({ n: '*' })) as unknown as Array<{ status: string; n: string }>;
    await workers.stop(5_000);

    const keys = [...windows.keys()].sort((a, b) => a - b);
    const first = windows.get(keys[Math.min(1, keys.length - 1)]!)!; // after the warm-up window
    // the last complete window (the final one is cut short when the run ends)
    const last = windows.get(keys[Math.max(keys.length >= 3 ? keys.length - 2 : keys.length - 1, 0)]!)!;
    const errors = [...windows.values()].reduce((s, w) => s + w.errors, 0);
    const requests = [...windows.values()].reduce((s, w) => s + w.requests, 0);
    const summary = {
      minutes: MINUTES,
      requests,
      errors,
      emails_queued: queued,
      emails_unsent: unsent,
      unsent_by_status: Object.fromEntries(unsentByStatus.map((r) => [r.status, Number(r.n)])),
      failures: Object.fromEntries(failures),
      start: { rss_mb: mb(first.rssEnd), p99_ms: round(p99(first.latencies)), errors: first.errors, requests: first.requests },
      end: { rss_mb: mb(last.rssEnd), p99_ms: round(p99(last.latencies)), errors: last.errors, requests: last.requests },
    };
    process.stderr.write(`soak: ${JSON.stringify(summary)}\n`);
    // the whole trajectory, one figure per window: flat memory shows as a plateau, a leak as a slope
    process.stderr.write(`soak RSS MB per window: ${keys.map((k) => mb(windows.get(k)!.rssEnd)).join(' ')}\n`);
    process.stderr.write(`soak p99 ms per window: ${keys.map((k) => round(p99(windows.get(k)!.latencies))).join(' ')}\n`);
    const growth = last.rssEnd / first.rssEnd;
    return {
      name: 'soak',
      metric: 'RSS end/start',
      ours: mb(last.rssEnd),
      baseline: mb(first.rssEnd),
      ratio: round(growth, 3),
      target: 'no errors, all emails sent, RSS ≤ 1.5× start',
      pass: errors === 0 && unsent === 0 && growth <= 1.5,
      note: `${MINUTES} min, ${requests} requests, ${errors} errors, ${queued} emails; p99 start ${summary.start.p99_ms} ms → end ${summary.end.p99_ms} ms; RSS ${summary.start.rss_mb} → ${summary.end.rss_mb} MB`,
    };
  },
};
