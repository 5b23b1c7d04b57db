/**
 * Registration and the admin account flows: validation, server-owned fields, company IDs from the
 * sequence under concurrency, approve/reject rules with the audit and emails, lists and counts.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { createApiKey, createEmployee, login, signedIn, startTestApp } from './helpers/harness.js';

const ta = await startTestApp(t);
const PW = 'blue-harbor-lantern-42';
const admin = await createEmployee(ta.db, { role: 'System Admin', password: PW });
const { token: adminToken } = await login(ta, admin.email, PW).then((r) => ({ token: r.access }));
const coordinator = await signedIn(ta, { role: 'Ticket Coordinator' });
const employee = await signedIn(ta, { role: 'Employee' });

let n = 0;
const registration = (over: Record<string, unknown> = {}) => {
  n += 1;
  return { first_name: 'Ana', last_name: `Cruz${n}`, department: 'IT Department', email: `ana${n}.${Date.now()}@example.com`, password: PW, confirm_password: PW, ...over };
};

t.test('the first admin is created at start-up with a 0600 password file', async (t) => {
  const file = path.join(ta.dataDir, 'initial-admin.txt');
  const st = await stat(file);
  t.equal(st.mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  const password = /password: (\S+)/.exec(text)![1];
  const r = await login(ta, 'admin@smartsupport.local', password);
  t.equal(r.user.role, 'System Admin');
});

t.test('self-registration creates a Pending Employee with a company ID and queues the pending email', async (t) => {
  const body = registration({ middle_name: 'B', suffix: 'Jr.' });
  const r = await ta.api.post('/api/create_employee/', body);
  t.equal(r.status, 201);
  t.match(r.body, { status: 'Pending', role: 'Employee', suffix: 'Jr.', email: body.email });
  t.match(r.body.company_id, /^MA\d{4,}$/);
  t.notOk('password_hash' in r.body);
  const mail = await ta.db('notifications').where({ recipient: body.email, template: 'account_pending' }).first();
  t.ok(mail, 'pending email queued');
  t.equal(mail.data.company_id, r.body.company_id);
});

t.test('role, status and company_id are not part of a registration: 400 naming the field', async (t) => {
  for (const [field, value] of [['role', 'System Admin'], ['status', 'Approved'], ['company_id', 'MA0001']]) {
    const r = await ta.api.post('/api/create_employee/', registration({ [field]: value }));
    t.equal(r.status, 400, field);
    t.equal(r.body.code, 'validation_failed');
    t.same(r.body.errors.map((e: { field: string }) => e.field), [field]);
  }
  t.equal(Number((await ta.db('employees').where({ role: 'System Admin' }).count('* as c'))[0].c), 2, 'no admin was created');
});

t.test('multipart registration (fields + optional image) works and enforces the same rules', async (t) => {
  const form = new FormData();
  const body = registration();
  for (const [k, v] of Object.entries(body)) form.append(k, String(v));
  const { default: sharp } = await import('sharp');
  const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366cc' } }).png().toBuffer();
  form.append('image', new Blob([png], { type: 'image/png' }), 'me.png');
  const r = await ta.api.post('/api/create_employee/', undefined, { raw: form });
  t.equal(r.status, 201);
  t.equal(r.body.status, 'Pending');
  t.same(await readdir(path.join(ta.dataDir, 'tmp')).catch(() => []), [], 'the upload temp file is not left behind');
  const stored = (await ta.db('employees').where({ id: r.body.id }).first('image')).image as string;
  t.match(stored, /^employee_images\/[0-9a-f]{32}\.webp$/, 'the image is stored under a server-chosen name');
  const meta = await sharp(path.join(ta.dataDir, 'media', stored)).metadata();
  t.same([meta.width, meta.height, meta.format, meta.exif], [1024, 1024, 'webp', undefined], 'resized to 1024×1024, no EXIF');

  // an image that is not one rejects the registration: no account, no file
  const fake = new FormData();
  const fakeBody = registration();
  for (const [k, v] of Object.entries(fakeBody)) fake.append(k, String(v));
  fake.append('image', new Blob([Buffer.from('89504e470d0a1a0a', 'hex')], { type: 'image/png' }), 'me.png');
  const rejected = await ta.api.post('/api/create_employee/', undefined, { raw: fake });
  t.equal(rejected.status, 415);
  t.equal((await ta.db('employees').whereRaw('lower(email) = lower(?)', [fakeBody.email])).length, 0, 'no account');
  // a valid image but an email already taken: 409, and the stored image is removed again
  const images = async () => (await readdir(path.join(ta.dataDir, 'media', 'employee_images')).catch(() => [] as string[])).sort();
  const imagesBefore = await images();
  const dup = new FormData();
  for (const [k, v] of Object.entries(registration({ email: body.email }))) dup.append(k, String(v));
  dup.append('image', new Blob([png], { type: 'image/png' }), 'me.png');
  t.equal((await ta.api.post('/api/create_employee/', undefined, { raw: dup })).status, 409);
  t.same(await images(), imagesBefore, 'no image left for the account that was not created');
  t.same(await readdir(path.join(ta.dataDir, 'tmp')).catch(() => []), [], 'nor its upload temp file');
  const bad = new FormData();
  for (const [k, v] of Object.entries(registration({ role: 'System Admin' }))) bad.append(k, String(v));
  t.equal((await ta.api.post('/api/create_employee/', undefined, { raw: bad })).status, 400, 'role in a multipart registration is refused by the contract');
});

t.test('registerEmployeeForm (POST /api/create_employee/form/): the same registration, multipart only', async (t) => {
  const { default: sharp } = await import('sharp');
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#cc6633' } }).png().toBuffer();
  const body = registration();
  const form = new FormData();
  for (const [k, v] of Object.entries(body)) form.append(k, String(v));
  form.append('image', new Blob([png], { type: 'image/png' }), 'me.png');
  const r = await ta.api.post('/api/create_employee/form/', undefined, { raw: form });
  t.equal(r.status, 201);
  t.equal(r.body.status, 'Pending');
  t.match(r.headers.get('location'), /^\/api\/employees\/\d+\/$/);
  t.match((await ta.db('employees').where({ id: r.body.id }).first('image')).image, /^employee_images\/[0-9a-f]{32}\.webp$/, 'the image is stored');
  // the same rules: an email taken is 409, a server-owned field is 400
  const dup = new FormData();
  for (const [k, v] of Object.entries(registration({ email: body.email }))) dup.append(k, String(v));
  t.equal((await ta.api.post('/api/create_employee/form/', undefined, { raw: dup })).status, 409);
  const bad = new FormData();
  for (const [k, v] of Object.entries(registration({ status: 'Approved' }))) bad.append(k, String(v));
  t.equal((await ta.api.post('/api/create_employee/form/', undefined, { raw: bad })).status, 400);
  // multipart only: JSON is 415
  const json = await ta.api.post('/api/create_employee/form/', registration());
  t.equal(json.status, 415);
  t.equal(json.body.code, 'unsupported_media_type');
});

t.test('password rules, confirmation and bad fields', async (t) => {
  const short = await ta.api.post('/api/create_employee/', registration({ password: 'short1', confirm_password: 'short1' }));
  t.equal(short.status, 422);
  t.match(short.body.errors, [{ field: 'password' }]);
  const common = await ta.api.post('/api/create_employee/', registration({ password: 'Password123!', confirm_password: 'Password123!' }));
  t.equal(common.status, 422);
  const long = 'x'.repeat(129);
  t.equal((await ta.api.post('/api/create_employee/', registration({ password: long, confirm_password: long }))).status, 422);
  const mismatch = await ta.api.post('/api/create_employee/', registration({ confirm_password: PW + 'x' }));
  t.equal(mismatch.status, 422);
  t.match(mismatch.body.errors, [{ field: 'confirm_password' }]);
  t.equal((await ta.api.post('/api/create_employee/', registration({ department: 'Marketing' }))).status, 400);
  t.equal((await ta.api.post('/api/create_employee/', registration({ suffix: 'Esq.' }))).status, 400);
  t.equal((await ta.api.post('/api/create_employee/', registration({ email: 'not-an-email' }))).status, 400);
});

t.test('duplicate email (any case) is 409', async (t) => {
  const body = registration();
  t.equal((await ta.api.post('/api/create_employee/', body)).status, 201);
  const again = await ta.api.post('/api/create_employee/', registration({ email: body.email.toUpperCase() }));
  t.equal(again.status, 409);
  t.equal(again.body.code, 'email_taken');
});

t.test('100 concurrent registrations get 100 distinct company IDs', async (t) => {
  const results = await Promise.all(Array.from({ length: 100 }, () => ta.api.post('/api/create_employee/', registration())));
  t.same(results.map((r) => r.status).filter((s) => s !== 201), []);
  const ids = new Set(results.map((r) => r.body.company_id));
  t.equal(ids.size, 100);
});

t.test('company IDs widen past 9999', async (t) => {
  await ta.db.raw("SELECT setval('employee_company_id_seq', 9999)");
  const r = await ta.api.post('/api/create_employee/', registration());
  t.equal(r.body.company_id, 'MA10000');
});

t.test('approve: Pending → Approved once, with the email; 409 otherwise; 404 unknown', async (t) => {
  const reg = await ta.api.post('/api/create_employee/', registration());
  const r = await ta.api.post(`/api/employees/${reg.body.company_id}/approve/`, undefined, { token: adminToken });
  t.equal(r.status, 200);
  t.equal(r.body.status, 'Approved');
  t.ok(await ta.db('notifications').where({ recipient: reg.body.email, template: 'account_approved' }).first());
  const again = await ta.api.post(`/api/employees/${reg.body.id}/approve/`, undefined, { token: adminToken });
  t.equal(again.status, 409);
  t.equal(again.body.code, 'invalid_transition');
  t.equal((await ta.api.post('/api/employees/999999/approve/', undefined, { token: adminToken })).status, 404);
  t.equal((await ta.api.post(`/api/employees/${reg.body.id}/approve/`, undefined, { token: coordinator.token })).status, 403, 'coordinators cannot approve');
  t.equal((await ta.api.post(`/api/employees/${reg.body.id}/reject/`, { reason: 'x' }, { token: adminToken })).status, 409, 'approved cannot be rejected');
});

t.test('reject: Pending → Rejected with an audit row and the email; the account cannot sign in', async (t) => {
  const body = registration();
  const reg = await ta.api.post('/api/create_employee/', body);
  const r = await ta.api.post(`/api/employees/${reg.body.id}/reject/`, { reason: 'not an employee' }, { token: adminToken });
  t.equal(r.status, 200);
  t.equal(r.body.status, 'Rejected');
  const audit = await ta.api.get('/api/rejected-employees/', { token: adminToken });
  t.equal(audit.status, 200);
  t.match(audit.body.data[0], { employee_id: reg.body.id, company_id: reg.body.company_id, email: body.email, first_name: 'Ana', reason: 'not an employee', rejected_by: admin.id });
  t.match(audit.body.data[0].rejected_by_name, admin.company_id);
  t.ok(await ta.db('notifications').where({ recipient: body.email, template: 'account_rejected' }).first());
  t.equal((await ta.api.post(`/api/employees/${reg.body.id}/reject/`, { reason: 'again' }, { token: adminToken })).status, 409);
  const signIn = await ta.api.post('/api/token/employee/', { email: body.email, password: PW });
  t.equal(signIn.status, 403);
  t.equal(signIn.body.code, 'account_rejected');
});

t.test('admin create: Approved at once; without a password a set-password link is emailed', async (t) => {
  const email = `made${Date.now()}@example.com`;
  const r = await ta.api.post('/api/admin/create-employee/', { first_name: 'Made', last_name: 'ByAdmin', department: 'Asset Department', email, role: 'Ticket Coordinator' }, { token: adminToken });
  t.equal(r.status, 201);
  t.match(r.body, { status: 'Approved', role: 'Ticket Coordinator' });
  const mail = await ta.db('notifications').where({ recipient: email, template: 'account_created' }).first();
  const token = new URL(mail.data.set_password_url).searchParams.get('token')!;
  t.equal((await ta.api.post('/api/token/admin/', { email, password: PW })).status, 401, 'no password yet');
  t.equal((await ta.api.post('/api/employee/reset-password/', { token, new_password: PW })).status, 204);
  t.equal((await login(ta, email, PW)).user.role, 'Ticket Coordinator');
  const withPw = await ta.api.post('/api/admin/create-employee/', { first_name: 'A', last_name: 'B', department: 'IT Department', email: `pw${email}`, role: 'Employee', password: PW }, { token: adminToken });
  t.equal(withPw.status, 201);
  t.equal((await login(ta, `pw${email}`, PW)).user.status, 'Approved');
  t.equal((await ta.api.post('/api/admin/create-employee/', { first_name: 'A', last_name: 'B', department: 'IT Department', email, role: 'Employee' }, { token: adminToken })).status, 409);
  // concurrent creations of one email race to the unique index: one wins, the rest are 409, never 500
  const raced = `Raced.${Date.now()}@example.com`;
  const statuses = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      ta.api.post('/api/admin/create-employee/', { first_name: 'R', last_name: 'C', department: 'IT Department', email: i % 2 ? raced : raced.toLowerCase(), role: 'Employee', password: PW }, { token: adminToken, headers: { 'Idempotency-Key': `race-${i}` } }).then((r) => r.status),
    ),
  );
  t.same(statuses.sort(), [201, ...Array(9).fill(409)]);
  t.equal((await ta.api.post('/api/admin/create-employee/', { first_name: 'A', last_name: 'B', department: 'IT Department', email: 'x' + email, role: 'Employee' }, { token: employee.token })).status, 403);
});

t.test('list with filters and keyset pagination; show by id or company ID; patch', async (t) => {
  const pending = await ta.api.get('/api/employees/', { token: coordinator.token, query: { status: 'Pending', limit: 5 } });
  t.equal(pending.status, 200);
  t.equal(pending.body.data.length, 5);
  t.ok(pending.body.data.every((e: { status: string }) => e.status === 'Pending'));
  const next = await ta.api.get('/api/employees/', { token: coordinator.token, query: { status: 'Pending', limit: 5, cursor: pending.body.next_cursor } });
  t.notOk(next.body.data.some((e: { id: number }) => pending.body.data.some((p: { id: number }) => p.id === e.id)), 'pages do not overlap');
  const q = await ta.api.get('/api/employees/', { token: adminToken, query: { q: admin.company_id } });
  t.same(q.body.data.map((e: { id: number }) => e.id), [admin.id]);
  const admins = await ta.api.get('/api/employees/', { token: adminToken, query: { role: 'System Admin' } });
  t.ok(admins.body.data.every((e: { role: string }) => e.role === 'System Admin'));
  t.equal((await ta.api.get('/api/employees/', { token: employee.token })).status, 403);
  const byHuman = await ta.api.get(`/api/employees/${employee.user.company_id.toLowerCase()}/`, { token: adminToken });
  t.equal(byHuman.body.id, employee.user.id);
  t.equal((await ta.api.get('/api/employees/MA99999999/', { token: adminToken })).status, 404);
  const patched = await ta.api.patch(`/api/employees/${employee.user.id}/`, { department: 'Budget Department', role: 'Ticket Coordinator' }, { token: adminToken });
  t.match(patched.body, { department: 'Budget Department', role: 'Ticket Coordinator' });
  t.equal((await ta.api.patch(`/api/employees/${employee.user.id}/`, { status: 'Approved' }, { token: adminToken })).status, 400, 'status is not patchable');
  t.equal((await ta.api.patch(`/api/employees/${employee.user.id}/`, { first_name: 'X' }, { token: coordinator.token })).status, 403);
});

t.test('the last System Admin cannot be demoted', async (t) => {
  await ta.db('employees').where({ role: 'System Admin' }).whereNot({ id: admin.id }).update({ role: 'Employee' });
  const r = await ta.api.patch(`/api/employees/${admin.id}/`, { role: 'Employee' }, { token: adminToken });
  t.equal(r.status, 409);
  t.equal(r.body.code, 'last_admin');
});

t.test('counts for staff', async (t) => {
  const r = await ta.api.get('/api/admin/rejected-users-count/', { token: coordinator.token });
  t.equal(r.status, 200);
  const rows = await ta.db('employees').select('status').count('* as c').groupBy('status');
  const by = Object.fromEntries(rows.map((x) => [x.status, Number(x.c)]));
  t.equal(r.body.count, by.Rejected);
  t.equal(r.body.by_status.Pending, by.Pending);
  t.equal((await ta.api.get('/api/admin/rejected-users-count/', { token: employee.token })).status, 403);
});

t.test('own profile: read, and change names only', async (t) => {
  const me = await signedIn(ta);
  const r = await ta.api.get('/api/employee/profile/', { token: me.token });
  t.equal(r.body.id, me.user.id);
  const p = await ta.api.patch('/api/employee/profile/', { first_name: 'Renamed', suffix: 'III' }, { token: me.token });
  t.match(p.body, { first_name: 'Renamed', suffix: 'III', role: 'Employee' });
  t.equal((await ta.api.patch('/api/employee/profile/', { role: 'System Admin' }, { token: me.token })).status, 400);
  t.equal((await ta.api.patch('/api/employee/profile/', { department: 'Asset Department' }, { token: me.token })).status, 400);
});

t.test('API key scopes on employee endpoints', async (t) => {
  const reader = await createApiKey(ta.db, { role: 'System Admin', scopes: ['employees:read'] });
  t.equal((await ta.api.get('/api/employees/', { apiKey: reader.key })).status, 200);
  const w = await ta.api.patch(`/api/employees/${employee.user.id}/`, { first_name: 'Nope' }, { apiKey: reader.key });
  t.equal(w.status, 403);
  t.equal(w.body.code, 'insufficient_scope');
  const writer = await createApiKey(ta.db, { role: 'System Admin', scopes: ['employees:read', 'employees:write'] });
  t.equal((await ta.api.patch(`/api/employees/${employee.user.id}/`, { first_name: 'Yes' }, { apiKey: writer.key })).status, 200);
  const coordKey = await createApiKey(ta.db, { role: 'Ticket Coordinator', scopes: ['employees:write'] });
  t.equal((await ta.api.patch(`/api/employees/${employee.user.id}/`, { first_name: 'No' }, { apiKey: coordKey.key })).status, 403, 'role still applies');
  t.equal((await ta.api.get('/api/employee/profile/', { apiKey: writer.key })).status, 403, 'profile is for people');
});
