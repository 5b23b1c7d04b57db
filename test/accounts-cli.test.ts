/**
 * The accounts CLI against a real app: login with --password-stdin (tokens stored in the profile),
 * whoami, `employees approve` with ids (off a terminal), without ids off a terminal (exit 2), and the
 * interactive multi-select through an injected prompter (`run(argv, { io, prompter })`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import type { Prompter } from '../src/cli/factory.js';
import { run } from '../src/cli/main.js';
import { packageRoot } from '../src/lib/paths.js';
import { createEmployee, login, startTestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';
import { startWorkers } from '../src/app/worker.js';
import { authFeature } from '../src/features/auth/auth-routes.js';

const ta = await startTestApp(t);
const PW = 'silver-canoe-thunder-8';
const admin = await createEmployee(ta.db, { role: 'System Admin', password: PW });
const bin = path.join(packageRoot, 'bin', 'smartsupport');

function cli(args: string[], env: Record<string, string>, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), SMARTSUPPORT_URL: ta.url, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const pending = async () => Promise.all([1, 2, 3].map(() => createEmployee(ta.db, { status: 'Pending' })));

t.test('login --password-stdin stores the session (0600); whoami; logout', async (t) => {
  const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));
  t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(xdg, { recursive: true, force: true })));
  const env = { XDG_CONFIG_HOME: xdg };
  const bad = await cli(['login', '--admin', '--email', admin.email, '--password-stdin'], env, 'wrong-password-here\n');
  t.equal(bad.code, 3, bad.stderr);
  const r = await cli(['login', '--admin', '--email', admin.email, '--password-stdin'], env, PW + '\n');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /Signed in/);
  const file = path.join(xdg, 'smartsupport', 'config.json');
  t.equal((await stat(file)).mode & 0o777, 0o600);
  const cfg = JSON.parse(await readFile(file, 'utf8'));
  t.ok(cfg.profiles.default.refresh_token);
  const who = await cli(['whoami', '--json', 'email,role'], env);
  t.equal(who.code, 0, who.stderr);
  t.same(JSON.parse(who.stdout), { email: admin.email, role: 'System Admin' });
  const out = await cli(['logout'], env);
  t.equal(out.code, 0, out.stderr);
  t.equal((await cli(['whoami'], env)).code, 3, 'no session after logout');
  const asJson = await cli(['login', '--admin', '--email', admin.email, '--password-stdin', '--json', 'email,role'], env, PW + '\n');
  t.equal(asJson.code, 0, asJson.stderr);
  t.same(JSON.parse(asJson.stdout), { email: admin.email, role: 'System Admin' }, 'login --json prints the account');
  const full = await cli(['login', '--admin', '--email', admin.email, '--password-stdin', '--json'], env, PW + '\n');
  t.equal(JSON.parse(full.stdout).email, admin.email);
  const stored = JSON.parse(await readFile(file, 'utf8')).profiles.default;
  t.ok(stored.access_token && stored.refresh_token);
  t.notOk(full.stdout.includes(stored.access_token) || full.stdout.includes(stored.refresh_token), 'tokens are stored, never printed');
  const noTty = await cli(['login', '--admin'], env);
  t.equal(noTty.code, 2, 'off a terminal, missing --email is a usage error');
});

t.test('employees approve with ids (non-interactive); without ids off a terminal → exit 2', async (t) => {
  const { access } = await login(ta, admin.email, PW);
  const env = { SMARTSUPPORT_TOKEN: access, XDG_CONFIG_HOME: await mkdtemp(path.join(os.tmpdir(), 'ss-cli-')) };
  const [a, b, c] = await pending();
  const r = await cli(['employees', 'approve', String(a.id), b.company_id, '--json', 'company_id,status'], env);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), [{ company_id: a.company_id, status: 'Approved' }, { company_id: b.company_id, status: 'Approved' }]);
  const again = await cli(['employees', 'approve', String(a.id)], env);
  t.equal(again.code, 5, 'already approved → conflict exit code');
  const none = await cli(['employees', 'approve'], env);
  t.equal(none.code, 2);
  t.match(none.stderr, /ids/);
  t.equal((await ta.db('employees').where({ id: c.id }).first()).status, 'Pending', 'nothing approved by accident');

  const rej = await cli(['employees', 'reject', String(c.id), '--reason', 'duplicate'], env);
  t.equal(rej.code, 0, rej.stderr);
  const audit = await cli(['employees', 'rejected', '--json', 'company_id,reason'], env);
  t.same(JSON.parse(audit.stdout)[0], { company_id: c.company_id, reason: 'duplicate' });
  const counts = await cli(['employees', 'counts', '--json'], env);
  t.equal(JSON.parse(counts.stdout).by_status.Rejected, 1);
  const list = await cli(['employees', 'list', '--status', 'Approved', '--json', 'id'], env);
  t.ok(JSON.parse(list.stdout).some((e: { id: number }) => e.id === a.id));
});

t.test('employees approve with no ids shows a multi-select of Pending accounts (injected prompter)', async (t) => {
  const { access } = await login(ta, admin.email, PW);
  const [a, b, c] = await pending();
  let offered: { name: string; value: string }[] = [];
  const prompter = {
    checkbox: async (opts: { choices: { name: string; value: string }[] }) => {
      offered = opts.choices;
      return [String(a.id), String(c.id)];
    },
  } as unknown as Prompter;
  // a terminal on both ends, as the multi-select needs
  const stdout = Object.assign(new PassThrough(), { isTTY: true });
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const io = { stdin: Object.assign(Readable.from([]), { isTTY: true }), stdout, stderr, env: { SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: access, NO_COLOR: '1' } };
  const code = await run(['node', 'smartsupport', 'employees', 'approve', '--json', 'id,status'], { io, prompter });
  t.equal(code, 0, err);
  t.same(offered.map((o) => o.value).sort(), [a.id, b.id, c.id].map(String).sort(), 'every Pending account is offered');
  t.same(JSON.parse(out), [{ id: a.id, status: 'Approved' }, { id: c.id, status: 'Approved' }]);
  t.equal((await ta.db('employees').where({ id: b.id }).first()).status, 'Pending', 'the unselected one stays Pending');
});

t.test('api-keys create/list/revoke', async (t) => {
  const { access } = await login(ta, admin.email, PW);
  const env = { SMARTSUPPORT_TOKEN: access, XDG_CONFIG_HOME: await mkdtemp(path.join(os.tmpdir(), 'ss-cli-')) };
  const created = await cli(['api-keys', 'create', '--name', 'cron', '--role', 'Ticket Coordinator', '--scope', 'employees:read'], env);
  t.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim();
  t.match(key, /^ssk_/);
  const listed = await cli(['employees', 'counts', '--json'], { SMARTSUPPORT_API_KEY: key, XDG_CONFIG_HOME: env.XDG_CONFIG_HOME });
  t.equal(listed.code, 0, listed.stderr);
  const keys = JSON.parse((await cli(['api-keys', 'list', '--json', 'id,prefix'], env)).stdout);
  const id = keys.find((k: { prefix: string }) => key.startsWith(k.prefix)).id;
  t.equal((await cli(['api-keys', 'revoke', String(id)], env)).code, 2, 'off a terminal, revoking needs --yes');
  t.equal((await cli(['api-keys', 'revoke', String(id), '--yes'], env)).code, 0);
  t.equal((await cli(['employees', 'counts'], { SMARTSUPPORT_API_KEY: key, XDG_CONFIG_HOME: env.XDG_CONFIG_HOME })).code, 3);
});

t.test('profile update, password change --stdin, password forgot/reset', async (t) => {
  const me = await createEmployee(ta.db, { password: PW });
  const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));
  const env = { XDG_CONFIG_HOME: xdg };
  t.equal((await cli(['login', '--email', me.email, '--password-stdin'], env, PW + '\n')).code, 0);
  const upd = await cli(['profile', 'update', '--first-name', 'Renamed', '--suffix', 'Jr.', '--json', 'first_name,suffix'], env);
  t.same(JSON.parse(upd.stdout), { first_name: 'Renamed', suffix: 'Jr.' });
  const cleared = await cli(['profile', 'update', '--suffix', '', '--json', 'first_name,suffix'], env);
  t.same(JSON.parse(cleared.stdout), { first_name: 'Renamed', suffix: null }, '--suffix "" clears it; other names untouched');
  t.equal((await cli(['profile', 'update'], env)).code, 2, 'nothing to change is a usage error');
  const next = 'amber-meadow-rocket-5';
  const ch = await cli(['password', 'change', '--stdin'], env, `${PW}\n${next}\n`);
  t.equal(ch.code, 0, ch.stderr);
  t.equal((await ta.api.post('/api/token/employee/', { email: me.email, password: next })).status, 200);
  const forgot = await cli(['password', 'forgot', '--email', me.email], env);
  t.equal(forgot.code, 0, forgot.stderr);
  // the link is made by the forgot-password job (only the auth worker runs: the mail stays readable)
  await startWorkers(ta.app, [authFeature]);
  const mail = await waitFor(async () => ta.db('notifications').where({ recipient: me.email, template: 'password_reset' }).first(), 'reset mail');
  const token = new URL(mail.data.reset_url).searchParams.get('token')!;
  const reset = await cli(['password', 'reset', '--token', token, '--password-stdin'], env, 'final-glacier-piano-6\n');
  t.equal(reset.code, 0, reset.stderr);
  t.equal((await ta.api.post('/api/token/employee/', { email: me.email, password: 'final-glacier-piano-6' })).status, 200);
});
