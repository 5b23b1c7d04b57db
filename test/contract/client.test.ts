/**
 * A third party's view: generate a TypeScript client from openapi.yaml (openapi-typescript types +
 * openapi-fetch), type-check a small program written against it with tsc, then run it against the
 * real server. The full flow (register → admin approves → login → create ticket → list tickets) is
 * written from api.md; an operation it uses that is not in the spec (renamed, removed) fails it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { packageRoot } from '../../src/lib/paths.js';
import { signedIn, startTestApp } from '../helpers/harness.js';
import { opKey, spec } from './lib/spec-tools.js';

const run = promisify(execFile);

/** The operations the flow uses, as api.md names them. */
const FLOW = ['POST /api/create_employee/', 'POST /api/employees/{id}/approve/', 'POST /api/token/employee/', 'POST /api/tickets/', 'GET /api/tickets/'];
const have = new Set(spec.operations.map((o) => opKey(o.method, o.path)));
const missing = FLOW.filter((k) => {
  const [m, p] = k.split(' ');
  return !have.has(opKey(m, p));
});

const SMOKE = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const client = createClient<paths>({ baseUrl: process.env.BASE_URL });
const health = await client.GET('/healthz');
const ready = await client.GET('/readyz');
const status: string | undefined = health.data?.status;
console.log(JSON.stringify({ health: status, ready: ready.data?.status, httpStatus: health.response.status }));
`;

const FLOW_PROGRAM = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const baseUrl = process.env.BASE_URL;
const password = 'Correct-Horse-Battery-9';
const email = \`grace.\${Date.now()}@example.com\`;
const fail = (step: string, r: { error?: unknown; response: Response }) => {
  throw new Error(\`\${step} failed: \${r.response.status} \${JSON.stringify(r.error)}\`);
};

// 1. self-registration (anyone)
const anonymous = createClient<paths>({ baseUrl });
const reg = await anonymous.POST('/api/create_employee/', {
  body: { first_name: 'Grace', last_name: 'Hopper', department: 'IT Department', email, password, confirm_password: password },
});
if (!reg.data) fail('register', reg);
const employee = reg.data!;

// 2. a System Admin approves the account
const admin = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${process.env.ADMIN_TOKEN}\` } });
const approved = await admin.POST('/api/employees/{id}/approve/', { params: { path: { id: String(employee.id) } } });
if (!approved.data) fail('approve', approved);

// 3. the employee signs in
const login = await anonymous.POST('/api/token/employee/', { body: { email, password } });
if (!login.data) fail('login', login);
const me = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${login.data!.access}\` } });

// 4. creates a ticket
const created = await me.POST('/api/tickets/', {
  body: { subject: 'Laptop will not boot', category: 'Hardware', sub_category: 'Laptop', description: 'Black screen since this morning.' },
});
if (!created.data) fail('create ticket', created);

// 5. and finds it in their list
const list = await me.GET('/api/tickets/', { params: { query: { limit: 10 } } });
if (!list.data) fail('list tickets', list);
const numbers: string[] = list.data!.data.map((tk) => tk.ticket_number);
console.log(JSON.stringify({
  company_id: employee.company_id,
  approved_status: approved.data!.status,
  token_type: login.data!.token_type,
  ticket_number: created.data!.ticket_number,
  ticket_status: created.data!.status,
  listed: numbers,
}));
`;

const ta = await startTestApp(t);
const admin = await signedIn(ta, { role: 'System Admin' });

const dir = await mkdtemp(path.join(os.tmpdir(), 'ss-client-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test('generate a typed client from openapi.yaml and type-check programs using it', async (t) => {
  await symlink(path.join(packageRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'third-party', private: true, type: 'module' }));
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], strict: true, skipLibCheck: true, outDir: 'out', rootDir: '.', types: ['node'] },
      include: ['schema.d.ts', 'smoke.ts', 'flow.ts'],
    }),
  );
  await run(process.execPath, [path.join(packageRoot, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'), path.join(packageRoot, 'openapi.yaml'), '-o', path.join(dir, 'schema.d.ts'), '--silent'], { cwd: dir });
  t.pass('openapi-typescript generated schema.d.ts');
  await writeFile(path.join(dir, 'smoke.ts'), SMOKE);
  await writeFile(path.join(dir, 'flow.ts'), FLOW_PROGRAM);
  try {
    await run(process.execPath, [path.join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir });
    t.pass('tsc accepts the smoke program and the api.md flow against the generated client');
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    t.fail(`the programs do not type-check against the generated client:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
});

t.test('the generated client talks to the server', async (t) => {
  const { stdout } = await run(process.execPath, [path.join(dir, 'out', 'smoke.js')], { cwd: dir, env: { ...process.env, BASE_URL: ta.url } });
  t.same(JSON.parse(stdout), { health: 'ok', ready: 'ready', httpStatus: 200 });
});

t.test('third-party flow: register → admin approves → login → create ticket → list tickets', async (t) => {
  // a renamed or removed operation must fail here, not skip
  t.same(missing, [], 'every operation the flow uses is in openapi.yaml');
  const { stdout } = await run(process.execPath, [path.join(dir, 'out', 'flow.js')], { cwd: dir, env: { ...process.env, BASE_URL: ta.url, ADMIN_TOKEN: admin.token } }).catch((err) => {
    throw new Error(`the flow failed: ${(err as { stderr?: string }).stderr ?? err}`);
  });
  const r = JSON.parse(stdout);
  t.match(r.company_id, /^MA\d{4,}$/);
  t.equal(r.approved_status, 'Approved');
  t.match(r.token_type, /^bearer$/i);
  t.match(r.ticket_number, /^TX\d{4,}$/);
  t.equal(r.ticket_status, 'New');
  t.ok(r.listed.includes(r.ticket_number), 'the new ticket is in the employee\'s list');
});
