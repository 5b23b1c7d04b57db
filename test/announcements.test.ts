/**
 * System announcements: audiences (everyone, a department, a role), archive, the optional email,
 * and the CLI (`smartsupport announcements create/list/archive`, `smartsupport email list`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { signedIn, startTestApp } from './helpers/harness.js';
import { startSmtp, waitFor } from './helpers/outbound.js';

const run = promisify(execFile);
const bin = path.resolve('bin/smartsupport');

t.test('announcements', async (t) => {
  const smtp = await startSmtp(t);
  const ta = await startTestApp(t, { env: { SMTP_URL: smtp.url }, worker: true });
  const admin = await signedIn(ta, { role: 'System Admin', department: 'Budget Department' });
  const itEmployee = await signedIn(ta, { department: 'IT Department' });
  const assetEmployee = await signedIn(ta, { department: 'Asset Department' });
  const coordinator = await signedIn(ta, { role: 'Ticket Coordinator', department: 'Asset Department' });

  const post = (body: Record<string, unknown>) => ta.api.post('/api/announcements/', body, { token: admin.token });
  const all = await post({ title: 'Office closed Friday', body: 'Public holiday.', audience: 'everyone' });
  t.equal(all.status, 201);
  t.equal(all.headers.get('location'), `/api/announcements/${all.body.id}/`);
  const it = await post({ title: 'VPN maintenance', body: 'Saturday 08:00-10:00.', audience: 'department', department: 'IT Department', send_email: true });
  t.equal(it.status, 201);
  const staffOnly = await post({ title: 'New triage rules', body: 'See the wiki.', audience: 'role', role: 'Ticket Coordinator' });
  t.equal(staffOnly.status, 201);
  t.equal((await post({ title: 'x', body: 'y', audience: 'department' })).status, 422, 'a department audience needs a department');
  t.equal((await post({ title: 'x', body: 'y', audience: 'everyone', role: 'Employee' })).status, 422, 'everyone takes no role');
  t.equal((await ta.api.post('/api/announcements/', { title: 'x', body: 'y', audience: 'everyone' }, { token: itEmployee.token })).status, 403, 'employees cannot post');

  const titles = async (token: string, query: Record<string, string> = {}) => (await ta.api.get('/api/announcements/', { token, query })).body.data.map((a: { title: string }) => a.title);
  t.same(await titles(itEmployee.token), ['VPN maintenance', 'Office closed Friday'], 'IT employee: their department and everyone');
  t.same(await titles(assetEmployee.token), ['Office closed Friday'], 'another department sees only the general one');
  t.same(await titles(coordinator.token), ['New triage rules', 'Office closed Friday'], 'a coordinator sees the role announcement');
  t.same(await titles(admin.token), ['New triage rules', 'VPN maintenance', 'Office closed Friday'], 'admins see all');

  // the email goes to the IT department only, once
  await waitFor(async () => (await ta.db('announcements').where({ id: it.body.id }).first()).emailed_count !== null || undefined, 'announcement emailed');
  // the IT department: our IT employee and the first admin the app created at start-up
  const itPeople = ((await ta.db('employees').where({ department: 'IT Department', status: 'Approved' }).pluck('email')) as string[]).sort();
  t.ok(itPeople.includes(itEmployee.user.email));
  const mails = await waitFor(async () => (smtp.mails.length >= itPeople.length ? smtp.mails : undefined), 'announcement mails delivered');
  t.same(mails.map((m) => m.to).flat().sort(), itPeople, 'only the IT department is emailed');
  t.notOk(mails.some((m) => m.to.includes(assetEmployee.user.email)), 'not the asset department');
  t.match(mails[0]!.raw, /Subject: Announcement: VPN maintenance/);
  t.match(mails[0]!.raw, /Auto-Submitted: auto-generated/);

  const arch = await ta.api.post(`/api/announcements/${all.body.id}/archive/`, undefined, { token: admin.token });
  t.equal(arch.status, 200);
  t.ok(arch.body.archived_at);
  t.same(await titles(assetEmployee.token), [], 'archived announcements disappear');
  t.same(await titles(admin.token, { include_archived: 'true' }), ['New triage rules', 'VPN maintenance', 'Office closed Friday'], 'admins can list archived ones');
  t.same(await titles(assetEmployee.token, { include_archived: 'true' }), [], 'include_archived does nothing for employees');
  t.equal((await ta.api.post('/api/announcements/999999/archive/', undefined, { token: admin.token })).status, 404);

  await t.test('CLI', async (t) => {
    const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));
    const cli = (token: string, ...args: string[]) => run(process.execPath, [bin, ...args], { env: { ...process.env, SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: token, XDG_CONFIG_HOME: xdg, NO_COLOR: '1' } });
    const created = JSON.parse((await cli(admin.token, 'announcements', 'create', '--title', 'Printer moved', '--body', 'Now on floor 2.', '--department', 'Asset Department', '--json')).stdout);
    t.equal(created.audience, 'department');
    t.equal(created.department, 'Asset Department');
    const listed = JSON.parse((await cli(assetEmployee.token, 'announcements', 'list', '--json')).stdout);
    t.same(listed.map((a: { title: string }) => a.title), ['Printer moved']);
    const archived = JSON.parse((await cli(admin.token, 'announcements', 'archive', String(created.id), '--json')).stdout);
    t.ok(archived.archived_at);
    const denied = await cli(assetEmployee.token, 'announcements', 'create', '--title', 'x', '--body', 'y').catch((e: { code: number; stderr: string }) => e);
    t.not((denied as { code: number }).code, 0, 'an employee cannot post from the CLI');
    const inbound = JSON.parse((await cli(admin.token, 'email', 'list', '--quarantined', '--json')).stdout);
    t.same(inbound, [], 'email list --quarantined (empty here)');
  });
});
