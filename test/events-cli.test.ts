/**
 * The CLI of issue 14, as the built binary in child processes against a test app: `events list`,
 * `events tail` (NDJSON, follows the stream), `tickets watch` (until Closed), the `webhooks` noun
 * (create prints the secret once, deliveries, redeliver) and `webhooks listen --forward-to` (a local
 * receiver gets signed events).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { packageRoot } from '../src/lib/paths.js';
import { createEmployee, signedIn, startTestApp, tokenFor } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startReceiver } from './helpers/receiver.js';
import { signatureValid } from './helpers/sse.js';

const ta = await startTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', EVENT_STREAM_HEARTBEAT_MS: '200' } });
await ta.startWorkers();
const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-events-cli-'));
t.teardown(() => rm(xdg, { recursive: true, force: true }));
const admin = await createEmployee(ta.db, { role: 'System Admin' });
const adminToken = await tokenFor(ta.app, admin);
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const owner = await signedIn(ta, { role: 'Employee' });
const bin = path.join(packageRoot, 'bin', 'smartsupport');
const envFor = (token: string) => ({ PATH: process.env.PATH, SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: token, XDG_CONFIG_HOME: xdg, NO_COLOR: '1' });

function cli(args: string[], token = adminToken): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env: envFor(token), timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end();
  });
}

/** A long-running command: its output as it comes. */
function follow(args: string[], token = adminToken) {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], { env: envFor(token), stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: undefined as number | null | undefined };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve((out.code = c))));
  t.teardown(() => void child.kill('SIGKILL'));
  return { child, out, exited };
}

const faq = (q: string) => ta.api.post('/api/faqs/', { question: q, answer: 'A.' }, { token: adminToken });

t.test('events tail --json prints one JSON event per line as they happen', async (t) => {
  const tail = follow(['events', 'tail', '--type', 'faq.*', '--json']);
  await waitFor(async () => (await ta.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'smartsupport-events-listen'`)).rows[0].n > 0 && tail.out.stderr === '', 'tail started');
  // wait until the stream is open: a marker event appears
  const marker = await waitFor(async () => {
    const m = await faq(`tail marker ${Date.now()}?`);
    await new Promise((r) => setTimeout(r, 300));
    return tail.out.stdout.includes(`"id":"${m.body.id}"`) ? m : undefined;
  }, 'tail is live');
  const a = await faq('Tail question one?');
  const b = await faq('Tail question two?');
  await waitFor(async () => tail.out.stdout.includes(`"id":"${b.body.id}"`), 'both events');
  const lines = tail.out.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const ids = lines.map((e) => e.object.id);
  t.same(ids.slice(ids.indexOf(String(a.body.id))), [String(a.body.id), String(b.body.id)]);
  t.ok(lines.every((e) => e.type === 'faq.created' && /^evt_/.test(e.id)));
  t.ok(ids.includes(String(marker.body.id)));
  tail.child.kill('SIGINT');
  t.equal(await tail.exited, 0, 'Ctrl-C ends it cleanly');
});

t.test('events list shows the feed; --json has the API fields', async (t) => {
  const r = await cli(['events', 'list', '--type', 'faq.created', '--limit', '100', '--json']);
  t.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { type: string; object: { id: string } }[];
  t.ok(list.length >= 3);
  t.ok(list.every((e) => e.type === 'faq.created'));
  const tsv = await cli(['events', 'list', '--type', 'faq.*', '--limit', '2']);
  t.equal(tsv.code, 0);
  t.equal(tsv.stdout.trim().split('\n').length, 2, 'TSV off a terminal, one line per event');
  t.match(tsv.stdout, /faq\.created\tfaq:\d+\temployee:\d+\tevt_/);
  const bad = await cli(['events', 'list', '--after', 'nonsense']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /event id/);
});

t.test('tickets watch follows one ticket until it is Closed', async (t) => {
  const created = await ta.api.post('/api/tickets/', { subject: 'Watch me', category: 'Other', sub_category: 'Other', description: 'x' }, { token: owner.token });
  const tx = created.body.ticket_number as string;
  const watch = follow(['tickets', 'watch', tx], owner.token);
  await waitFor(async () => watch.out.stderr.includes('watching'), 'watching');
  await new Promise((r) => setTimeout(r, 500)); // the stream opens after the ticket is read
  const other = await ta.api.post('/api/tickets/', { subject: 'Not this one', category: 'Other', sub_category: 'Other', description: 'x' }, { token: owner.token });
  await ta.api.post(`/api/tickets/${tx}/approve/`, { priority: 'High', department: 'IT Department' }, { token: coord.token });
  await ta.api.post(`/api/tickets/${tx}/claim/`, {}, { token: coord.token });
  await ta.api.post(`/api/tickets/${tx}/update-status/`, { status: 'Resolved' }, { token: coord.token });
  await ta.api.post(`/api/tickets/${tx}/close/`, {}, { token: owner.token });
  t.equal(await watch.exited, 0, 'ends by itself when the ticket is Closed');
  t.notOk(watch.out.stdout.includes(other.body.ticket_number), 'only this ticket');
  const lines = watch.out.stdout.trim().split('\n');
  t.match(lines[0], /ticket\.status_changed\s+ticket:TX\d+ New → Open/);
  t.match(lines[lines.length - 1], /ticket\.status_changed\s+ticket:TX\d+ Resolved → Closed/);
  t.ok(lines.some((l) => /ticket\.assigned/.test(l)));
});

t.test('webhooks: create prints the secret once, deliveries, redeliver, delete', async (t) => {
  const r = await startReceiver(t, () => 200);
  const created = await cli(['webhooks', 'create', `${r.url}/hook`, '--type', 'faq.*', '--description', 'from the CLI', '--json']);
  t.equal(created.code, 0, created.stderr);
  const hook = JSON.parse(created.stdout);
  t.match(hook.secret, /^whsec_/);
  await faq('Webhook CLI question?');
  await waitFor(async () => r.requests.length === 1, 'delivered');
  const d = await waitFor(async () => {
    const x = await cli(['webhooks', 'deliveries', String(hook.id), '--json']);
    const rows = JSON.parse(x.stdout);
    return rows[0]?.status === 'delivered' ? rows : undefined;
  }, 'delivery log');
  const again = await cli(['webhooks', 'redeliver', String(hook.id), String(d[0].id), '--json']);
  t.equal(again.code, 0, again.stderr);
  await waitFor(async () => r.requests.length === 2, 'redelivered');
  t.equal(r.requests[1]!.headers['webhook-id'], r.requests[0]!.headers['webhook-id']);
  const shown = await cli(['webhooks', 'show', String(hook.id), '--json']);
  t.notOk(shown.stdout.includes('whsec_'), 'show never prints the secret');
  const del = await cli(['webhooks', 'delete', String(hook.id)]);
  t.equal(del.code, 2, 'off a terminal delete needs --yes');
  t.equal((await cli(['webhooks', 'delete', String(hook.id), '--yes'])).code, 0);
  t.equal((await cli(['webhooks', 'show', String(hook.id)])).code, 4, 'not found: exit 4');
});

t.test('webhooks listen --forward-to signs each event with the local secret it prints', async (t) => {
  const r = await startReceiver(t, () => 202);
  const listen = follow(['webhooks', 'listen', '--forward-to', `${r.url}/local`, '--type', 'faq.*']);
  const secret = await waitFor(async () => /Signing secret[^:]*: (whsec_\S+)/.exec(listen.out.stderr)?.[1], 'secret printed');
  await waitFor(async () => {
    await faq(`listen marker ${Date.now()}?`);
    await new Promise((res) => setTimeout(res, 300));
    return r.requests.length > 0;
  }, 'forwarding');
  const q = await faq('Listen question?');
  await waitFor(async () => r.requests.some((x) => JSON.parse(x.body).object.id === String(q.body.id)), 'forwarded');
  for (const x of r.requests) {
    t.ok(signatureValid(secret, x.headers, x.body), 'signed with the printed secret');
    t.equal(x.url, '/local');
  }
  t.match(listen.out.stdout, /faq\.created\s+evt_\w+\s+→ 202/);
  listen.child.kill('SIGINT');
  t.equal(await listen.exited, 0);
});
