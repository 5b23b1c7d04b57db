/**
 * The built `smartsupport` binary in a child process against a real app, for the commands no other
 * CLI test runs: system docs/metrics, token refresh, employees register/show/create/update, profile
 * show/upload-image, tickets replace/attach, workflow callback (signed), plus a `--help` sweep over
 * every command, `--json` parsed back, and the exit codes for 401/404/409/412/422 and usage errors.
 * Interactive registration runs in-process under an injected prompter; off a terminal it fails fast.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { Command } from 'commander';
import type { Prompter } from '../src/cli/factory.js';
import { buildProgram, run } from '../src/cli/main.js';
import { packageRoot } from '../src/lib/paths.js';
import { png } from './helpers/files.js';
import { createApiKey, createEmployee, signedIn, startTestApp } from './helpers/harness.js';

const SECRET = 'whsec_' + Buffer.from('cli-workflow-secret-0123456789').toString('base64');
const ta = await startTestApp(t, { env: { WORKFLOW_SIGNING_SECRET: SECRET } });
const bin = path.join(packageRoot, 'bin', 'smartsupport');
const work = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-cmds-'));
const PW = 'silver-canoe-thunder-8';
const admin = await signedIn(ta, { role: 'System Admin' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const emp = await signedIn(ta, { role: 'Employee' });

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function cli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<Result> {
  const xdg = env.XDG_CONFIG_HOME ?? (await mkdtemp(path.join(work, 'xdg-')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: work, XDG_CONFIG_HOME: xdg, SMARTSUPPORT_URL: ta.url, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, json: () => JSON.parse(stdout) }));
    child.stdin.end(stdin);
  });
}

const as = (token: string) => ({ SMARTSUPPORT_TOKEN: token });
const newTicket = async (token = emp.token) => (await cli(['tickets', 'create', '--subject', 'Printer', '--category', 'Hardware', '--sub-category', 'Printer', '--description', 'jammed', '--json'], as(token))).json();

t.test('every command parses: `<command> --help` exits 0 and shows its flags', async (t) => {
  const { program } = await buildProgram(['node', 'smartsupport'], { loadAll: true });
  const leaves: string[][] = [];
  const walk = (c: Command, prefix: string[]) => {
    for (const sub of c.commands) {
      const name = [...prefix, sub.name()];
      if (sub.commands.length === 0 || sub.registeredArguments.length || sub.options.length) leaves.push(name);
      walk(sub, name);
    }
  };
  walk(program, []);
  t.ok(leaves.length > 60, `${leaves.length} commands`);
  // one child process runs the built bundle's `run` for every command (a spawn each would take a minute)
  const script = `
    const { run } = await import(${JSON.stringify(path.join(packageRoot, 'dist', 'cli', 'main.js'))});
    const { PassThrough } = await import('node:stream');
    const out = [];
    for (const name of JSON.parse(process.argv[1])) {
      const stdout = new PassThrough();
      let text = '';
      stdout.on('data', (d) => (text += d));
      const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: { NO_COLOR: '1' } };
      const code = await run(['node', 'smartsupport', ...name, '--help'], { io });
      out.push({ name: name.join(' '), code, text });
    }
    process.stdout.write(JSON.stringify(out));
    process.exit(0);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(leaves)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: work, XDG_CONFIG_HOME: work } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise((resolve) => child.on('close', resolve));
  const results = JSON.parse(stdout || '[]') as { name: string; code: number; text: string }[];
  t.equal(results.length, leaves.length, stderr);
  for (const r of results) {
    t.equal(r.code, 0, `${r.name} --help`);
    t.match(r.text, /^Usage: smartsupport /, r.name);
  }
  const one = await cli(['tickets', 'replace', '--help']);
  t.equal(one.code, 0);
  t.match(one.stdout, /--if-match <etag>/);
});

t.test('system docs and metrics', async (t) => {
  const url = await cli(['system', 'docs']);
  t.equal(url.code, 0, url.stderr);
  t.equal(url.stdout.trim(), `${ta.url}/docs`);
  const html = await cli(['system', 'docs', '--html']);
  // npm test runs on a build, and the build makes the page (npm run build:docs)
  t.equal(html.code, 0, html.stderr);
  t.match(html.stdout, /<html/i);
  t.match(html.stdout, /SmartSupport API reference/);
  const metrics = await cli(['system', 'metrics'], as(admin.token));
  t.equal(metrics.code, 0, metrics.stderr);
  t.match(metrics.stdout, /^# (HELP|TYPE) /m);
});

t.test('token refresh rotates the stored session', async (t) => {
  const user = await createEmployee(ta.db, { password: PW });
  const xdg = await mkdtemp(path.join(work, 'xdg-'));
  const env = { XDG_CONFIG_HOME: xdg };
  const none = await cli(['token', 'refresh'], env);
  t.equal(none.code, 3, 'no session → exit 3');
  t.match(none.stderr, /^error: .*smartsupport login/m);
  const login = await cli(['login', '--email', user.email, '--password-stdin'], env, PW + '\n');
  t.equal(login.code, 0, login.stderr);
  const file = path.join(xdg, 'smartsupport', 'config.json');
  const before = JSON.parse(await readFile(file, 'utf8'));
  const r = await cli(['token', 'refresh', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.json(), { profile: 'default', url: ta.url, expires_in: Number });
  t.notMatch(r.stdout, /ssr_/, 'never prints the refresh token');
  const after = JSON.parse(await readFile(file, 'utf8'));
  const name = after.current ?? 'default';
  t.not(after.profiles[name].refresh_token, before.profiles[name].refresh_token, 'a new refresh token is stored');
  t.not(after.profiles[name].access_token, before.profiles[name].access_token);
  t.equal((await cli(['whoami', '--json', 'email'], env)).json().email, user.email, 'the new session works');
  // presenting the old (rotated) token is theft: the server revokes the family → 401 → exit 3
  await writeFile(file, JSON.stringify(before), { mode: 0o600 });
  t.equal((await cli(['token', 'refresh'], env)).code, 3);
});

t.test('employees register: flags + --password-stdin, --image as multipart, conflicts and validation', async (t) => {
  const missing = await cli(['employees', 'register', '--first-name', 'Ana']);
  t.equal(missing.code, 2, 'off a terminal, missing fields are a usage error');
  t.match(missing.stderr, /--last-name, --department, --email, --password-stdin are required/);
  const base = ['employees', 'register', '--first-name', 'Ana', '--last-name', 'Cruz', '--department', 'IT Department', '--password-stdin'];
  const r = await cli([...base, '--email', 'ana.cruz@example.com', '--json'], {}, PW + '\n');
  t.equal(r.code, 0, r.stderr);
  t.match(r.json(), { first_name: 'Ana', last_name: 'Cruz', email: 'ana.cruz@example.com', status: 'Pending', role: 'Employee' });
  const dup = await cli([...base, '--email', 'ANA.CRUZ@example.com'], {}, PW + '\n');
  t.equal(dup.code, 5, '409 email_taken → exit 5');
  t.match(dup.stderr, /^error: /m);
  const weak = await cli([...base, '--email', 'weak@example.com'], {}, 'short\n');
  t.equal(weak.code, 1, '422 invalid_password → exit 1');
  const image = path.join(work, 'me.png');
  await writeFile(image, await png(64, 64));
  const withImage = await cli([...base, '--email', 'pic@example.com', '--image', image, '--json'], {}, PW + '\n');
  t.equal(withImage.code, 0, withImage.stderr);
  t.ok(withImage.json().image, 'the picture was stored');
  const dry = await cli(['--dry-run', ...base, '--email', 'dry@example.com'], {}, PW + '\n');
  t.equal(dry.code, 0, dry.stderr);
  t.notMatch(dry.stdout, new RegExp(PW), '--dry-run never prints the password');
  t.equal(await ta.db('employees').where({ email: 'dry@example.com' }).first(), undefined, 'nothing sent');
});

t.test('employees register prompts on a terminal (injected prompter)', async (t) => {
  const stdout = Object.assign(new PassThrough(), { isTTY: true });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  let out = '';
  stdout.on('data', (d) => (out += d));
  const asked: string[] = [];
  const prompter: Prompter = {
    input: async ({ message }) => (asked.push(message), ({ 'First name': 'Ben', 'Last name': 'Reyes', Email: 'ben.reyes@example.com' } as Record<string, string>)[message] ?? 'x'),
    password: async ({ message }) => (asked.push(message), PW),
    confirm: async () => true,
    select: async <T,>({ message, choices }: { message: string; choices: { value: T }[] }) => (asked.push(message), choices[1].value),
    checkbox: async () => [],
  };
  const code = await run(['node', 'smartsupport', 'employees', 'register', '--json'], { io: { stdin, stdout, stderr, env: { SMARTSUPPORT_URL: ta.url, NO_COLOR: '1' } }, prompter });
  t.equal(code, 0);
  t.same(asked, ['First name', 'Last name', 'Department', 'Email', 'Password (8–128 characters)', 'Repeat the password']);
  t.match(JSON.parse(out), { email: 'ben.reyes@example.com', department: 'Asset Department', status: 'Pending' });
});

t.test('employees show, create, update; profile show and upload-image', async (t) => {
  const adminEnv = as(admin.token);
  const created = await cli(['employees', 'create', '--first-name', 'Cy', '--last-name', 'Lim', '--department', 'Budget Department', '--email', 'cy.lim@example.com', '--json'], adminEnv);
  t.equal(created.code, 0, created.stderr);
  const cy = created.json();
  t.match(cy, { status: 'Approved', role: 'Employee' });
  t.equal((await cli(['employees', 'show', cy.company_id, '--json', 'email,status'], adminEnv)).stdout.trim(), JSON.stringify({ email: 'cy.lim@example.com', status: 'Approved' }, null, 2));
  const tsv = await cli(['employees', 'show', String(cy.id)], adminEnv);
  t.match(tsv.stdout, new RegExp(`^${cy.company_id}\tCy Lim\tcy.lim@example.com\t`), 'TSV off a terminal');
  t.equal((await cli(['employees', 'show', '99999999'], adminEnv)).code, 4, '404 → exit 4');
  t.equal((await cli(['employees', 'show', String(cy.id)], as(emp.token))).code, 3, 'staff-only endpoint → 403 → exit 3');
  t.equal((await cli(['employees', 'show', String(cy.id), '--json', 'email,nope'], adminEnv)).code, 2, 'unknown --json field → exit 2');
  const upd = await cli(['employees', 'update', String(cy.id), '--role', 'Ticket Coordinator', '--json'], adminEnv);
  t.equal(upd.code, 0, upd.stderr);
  t.equal(upd.json().role, 'Ticket Coordinator');
  const named = await cli(['employees', 'update', String(cy.id), '--middle-name', 'Santos', '--last-name', 'Lim-Reyes', '--json', 'first_name,middle_name,last_name,role'], adminEnv);
  t.same(named.json(), { first_name: 'Cy', middle_name: 'Santos', last_name: 'Lim-Reyes', role: 'Ticket Coordinator' }, 'name flags map to their fields');
  t.equal((await cli(['employees', 'update', String(cy.id), '--department', 'Nowhere'], adminEnv)).code, 1, 'validation → exit 1');
  t.equal((await cli(['employees', 'create', '--first-name', 'Cy', '--last-name', 'Lim', '--department', 'Budget Department', '--email', 'cy.lim@example.com'], adminEnv)).code, 5, 'email taken → exit 5');

  const me = await cli(['profile', 'show', '--json'], as(emp.token));
  t.equal(me.code, 0, me.stderr);
  t.equal(me.json().email, emp.user.email);
  const image = path.join(work, 'avatar.png');
  await writeFile(image, await png(40, 40));
  const up = await cli(['profile', 'upload-image', image, '--json'], as(emp.token));
  t.equal(up.code, 0, up.stderr);
  t.match(up.json(), { image: String });
  const text = path.join(work, 'not-an-image.png');
  await writeFile(text, 'hello');
  t.equal((await cli(['profile', 'upload-image', text], as(emp.token))).code, 1, '415 → exit 1');
  t.equal((await cli(['profile', 'show'], as('not-a-token'))).code, 3, '401 → exit 3');
});

t.test('tickets replace and attach', async (t) => {
  const tk = await newTicket();
  const args = ['--subject', 'Printer on fire', '--category', 'Hardware', '--sub-category', 'Printer', '--description', 'smoke'];
  const r = await cli(['tickets', 'replace', tk.ticket_number, ...args, '--json'], as(emp.token));
  t.equal(r.code, 0, r.stderr);
  t.match(r.json(), { id: tk.id, subject: 'Printer on fire', description: 'smoke', status: 'New' });
  t.equal((await cli(['tickets', 'replace', tk.ticket_number, '--subject', 'x'], as(emp.token))).code, 2, 'all content fields are required');
  t.equal((await cli(['tickets', 'replace', tk.ticket_number, ...args, '--if-match', '"stale"'], as(emp.token))).code, 5, '412 → exit 5');
  t.equal((await cli(['tickets', 'replace', 'TX999999', ...args], as(emp.token))).code, 4, '404 → exit 4');
  t.equal((await cli(['tickets', 'replace', tk.ticket_number, ...args, '--scheduled-date', 'soon'], as(emp.token))).code, 1, '400/422 → exit 1');
  t.equal((await cli(['tickets', 'replace', tk.ticket_number, ...args], as('bogus'))).code, 3, '401 → exit 3');

  const file = path.join(work, 'notes.txt');
  await writeFile(file, 'printer log\n');
  const a = await cli(['tickets', 'attach', tk.ticket_number, file, '--json'], as(emp.token));
  t.equal(a.code, 0, a.stderr);
  t.match(a.json(), [{ id: Number, file_name: 'notes.txt', file_type: 'text/plain', file_size: 12 }]);
  const tsv = await cli(['tickets', 'attach', String(tk.id), file], as(emp.token));
  t.match(tsv.stdout, /^\d+\tnotes\.txt\t/m);
  const other = await signedIn(ta, { role: 'Employee' });
  t.equal((await cli(['tickets', 'attach', tk.ticket_number, file], as(other.token))).code, 4, "someone else's ticket → 404 → exit 4");
  t.equal((await cli(['tickets', 'attach', tk.ticket_number, path.join(work, 'missing.txt')], as(emp.token))).code, 1);
});

t.test('workflow callback: signed with WORKFLOW_SIGNING_SECRET, idempotent, exit codes', async (t) => {
  const key = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['workflow:callback'] });
  const tk = await newTicket();
  await ta.db('tickets').where({ id: tk.id }).update({ status: 'Open', approved_at: ta.db.fn.now() });
  const env = { SMARTSUPPORT_API_KEY: key.key, WORKFLOW_SIGNING_SECRET: SECRET };
  const r = await cli(['workflow', 'callback', tk.ticket_number, '--status', 'In Progress', '--comment', 'picked up', '--event-id', 'evt-1', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.json(), { ticket_id: tk.id, ticket_number: tk.ticket_number, from_status: 'Open', status: 'In Progress', event_id: 'evt-1' });
  const again = await cli(['workflow', 'callback', tk.ticket_number, '--status', 'In Progress', '--comment', 'picked up', '--event-id', 'evt-1', '--json'], env);
  t.same(again.json(), r.json(), 'a repeat returns the first result');
  // issue 13: the same id with a different body is refused, not answered with the first result
  const changed = await cli(['workflow', 'callback', tk.ticket_number, '--status', 'In Progress', '--event-id', 'evt-1', '--json'], env);
  t.equal(changed.code, 1, 'a reused event id with another body → 422 → exit 1');
  t.match(changed.stderr, /already used for a different request/);
  const invalid = await cli(['workflow', 'callback', String(tk.id), '--status', 'New'], env);
  t.equal(invalid.code, 5, 'invalid transition → exit 5');
  t.match(invalid.stderr, /^error: .*allowed: /m);
  t.equal((await cli(['workflow', 'callback', 'TX999999', '--status', 'Resolved'], env)).code, 4);
  const unsigned = await cli(['workflow', 'callback', tk.ticket_number, '--status', 'Resolved'], { SMARTSUPPORT_API_KEY: key.key });
  t.equal(unsigned.code, 3, 'the server requires a signature → 401 → exit 3');
  const wrong = await cli(['workflow', 'callback', tk.ticket_number, '--status', 'Resolved'], { ...env, WORKFLOW_SIGNING_SECRET: 'whsec_' + Buffer.from('other').toString('base64') });
  t.equal(wrong.code, 3);
  const noKey = await cli(['workflow', 'callback', tk.ticket_number, '--status', 'Resolved'], as(coord.token));
  t.equal(noKey.code, 3, 'needs an API key');
  t.match(noKey.stderr, /API key/);
  t.equal((await ta.db('tickets').where({ id: tk.id }).first()).status, 'In Progress');
});

t.test('the cron journey: an API key lists and moves tickets, retries never double-create', async (t) => {
  const key = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['tickets:read', 'tickets:write'] });
  const env = { SMARTSUPPORT_API_KEY: key.key };
  const [tk, tk2] = [await newTicket(), await newTicket()];
  for (const x of [tk, tk2]) t.equal((await cli(['tickets', 'approve', x.ticket_number, '--priority', 'Low', '--department', 'IT Department'], as(coord.token))).code, 0);
  const open = await cli(['tickets', 'list', '--status', 'Open', '--all', '--json', 'ticket_number,status'], env);
  t.equal(open.code, 0, open.stderr);
  t.ok(open.json().some((x: { ticket_number: string }) => x.ticket_number === tk.ticket_number));
  const tsv = await cli(['tickets', 'list', '--status', 'Open', '--limit', '1'], env);
  t.equal(tsv.stdout.trim().split('\n').length, 1, '--limit 1: one TSV row');
  t.match(tsv.stderr, /more: --cursor /);
  const moved = await cli(['tickets', 'status', tk.ticket_number, 'In Progress', '--json', 'status'], env);
  t.equal(moved.code, 0, moved.stderr);
  t.same(moved.json(), { status: 'In Progress' });
  t.equal((await cli(['tickets', 'list', '--limit', '0'], env)).code, 2, 'bad --limit → exit 2');
  const create = ['tickets', 'create', '--subject', 'Nightly check', '--category', 'Ops', '--sub-category', 'Cron', '--description', 'from cron', '--employee-id', String(emp.user.id), '--json', 'id'];
  const first = await cli(['--idempotency-key', 'nightly-2026-11-25', ...create], { SMARTSUPPORT_API_KEY: key.key });
  t.equal(first.code, 0, first.stderr);
  const retried = await cli(create, { SMARTSUPPORT_API_KEY: key.key, SMARTSUPPORT_IDEMPOTENCY_KEY: 'nightly-2026-11-25' });
  t.same(retried.json(), first.json(), 'a retry with the same key returns the first ticket');
  t.equal(Number((await ta.db('tickets').where({ subject: 'Nightly check' }).count({ n: '*' }))[0].n), 1, 'created once');
  t.equal((await cli(['tickets', 'list'], { SMARTSUPPORT_API_KEY: 'ssk_nope' })).code, 3);
  const viaFlags = await cli(['--profile', 'cron', '--url', ta.url, 'tickets', 'list', '--json', 'id'], { ...env, SMARTSUPPORT_URL: 'http://127.0.0.1:9' });
  t.equal(viaFlags.code, 0, 'global options with values before the noun: ' + viaFlags.stderr);
  const down = await cli(['tickets', 'list'], { SMARTSUPPORT_URL: 'http://127.0.0.1:9', ...env });
  t.equal(down.code, 1);
  t.match(down.stderr, /^error: cannot reach http:\/\/127\.0\.0\.1:9/m, 'network errors name the URL');
});

t.test('destructive commands: --yes, or exit 2 off a terminal', async (t) => {
  const tk = await newTicket();
  const r = await cli(['tickets', 'delete', tk.ticket_number], as(emp.token));
  t.equal(r.code, 2);
  t.match(r.stderr, /--yes/);
  const d = await cli(['tickets', 'delete', tk.ticket_number, '--yes', '--json'], as(emp.token));
  t.equal(d.code, 0, d.stderr);
  t.same(d.json(), { deleted: tk.ticket_number });
  t.equal((await cli(['tickets', 'delete', tk.ticket_number, '--yes'], as(emp.token))).code, 4);
});

t.test('on a terminal: a table, coloured unless NO_COLOR; piped: TSV', async (t) => {
  const runTty = async (env: Record<string, string>) => {
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    const stderr = Object.assign(new PassThrough(), { isTTY: false });
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    let out = '';
    stdout.on('data', (d) => (out += d));
    const code = await run(['node', 'smartsupport', 'profile', 'show'], { io: { stdin, stdout, stderr, env: { SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: emp.token, ...env } } });
    return { code, out };
  };
  const plain = await runTty({ NO_COLOR: '1' });
  t.equal(plain.code, 0);
  t.match(plain.out, /┌/, 'a table');
  t.match(plain.out, emp.user.email);
  t.notMatch(plain.out, /\x1b\[/, 'no colour with NO_COLOR');
  const forced = await runTty({ FORCE_COLOR: '1' });
  t.equal(forced.code, 0);
  t.match(forced.out, /┌/);
  const piped = await cli(['profile', 'show'], as(emp.token));
  t.notMatch(piped.stdout, /┌|\x1b\[/, 'piped: no table, no colour');
  t.match(piped.stdout, new RegExp(`\t${emp.user.email.replace(/\./g, '\\.')}\t`));
});
