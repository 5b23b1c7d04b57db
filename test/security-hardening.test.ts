/**
 * Issue 13, findings 1–11 (12 is in src/config/config.test.ts): each check here failed before its fix.
 * Client addresses are set with X-Forwarded-For (TRUST_PROXY=true) so one test process can play
 * an attacker and a victim from different addresses.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { createApp } from '../src/app/server.js';
import { features } from '../src/app/features.js';
import { loadSpec } from '../src/http/openapi.js';
import { encodeCursor } from '../src/http/pagination.js';
import { createApiKey, createEmployee, signedIn, startTestApp } from './helpers/harness.js';
import { createTicket, form, gif, pixelBombPng, png } from './helpers/files.js';
import { waitFor } from './helpers/outbound.js';

const METRICS_TOKEN = 'metrics-token-0123456789-abcdef';
const ta = await startTestApp(t, { env: { TRUST_PROXY: 'true', METRICS_TOKEN, REGISTRATION_LIMIT_PER_HOUR: '3' } });
const api = ta.api;
const PW = 'quiet-maple-orbit-77';
const from = (ip: string) => ({ headers: { 'X-Forwarded-For': ip } });
let addr = 0;
const freshIp = () => `10.13.${Math.floor(++addr / 250)}.${(addr % 250) + 1}`;

t.test('1. API keys: no declared scope means no access; start-up refuses an apiKeyAuth operation without x-scope', async (t) => {
  const chat = await createApiKey(ta.db, { role: 'System Admin', scopes: ['chat'] });
  const none = await createApiKey(ta.db, { role: 'System Admin', scopes: [] });
  const r = await api.get('/api/admin/jobs/', { apiKey: chat.key });
  t.equal(r.status, 403, 'a chat-only key cannot list job queues');
  t.equal(r.body.code, 'insufficient_scope');
  const retry = await api.post('/api/admin/jobs/email.send/00000000-0000-0000-0000-000000000000/retry/', undefined, { apiKey: none.key });
  t.equal(retry.status, 403, 'a key without scopes never reaches the retry handler');
  t.equal(retry.body.code, 'insufficient_scope');
  const reader = await createApiKey(ta.db, { role: 'System Admin', scopes: ['jobs:read'] });
  t.equal((await api.get('/api/admin/jobs/', { apiKey: reader.key })).status, 200, 'jobs:read lists them');

  // a spec in which an operation accepting API keys names no scope does not start
  const doc = YAML.parse(loadSpec().yamlText);
  delete doc.paths['/api/admin/jobs/'].get['x-scope'];
  const file = path.join(os.tmpdir(), `ss-spec-noscope-${process.pid}.yaml`);
  await writeFile(file, YAML.stringify(doc));
  t.throws(() => createApp(ta.app, features, { spec: loadSpec(file) }), /listJobQueues accepts API keys but declares no x-scope/);
});

t.test('2. concurrent guesses: the attempt is reserved before the password check', async (t) => {
  const victim = await createEmployee(ta.db, { password: PW });
  const ip = freshIp();
  const attempts = Array.from({ length: 60 }, (_, i) => api.post('/api/token/employee/', { email: victim.email, password: i === 59 ? PW : `wrong-guess-${i}-x` }, from(ip)));
  const statuses = (await Promise.all(attempts)).map((r) => r.status);
  const evaluated = statuses.filter((s) => s === 401 || s === 200).length;
  t.ok(evaluated <= 5, `at most 5 of 60 simultaneous attempts had their password checked (got ${evaluated})`);
  t.equal(statuses.filter((s) => s === 429).length, 60 - evaluated, 'the rest are 429');
});

t.test('3. no lockout of the owner: per (account, address) tight, per account ceiling across addresses', async (t) => {
  const victim = await createEmployee(ta.db, { password: PW });
  const attacker = freshIp();
  for (let i = 0; i < 5; i++) t.equal((await api.post('/api/token/employee/', { email: victim.email, password: `bad-${i}-password` }, from(attacker))).status, 401);
  const blocked = await api.post('/api/token/employee/', { email: victim.email, password: PW }, from(attacker));
  t.equal(blocked.status, 429, 'the attacker\'s address is stopped, even with the right password');
  t.ok(Number(blocked.headers.get('retry-after')) > 0);
  const owner = await api.post('/api/token/employee/', { email: victim.email, password: PW }, from(freshIp()));
  t.equal(owner.status, 200, 'the owner signs in from another address');

  // many addresses together: at most 50 guesses an hour on one account, then even the owner waits
  const target = await createEmployee(ta.db, { password: PW });
  let checked = 0;
  let refused = 0;
  for (let a = 0; a < 11; a++) {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) {
      const s = (await api.post('/api/token/employee/', { email: target.email, password: `spray-${a}-${i}-x` }, from(ip))).status;
      if (s === 401) checked++;
      else if (s === 429) refused++;
    }
  }
  t.equal(checked, 50, '50 guesses were checked across 11 addresses');
  t.equal(refused, 5, 'the rest were refused');
  t.equal((await api.post('/api/token/employee/', { email: target.email, password: PW }, from(freshIp()))).status, 429, 'the account ceiling holds for new addresses');
});

t.test('4. registration: cheap checks first, bounded images, a per-address limit', async (t) => {
  const existing = await createEmployee(ta.db, {});
  const reg = (email: string, image?: Buffer) => {
    const f = new FormData();
    for (const [k, v] of Object.entries({ first_name: 'Ada', last_name: 'Lovelace', department: 'IT Department', email, password: PW, confirm_password: PW })) f.append(k, v);
    if (image) f.append('image', new Blob([image], { type: 'image/png' }), 'me.png');
    return f;
  };
  const ip = freshIp();
  // an existing email with an image that would fail to decode: answered from the database alone
  const taken = await api.post('/api/create_employee/', undefined, { raw: reg(existing.email, Buffer.from('\x89PNG\r\n\x1a\nnot really')), ...from(ip) });
  t.equal(taken.status, 409, 'email taken is decided before the image is looked at');
  t.equal(taken.body.code, 'email_taken');
  // 7000×7000 (49 MP) is refused from its header: above the 25 MP limit
  const big = await api.post('/api/create_employee/', undefined, { raw: reg(`big${Date.now()}@example.com`, pixelBombPng(7000, 7000)), ...from(ip) });
  t.equal(big.status, 413, '49 megapixels are refused');
  // REGISTRATION_LIMIT_PER_HOUR=3 in this app (the 413 above counted as one)
  const ok1 = await api.post('/api/create_employee/', undefined, { raw: reg(`r1${Date.now()}@example.com`, await png(64, 64)), ...from(ip) });
  t.equal(ok1.status, 201);
  t.equal((await api.post('/api/create_employee/', { first_name: 'A', last_name: 'B', department: 'IT Department', email: `r2${Date.now()}@example.com`, password: PW, confirm_password: PW }, from(ip))).status, 201);
  const limited = await api.post('/api/create_employee/', { first_name: 'A', last_name: 'B', department: 'IT Department', email: `r3${Date.now()}@example.com`, password: PW, confirm_password: PW }, from(ip));
  t.equal(limited.status, 429, 'the fourth registration from one address in an hour');
  t.equal((await api.post('/api/create_employee/', { first_name: 'A', last_name: 'B', department: 'IT Department', email: `r4${Date.now()}@example.com`, password: PW, confirm_password: PW }, from(freshIp()))).status, 201, 'other addresses are not affected');
});

t.test('5. NUL bytes are 400 validation_failed naming the field, never a 500', async (t) => {
  const admin = await signedIn(ta, { role: 'System Admin' });
  const emp = await signedIn(ta, { role: 'Employee' });
  const body = await api.post('/api/tickets/', { subject: 'a\u0000b', category: 'Hardware', sub_category: 'Laptop', description: 'd' }, { token: emp.token });
  t.equal(body.status, 400);
  t.equal(body.body.code, 'validation_failed');
  t.same(body.body.errors.map((e: { field: string }) => e.field), ['subject']);
  const surrogate = await api.post('/api/tickets/', { subject: 'ok', category: 'Hardware', sub_category: 'Laptop', description: 'x\ud800y' }, { token: emp.token });
  t.equal(surrogate.status, 400, 'a lone surrogate too');
  t.same(surrogate.body.errors.map((e: { field: string }) => e.field), ['description']);
  const query = await api.get('/api/employees/', { token: admin.token, query: { q: 'x\u0000' } });
  t.equal(query.status, 400);
  t.same(query.body.errors.map((e: { field: string }) => e.field), ['query.q']);
  const pathNul = await api.get('/api/employees/MA%00/', { token: admin.token });
  t.equal(pathNul.status, 400);
  t.same(pathNul.body.errors.map((e: { field: string }) => e.field), ['path.id']);
  const cursor = await api.get('/api/employees/', { token: admin.token, query: { cursor: encodeCursor(['\u0000']) } });
  t.equal(cursor.status, 400, 'a cursor that decodes to NUL');
  t.equal(cursor.body.code, 'invalid_cursor');
  const multipart = new FormData();
  for (const [k, v] of Object.entries({ first_name: 'Ada\u0000', last_name: 'L', department: 'IT Department', email: `nul${Date.now()}@example.com`, password: PW, confirm_password: PW })) multipart.append(k, v);
  const reg = await api.post('/api/create_employee/', undefined, { raw: multipart, ...from(freshIp()) });
  t.equal(reg.status, 400, 'a multipart field');
  t.same(reg.body.errors.map((e: { field: string }) => e.field), ['first_name']);
});

t.test('6. forgot-password: a job either way, at most 3 reset mails per account per hour', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const ghost = `ghost${Date.now()}@example.com`;
  const jobsFor = async (email: string) => Number((await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'auth.password_forgot' AND data->>'email' = ?`, [email])).rows[0].n);
  t.equal((await api.post('/api/employee/forgot-password/', { email: ghost }, from(freshIp()))).status, 202);
  t.equal(await jobsFor(ghost), 1, 'an unknown address is queued like a known one');
  for (let i = 0; i < 40; i++) t.equal((await api.post('/api/employee/forgot-password/', { email: emp.email }, from(freshIp()))).status, 202);
  t.equal(await jobsFor(emp.email), 40);
  await ta.startWorkers();
  await waitFor(async () => Number((await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'auth.password_forgot' AND state NOT IN ('completed', 'failed', 'cancelled')`)).rows[0].n) === 0, 'forgot-password jobs done', 60_000);
  const mails = await ta.db('notifications').where({ recipient: emp.email, template: 'password_reset' });
  t.equal(mails.length, 3, '40 requests, 3 mails');
  t.equal((await ta.db('notifications').where({ recipient: ghost })).length, 0);
});

t.test('7. every authenticated response is Cache-Control: no-store', async (t) => {
  const emp = await signedIn(ta, { role: 'Employee' });
  const profile = await api.get('/api/employee/profile/', { token: emp.token });
  t.equal(profile.status, 200);
  t.equal(profile.headers.get('cache-control'), 'no-store');
  const missing = await api.get('/api/tickets/999999999/', { token: emp.token });
  t.equal(missing.status, 404);
  t.equal(missing.headers.get('cache-control'), 'no-store', 'errors too');
  const key = await createApiKey(ta.db, { role: 'System Admin', scopes: ['tickets:read'] });
  t.equal((await api.get('/api/tickets/', { apiKey: key.key })).headers.get('cache-control'), 'no-store', 'API keys too');
});

t.test('8. no secret is stored for replay: the Idempotency-Key is remembered, the tokens or key are not', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const ip = freshIp();
  const sessions = async () => Number((await ta.db('auth_sessions').where({ employee_id: emp.id }).count({ n: '*' }))[0].n);
  const login = await api.post('/api/token/employee/', { email: emp.email, password: PW }, { headers: { 'Idempotency-Key': 'login-1', 'X-Forwarded-For': ip } });
  t.equal(login.status, 200, 'a client that sends a key on every POST can still sign in');
  const replay = await api.post('/api/token/employee/', { email: emp.email, password: PW }, { headers: { 'Idempotency-Key': 'login-1', 'X-Forwarded-For': ip } });
  t.equal(replay.status, 409, 'a repeat does not get the tokens again');
  t.equal(replay.body.code, 'idempotency_replay_unavailable');
  t.equal(await sessions(), 1, 'nor a second session');
  const admin = await signedIn(ta, { role: 'System Admin' });
  const key = await api.post('/api/admin/api-keys/', { name: 'k', role: 'Employee' }, { token: admin.token, headers: { 'Idempotency-Key': 'key-1' } });
  t.equal(key.status, 201);
  t.equal((await api.post('/api/admin/api-keys/', { name: 'k', role: 'Employee' }, { token: admin.token, headers: { 'Idempotency-Key': 'key-1' } })).status, 409);
  t.equal((await ta.db('api_keys').where({ name: 'k' })).length, 1, 'one key created');
  // webhook signing secrets, at creation and at rotation, likewise
  const hookBody = { url: 'https://hooks.example.com/ss', event_types: ['ticket.*'] };
  const hook = await api.post('/api/webhooks/', hookBody, { token: admin.token, headers: { 'Idempotency-Key': 'hook-1' } });
  t.equal(hook.status, 201);
  const hookAgain = await api.post('/api/webhooks/', hookBody, { token: admin.token, headers: { 'Idempotency-Key': 'hook-1' } });
  t.equal(hookAgain.status, 409, 'a repeated webhook creation does not get the secret again');
  t.equal(hookAgain.body.code, 'idempotency_replay_unavailable');
  t.equal((await ta.db('webhook_endpoints').where({ url: hookBody.url })).length, 1, 'one endpoint created');
  const rotated = await api.post(`/api/webhooks/${hook.body.id}/rotate-secret/`, {}, { token: admin.token, headers: { 'Idempotency-Key': 'rot-1' } });
  t.equal(rotated.status, 200);
  t.equal((await api.post(`/api/webhooks/${hook.body.id}/rotate-secret/`, {}, { token: admin.token, headers: { 'Idempotency-Key': 'rot-1' } })).status, 409);
  const secrets = [hook.body.secret, rotated.body.secret];
  t.ok(secrets.every((s) => typeof s === 'string' && s.startsWith('whsec_')), 'both answers carried a secret');
  const stored = await ta.db('idempotency_keys').whereIn('key', ['login-1', 'key-1', 'hook-1', 'rot-1']);
  t.equal(stored.length, 4);
  const text = JSON.stringify(stored);
  t.notOk(text.includes(login.body.refresh) || text.includes(login.body.access) || text.includes(key.body.key), 'no token or key is stored');
  t.notOk(secrets.some((s) => text.includes(s.slice('whsec_'.length))), 'no webhook secret is stored');
  t.ok(stored.every((r: { response_body: unknown }) => r.response_body === null));
});

t.test('9. a reused webhook-id with a different body is refused, not answered with another ticket\'s result', async (t) => {
  const owner = await signedIn(ta, { role: 'Employee' });
  const key = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['workflow:callback'] });
  const a = await createTicket(ta.db, owner.user.id, { status: 'Open', approved_at: ta.db.fn.now(), priority: 'Medium', department: 'IT Department' });
  const b = await createTicket(ta.db, owner.user.id, { status: 'Open', approved_at: ta.db.fn.now(), priority: 'Medium', department: 'IT Department' });
  const call = (ticket: string) => api.post('/api/workflow/status/', { ticket_number: ticket, status: 'In Progress' }, { apiKey: key.key, headers: { 'webhook-id': 'msg_reused_1' } });
  const first = await call(a.ticket_number);
  t.equal(first.status, 200);
  const again = await call(a.ticket_number);
  t.equal(again.status, 200, 'the same request is replayed');
  t.equal(again.headers.get('idempotent-replayed'), 'true');
  const other = await call(b.ticket_number);
  t.equal(other.status, 422, 'a different body under the same id');
  t.equal(other.body.code, 'idempotency_key_reused');
  t.equal((await ta.db('tickets').where({ id: b.id }).first()).status, 'Open', 'the other ticket is untouched');
});

t.test('10. uploads: text with markup anywhere is refused; images are re-encoded (polyglot payloads dropped)', async (t) => {
  const owner = await signedIn(ta, { role: 'Employee' });
  const tk = await createTicket(ta.db, owner.user.id);
  const upload = (data: Buffer, name: string) => api.post(`/api/tickets/${tk.id}/attachments/`, undefined, { token: owner.token, raw: form('files[]', [{ data, name }]) });
  const html = await upload(Buffer.from('Printer log, line 1\nline 2\n<img src=x onerror=alert(document.cookie)>\n'), 'log.txt');
  t.equal(html.status, 415, 'markup after byte 0 is not plain text');
  t.equal((await upload(Buffer.from('just a log line\nand a < b comparison\n'), 'plain.txt')).status, 201, 'plain text is still fine');
  const payload = '<html><script>alert(document.domain)</script></html>';
  for (const [name, image] of [['poly.gif', await gif()], ['poly.png', await png(16, 16)]] as const) {
    const r = await upload(Buffer.concat([image, Buffer.from(payload)]), name);
    t.equal(r.status, 201, `${name} is stored`);
    const row = await ta.db('ticket_attachments').where({ id: r.body.data[0].id }).first();
    const dl = await fetch(`${ta.url}/api/attachments/${row.id}/download/`, { headers: { Authorization: `Bearer ${owner.token}` } });
    const bytes = Buffer.from(await dl.arrayBuffer());
    t.equal(dl.status, 200);
    t.notOk(bytes.includes(Buffer.from('<script')), `${name}: the trailing HTML/JS is gone`);
    t.equal(Number(row.file_size), bytes.length, 'the recorded size is the re-encoded size');
  }
});

t.test('11. /metrics needs METRICS_TOKEN (or a System Admin)', async (t) => {
  const anon = await api.get('/metrics');
  t.equal(anon.status, 401);
  t.equal((await api.get('/metrics', { headers: { Authorization: 'Bearer wrong-token-wrong-token-wrong' } })).status, 401);
  const emp = await signedIn(ta, { role: 'Employee' });
  t.equal((await api.get('/metrics', { token: emp.token })).status, 403);
  const scrape = await api.get('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  t.equal(scrape.status, 200);
  t.match(scrape.text, /^# (HELP|TYPE) /m);
  const admin = await signedIn(ta, { role: 'System Admin' });
  t.equal((await api.get('/metrics', { token: admin.token })).status, 200);
});

t.test('every response carries the security headers: success, not found, refused; HSTS only over https', async (t) => {
  const answers = {
    ok: await api.get('/healthz'),
    'not found': await api.get('/api/no-such-thing/'),
    refused: await api.get('/api/tickets/', { token: 'not-a-jwt' }),
    'over https': await api.get('/healthz', { headers: { 'X-Forwarded-Proto': 'https' } }),
  };
  t.same(
    Object.values(answers).map((r) => r.status),
    [200, 404, 401, 200],
  );
  for (const [what, r] of Object.entries(answers)) {
    t.equal(r.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
    t.equal(r.headers.get('x-frame-options'), 'DENY', `${what}: no framing`);
    t.equal(r.headers.get('referrer-policy'), 'no-referrer', `${what}: no referrer`);
    t.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin', `${what}: same-origin resource`);
    t.equal(r.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", `${what}: CSP`);
    t.match(r.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, `${what}: a request id`);
  }
  t.equal(answers.ok.headers.get('strict-transport-security'), null, 'no HSTS over plain http');
  t.equal(answers['over https'].headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains', 'HSTS behind a TLS-terminating proxy');
});
