/**
 * Issue 14's two event benchmarks.
 *
 * `events-subscriptions`: authenticated ticket create with 3 active webhook subscriptions (a real
 * `smartsupport worker` process dispatching and delivering to a real receiver process) vs the same
 * create with none. Target ≥ 0.9: events are written in the create's own statement; fan-out and
 * delivery happen in workers.
 *
 * `sse-streams`: 200 concurrent SSE streams on one process (clients in a child process), each
 * receiving 100 events; reports the server's heap and RSS growth per stream. Budget: ≤ 100 KiB of
 * heap per stream (20 MB for 200).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signAccessToken } from '../src/lib/jwt.js';
import { load, ratioResult, round, type Benchmark } from './lib.js';
import { benchEmployee } from './ticket-fixtures.js';

const BODY = JSON.stringify({ subject: 'Bench ticket', category: 'Hardware', sub_category: 'Laptop', description: 'Created by the benchmark.' });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function child(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpExecArray; out: () => string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const on = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ proc, match: m, out: () => out });
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.on('exit', (code) => reject(new Error(`child exited ${code}: ${out.slice(-500)}`)));
  });
}

const RECEIVER = `
  const http = require('node:http');
  let n = 0;
  const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { n++; res.writeHead(204).end(); }); });
  s.listen(0, '127.0.0.1', () => console.log('receiver ' + s.address().port));
  setInterval(() => console.log('received ' + n), 1000);
`;

export const eventSubscriptions: Benchmark = {
  name: 'events-subscriptions',
  async run(env) {
    const emp = await benchEmployee(env);
    const request = { method: 'POST' as const, body: BODY, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${emp.token}` }, url: `${env.server.url}/api/tickets/` };
    const receiver = await child(['-e', RECEIVER], {}, /receiver (\d+)/);
    const worker = await child([path.join(root, 'bin', 'smartsupport'), 'worker'], {
      DATABASE_URL: env.databaseUrl, JWT_SECRET: env.app.jwt.secret, SECRETS_KEY: env.app.config.secretsKey?.toString('base64') ?? '', LOG_LEVEL: 'info', NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WORKFLOW_SIGNING_SECRET: env.app.config.workflowSigningSecret ?? '',
      SMARTSUPPORT_DATA_DIR: path.join(env.app.config.dataDir, 'worker'),
    }, /worker is running/);
    try {
      // both phases with the worker process running (same CPU competition); only the subscriptions differ
      const none = await load(request);
      const admin = await benchEmployee(env, 'System Admin');
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${env.server.url}/api/webhooks/`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin.token}` }, body: JSON.stringify({ url: `http://127.0.0.1:${receiver.match[1]}/hook/${i}`, event_types: ['ticket.*'] }) });
        if (r.status !== 201) throw new Error(`webhook create: ${r.status} ${await r.text()}`);
      }
      const three = await load(request);
      const delivered = Number(/received (\d+)(?![\s\S]*received)/.exec(receiver.out())?.[1] ?? 0);
      return ratioResult('events-subscriptions', 'req/s', three.rps, none.rps, 0.9, `ours: create with 3 subscriptions; baseline: with none; ${delivered} deliveries made meanwhile by a worker process`);
    } finally {
      worker.proc.kill('SIGTERM');
      receiver.proc.kill('SIGKILL');
      await new Promise((r) => worker.proc.once('exit', r));
    }
  },
};

const CLIENTS = `
  const [url, tokensJson, want] = process.argv.slice(1);
  const tokens = JSON.parse(tokensJson);
  let done = 0, open = 0;
  const counts = new Array(tokens.length).fill(0);
  tokens.forEach(async (token, i) => {
    const res = await fetch(url, { headers: { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' } });
    if (res.status !== 200) { console.log('refused ' + res.status); process.exit(1); }
    open++;
    if (open === tokens.length) console.log('open ' + open);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      buf += dec.decode(value, { stream: true });
      const parts = buf.split('\\n\\n');
      buf = parts.pop();
      for (const p of parts) if (p.startsWith('id: ')) { counts[i]++; if (counts[i] === Number(want)) { done++; if (done === tokens.length) console.log('all ' + done); } }
    }
  });
`;

export const sseStreams: Benchmark = {
  name: 'sse-streams',
  async run(env) {
    const STREAMS = 200;
    const EVENTS = 100;
    const per = env.app.config.eventStreamMaxPerCaller;
    const callers = Math.ceil(STREAMS / per);
    const tokens: string[] = [];
    for (let c = 0; c < callers; c++) {
      const [row] = await env.app.db('employees').insert({ first_name: 'Stream', last_name: `C${c}`, email: `stream-${c}-${Date.now()}@example.com`, department: 'IT Department', role: 'Ticket Coordinator', status: 'Approved' }).returning('id');
      const token = await signAccessToken(env.app.jwt, { sub: String(row.id), role: 'Ticket Coordinator' });
      for (let k = 0; k < per && tokens.length < STREAMS; k++) tokens.push(token);
    }
    global.gc?.();
    const before = process.memoryUsage();
    const clients = await child(['-e', CLIENTS, `${env.server.url}/api/events/stream/?type=faq.*`, JSON.stringify(tokens), String(EVENTS)], {}, /open (\d+)|refused (\d+)/);
    try {
      if (!/open/.test(clients.match[0])) throw new Error(`streams refused: ${clients.match[0]}`);
      const admin = await benchEmployee(env, 'System Admin');
      for (let i = 0; i < EVENTS; i++) {
        const r = await fetch(`${env.server.url}/api/faqs/`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin.token}` }, body: JSON.stringify({ question: `Bench stream question ${i}?`, answer: 'An answer of a realistic length, a sentence or two, for the stream benchmark.' }) });
        if (r.status !== 201) throw new Error(`faq ${r.status}`);
      }
      const deadline = Date.now() + 60_000;
      while (!/all \d+/.test(clients.out())) {
        if (Date.now() > deadline) throw new Error('not every stream received every event');
        await new Promise((r) => setTimeout(r, 100));
      }
      global.gc?.();
      const after = process.memoryUsage();
      const heapPerStream = (after.heapUsed - before.heapUsed) / STREAMS / 1024;
      const rssMb = (after.rss - before.rss) / 1024 / 1024;
      return {
        name: 'sse-streams',
        metric: 'heap KiB/stream',
        ours: round(heapPerStream),
        baseline: 100,
        ratio: round(heapPerStream / 100, 3),
        target: '≤ 100 KiB/stream',
        pass: heapPerStream <= 100,
        note: `${STREAMS} streams × ${EVENTS} events; RSS +${round(rssMb)} MB, heap +${round((after.heapUsed - before.heapUsed) / 1024 / 1024)} MB`,
      };
    } finally {
      clients.proc.kill('SIGKILL');
    }
  },
};
