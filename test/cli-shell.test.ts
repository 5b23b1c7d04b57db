/**
 * The CLI shell through the built binary: help, version, usage errors, raw `api` calls, --dry-run,
 * profiles (0600), completion scripts, and exit codes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const home = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));

function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/smartsupport', ...args], {
      env: { PATH: process.env.PATH!, XDG_CONFIG_HOME: home, SMARTSUPPORT_URL: ta.url, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('help and version', async (t) => {
  const help = await cli(['--help']);
  t.equal(help.code, 0);
  for (const c of ['serve', 'worker', 'migrate', 'seed', 'api', 'config', 'completion', 'system']) t.match(help.stdout, new RegExp(`\\n  ${c}\\b`), `lists ${c}`);
  const v = await cli(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

t.test('usage errors exit 2 with a message', async (t) => {
  const r = await cli(['no-such-command']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown command/);
  const m = await cli(['api', 'FETCH', '/healthz']);
  t.equal(m.code, 2);
  t.match(m.stderr, /^error: unknown method FETCH/m);
  const d = await cli(['api', 'POST', '/healthz', '--data', '{nope']);
  t.equal(d.code, 2);
  t.match(d.stderr, /--data must be valid JSON/);
});

t.test('api: raw calls print JSON; HTTP errors map to exit codes', async (t) => {
  const r = await cli(['api', 'GET', '/readyz']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { status: 'ready', checks: { database: { ok: true }, migrations: { ok: true } } });
  const nf = await cli(['api', 'GET', '/api/nothing-here/']);
  t.equal(nf.code, 4);
  t.match(nf.stderr, /^error: No operation matches GET \/api\/nothing-here\//m);
  const method = await cli(['api', 'DELETE', '/healthz']);
  t.equal(method.code, 1, '405 is a plain error');
  const down = await cli(['api', 'GET', '/healthz'], { SMARTSUPPORT_URL: 'http://127.0.0.1:9' });
  t.equal(down.code, 1);
  t.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
});

t.test('--dry-run prints the request without sending it or its secrets', async (t) => {
  const tickets = async () => Number((await ta.db('tickets').count({ n: '*' }))[0]!.n);
  const before = await tickets();
  const r = await cli(['--dry-run', 'api', 'POST', '/api/tickets/', '--data', '{"subject":"x"}'], { SMARTSUPPORT_TOKEN: 'secret-token-value' });
  t.equal(r.code, 0, r.stderr);
  const req = JSON.parse(r.stdout);
  t.equal(req.method, 'POST');
  t.equal(req.url, `${ta.url}/api/tickets/`);
  t.same(req.body, { subject: 'x' });
  t.equal(req.headers.Authorization, 'Bearer [redacted]');
  t.ok(req.headers['Idempotency-Key'], 'POSTs carry an Idempotency-Key');
  t.notMatch(r.stdout, /secret-token-value/);
  t.equal(await tickets(), before, 'nothing was created');
});

t.test('--dry-run and --idempotency-key reach commands that sign in or act anonymously, and batches', async (t) => {
  // an address nothing listens on: any request actually sent would fail with "cannot reach"
  const nowhere = { SMARTSUPPORT_URL: 'http://127.0.0.1:9' };
  const PW = 'never-printed-password-1';
  const runs: [string, string[], string, string][] = [
    ['login', ['login', '--email', 'a@example.com', '--password-stdin'], PW + '\n', '/api/token/employee/'],
    ['password forgot', ['password', 'forgot', '--email', 'a@example.com'], '', '/api/employee/forgot-password/'],
    ['password reset', ['password', 'reset', '--token', 'tok', '--password-stdin'], PW + '\n', '/api/employee/reset-password/'],
  ];
  for (const [name, args, stdin, path] of runs) {
    const r = await cli(['--dry-run', '--idempotency-key', `key-${name}`, ...args], nowhere, stdin);
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    const req = JSON.parse(r.stdout);
    t.equal(req.url, `http://127.0.0.1:9${path}`, `${name}: the request is printed`);
    t.equal(req.headers['Idempotency-Key'], `key-${name}`, `${name}: --idempotency-key is used`);
    t.notMatch(r.stdout, new RegExp(PW), `${name}: no secret printed`);
  }
  const batch = await cli(['--dry-run', 'employees', 'approve', '5', '6'], { ...nowhere, SMARTSUPPORT_TOKEN: 't' });
  t.equal(batch.code, 0, `a dry-run batch is not a failure: ${batch.stderr}`);
  t.equal(JSON.parse(batch.stdout).url, 'http://127.0.0.1:9/api/employees/5/approve/');
});

t.test('system commands', async (t) => {
  const ready = await cli(['system', 'ready', '--json']);
  t.equal(ready.code, 0, ready.stderr);
  t.equal(JSON.parse(ready.stdout).status, 'ready');
  const fields = await cli(['system', 'health', '--json', 'status']);
  t.same(JSON.parse(fields.stdout), { status: 'ok' });
  const bad = await cli(['system', 'health', '--json', 'nope']);
  t.equal(bad.code, 2, 'unknown --json field is a usage error');
  const spec = await cli(['system', 'spec', '--format', 'json']);
  t.equal(JSON.parse(spec.stdout).openapi, '3.1.0');
  const piped = await cli(['system', 'health']);
  t.equal(piped.stdout, 'ok\n', 'off a TTY, values are tab-separated');
});

t.test('config profiles live in a 0600 file and never print secrets', async (t) => {
  t.equal((await cli(['config', 'set', 'url', 'not a url'])).code, 2);
  t.equal((await cli(['config', 'set', 'url', 'https://help.example.com/'])).code, 0);
  t.equal((await cli(['config', 'set', 'api_key', '-'], {}, 'ssk_supersecretvalue\n')).code, 0);
  const file = (await cli(['config', 'path'])).stdout.trim();
  t.equal(file, path.join(home, 'smartsupport', 'config.json'));
  t.equal((await stat(file)).mode & 0o777, 0o600);
  t.match(JSON.parse(await readFile(file, 'utf8')), { current: 'default', profiles: { default: { url: 'https://help.example.com', api_key: 'ssk_supersecretvalue' } } });
  const list = await cli(['config', 'list', '--json']);
  t.notMatch(list.stdout, /supersecret/);
  t.match(JSON.parse(list.stdout), [{ name: 'default', current: true, api_key: true }]);
  t.equal((await cli(['config', 'get', 'url'], { SMARTSUPPORT_URL: '' })).stdout.trim(), 'https://help.example.com');
  t.equal((await cli(['config', 'get', 'url'])).stdout.trim(), ta.url, 'SMARTSUPPORT_URL overrides the profile');
  t.equal((await cli(['config', 'use', 'staging'])).code, 0);
  t.equal((await cli(['config', 'get', 'url'], { SMARTSUPPORT_URL: '' })).stdout.trim(), 'http://localhost:8000', 'a new profile starts from the default URL');
});

t.test('completion scripts list the commands', async (t) => {
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await cli(['completion', shell]);
    t.equal(r.code, 0, shell);
    t.match(r.stdout, /system/);
    t.match(r.stdout, /ready/, `${shell} completes verbs`);
  }
  t.equal((await cli(['completion', 'powershell'])).code, 2);
});
