/**
 * Account lifecycle (issue 13): deactivate / reactivate (sessions revoked at once, no sign-in, no
 * reset, no email; tickets stay), erase (anonymised everywhere, image removed from the store,
 * irreversible with a confirmation), export, and the last active System Admin protected — through
 * the API and the CLI.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { createEmployee, login, signedIn, startTestApp, tokenFor } from './helpers/harness.js';
import { createTicket, form, png } from './helpers/files.js';
import { waitFor } from './helpers/outbound.js';

const run = promisify(execFile);
const ta = await startTestApp(t);
const api = ta.api;
const PW = 'quiet-maple-orbit-77';
const admin = await signedIn(ta, { role: 'System Admin' });
const as = { token: admin.token };

t.test('deactivate: sessions revoked at once, no sign-in, no reset, no mail; reactivate restores', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW });
  const s = await login(ta, emp.email, PW);
  t.equal((await api.get('/api/employee/profile/', { token: s.access })).status, 200);
  const tk = await createTicket(ta.db, emp.id);
  // a mail queued before the deactivation, and a reset link issued before it
  await api.post('/api/employee/forgot-password/', { email: emp.email });

  const r = await api.post(`/api/employees/${emp.company_id}/deactivate/`, { reason: 'Left the company' }, as);
  t.equal(r.status, 200);
  t.equal(r.body.status, 'Deactivated');
  t.equal((await api.get('/api/employee/profile/', { token: s.access })).status, 401, 'the access token is dead at once');
  t.equal((await api.post('/api/token/refresh/', { refresh: s.refresh })).status, 401, 'so is the refresh token');
  const again = await api.post('/api/token/employee/', { email: emp.email, password: PW });
  t.equal(again.status, 403);
  t.equal(again.body.code, 'account_deactivated');
  t.equal((await api.post('/api/token/employee/', { email: emp.email, password: 'wrong-password-1' })).status, 401, 'the state is only revealed with the right password');
  t.ok(await ta.db('tickets').where({ id: tk.id }).first(), 'tickets stay');
  const audit = await ta.db('employee_audit').where({ employee_id: emp.id });
  t.match(audit, [{ action: 'deactivated', actor_kind: 'user', actor_id: String(admin.user.id), reason: 'Left the company' }]);
  t.equal((await api.post(`/api/employees/${emp.id}/deactivate/`, {}, as)).status, 409, 'only Approved accounts');
  const ev = await ta.db('events').where({ type: 'employee.deactivated', object_id: emp.company_id });
  t.equal(ev.length, 1, 'employee.deactivated recorded once (in the same transaction)');
  t.match(ev[0], { actor_kind: 'employee', actor_id: String(admin.user.id), subject_employee_id: String(emp.id) });
  t.equal(ev[0].data.reason, 'Left the company');

  // the worker: the reset link (queued before) is not mailed; the deactivation notice is
  await ta.startWorkers();
  await waitFor(async () => (await ta.db('notifications').where({ recipient: emp.email, template: 'account_deactivated', status: 'sent' }).first()) ?? null, 'deactivation mail sent');
  await waitFor(async () => Number((await ta.db.raw(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'auth.password_forgot' AND state NOT IN ('completed', 'failed', 'cancelled')`)).rows[0].n) === 0, 'forgot job done');
  const reset = await ta.db('notifications').where({ recipient: emp.email, template: 'password_reset' });
  t.ok(reset.every((m: { status: string }) => m.status !== 'sent'), 'no reset mail goes to a deactivated person');
  // a comment on their ticket does not email them either
  const staff = await signedIn(ta, { role: 'Ticket Coordinator' });
  await ta.db('tickets').where({ id: tk.id }).update({ status: 'Open', approved_at: ta.db.fn.now(), priority: 'Medium', department: 'IT Department' });
  t.equal((await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'We are on it.' }, { token: staff.token })).status, 201);
  // (not queued at all — the preferences skip inactive people — or refused by the email worker)
  await waitFor(async () => !(await ta.db('notifications').where({ recipient: emp.email, status: 'queued' }).first()), 'their queued mail handled');
  t.equal((await ta.db('notifications').where({ recipient: emp.email, template: 'ticket_commented', status: 'sent' })).length, 0, 'no comment mail sent to them');
  // a mail queued for them anyway (any template but the notice itself) is refused at send time
  const [queued] = await ta.db('notifications').insert({ template: 'ticket_commented', recipient: emp.email, data: JSON.stringify({ first_name: 'x', ticket_number: tk.ticket_number, subject: 's', commenter_name: 'c', comment: 'late' }) }).returning('id');
  await ta.app.jobs.enqueue(ta.db, 'email.send', { notificationId: Number(queued.id) });
  const refused = await waitFor(async () => ta.db('notifications').where({ id: queued.id }).whereNot({ status: 'queued' }).first(), 'late mail handled');
  t.equal(refused.status, 'failed');
  t.match(refused.last_error, /deactivated/);

  const back = await api.post(`/api/employees/${emp.company_id}/reactivate/`, undefined, as);
  t.equal(back.status, 200);
  t.equal(back.body.status, 'Approved');
  t.equal((await api.post('/api/token/employee/', { email: emp.email, password: PW })).status, 200, 'signs in again');
  t.same((await ta.db('employee_audit').where({ employee_id: emp.id }).orderBy('id')).map((a: { action: string }) => a.action), ['deactivated', 'reactivated']);
  t.equal((await ta.db('events').where({ type: 'employee.reactivated', object_id: emp.company_id })).length, 1, 'employee.reactivated recorded');
  t.ok(await ta.db('notifications').where({ recipient: emp.email, template: 'account_reactivated' }).first(), 'reactivation mail queued');
  t.equal((await api.post(`/api/employees/${emp.id}/reactivate/`, undefined, as)).status, 409, 'only Deactivated accounts');
});

t.test('the last active System Admin can never be demoted, deactivated or erased', async (t) => {
  // this file's admins: `admin` plus any made here; deactivate every other active admin first
  const other = await createEmployee(ta.db, { role: 'System Admin' });
  await ta.db('employees').where({ role: 'System Admin', status: 'Approved' }).whereNotIn('id', [admin.user.id, other.id]).update({ status: 'Deactivated' });
  t.equal((await api.post(`/api/employees/${other.id}/deactivate/`, {}, as)).status, 200, 'one of two may go');
  const last = await api.post(`/api/employees/${admin.user.id}/deactivate/`, {}, as);
  t.equal(last.status, 409);
  t.equal(last.body.code, 'last_admin');
  const erase = await api.post(`/api/employees/${admin.user.id}/erase/`, { confirm: admin.user.company_id }, as);
  t.equal(erase.status, 409);
  t.equal(erase.body.code, 'last_admin');
  const demote = await api.patch(`/api/employees/${admin.user.id}/`, { role: 'Employee' }, as);
  t.equal(demote.status, 409);
  t.equal(demote.body.code, 'last_admin');
  // the two remaining admins deactivating each other at the same time: exactly one succeeds
  t.equal((await api.post(`/api/employees/${other.id}/reactivate/`, undefined, as)).status, 200);
  const otherToken = await tokenFor(ta.app, other);
  const both = await Promise.all([
    api.post(`/api/employees/${other.id}/deactivate/`, {}, as),
    api.post(`/api/employees/${admin.user.id}/deactivate/`, {}, { token: otherToken }),
  ]);
  t.same(both.map((r) => r.status).sort(), [200, 409], 'one wins, the other is last_admin (no deadlock, no 500)');
  t.equal(Number((await ta.db('employees').where({ role: 'System Admin', status: 'Approved' }).count({ n: '*' }))[0].n), 1, 'one active System Admin remains');
  await ta.db('employees').where({ role: 'System Admin', status: 'Deactivated' }).update({ status: 'Approved' });
});

t.test('erase: anonymised everywhere, image removed, tickets kept, irreversible with a confirmation', async (t) => {
  const emp = await createEmployee(ta.db, { password: PW, first_name: 'Grace', last_name: 'Hopper', middle_name: 'Brewster' } as never);
  const s = await login(ta, emp.email, PW);
  const up = await api.post('/api/employee/upload-image/', undefined, { raw: form('image', [{ data: await png(64, 64), name: 'me.png' }]), token: s.access });
  t.equal(up.status, 200);
  const image = (await ta.db('employees').where({ id: emp.id }).first()).image as string;
  const imageFile = path.join(ta.dataDir, 'media', image);
  t.ok(existsSync(imageFile), 'the image is stored');
  const tk = (await api.post('/api/tickets/', { subject: 'VPN down', category: 'Network', sub_category: 'VPN', description: 'Since 9am.' }, { token: s.access })).body;
  t.equal((await api.post(`/api/tickets/${tk.id}/comments/`, { comment: 'Still down.' }, { token: s.access })).status, 201);
  await ta.db('employee_rejections').insert({ employee_id: emp.id, company_id: emp.company_id, first_name: 'Grace', last_name: 'Hopper', email: emp.email, department: 'IT Department' });
  await ta.db('chat_conversations').insert({ employee_id: emp.id });

  const wrong = await api.post(`/api/employees/${emp.id}/erase/`, { confirm: 'MA9999' }, as);
  t.equal(wrong.status, 422);
  t.equal(wrong.body.code, 'confirmation_mismatch');
  t.equal((await ta.db('employees').where({ id: emp.id }).first()).first_name, 'Grace', 'nothing changed');

  const r = await api.post(`/api/employees/${emp.id}/erase/`, { confirm: emp.company_id.toLowerCase() }, as);
  t.equal(r.status, 200);
  t.match(r.body, { id: emp.id, company_id: emp.company_id, first_name: 'Former', last_name: 'employee', middle_name: null, image: null, status: 'Erased', email: `erased-${emp.id}@erased.invalid` });
  t.notOk(existsSync(imageFile), 'the image file is gone from the store');
  t.equal((await api.get('/api/employee/profile/', { token: s.access })).status, 401, 'signed out');
  t.equal((await api.post('/api/token/employee/', { email: emp.email, password: PW })).status, 401, 'the old email signs nobody in');
  const row = await ta.db('employees').where({ id: emp.id }).first();
  t.equal(row.password_hash, null);
  const rej = await ta.db('employee_rejections').where({ employee_id: emp.id }).first();
  t.match(rej, { first_name: 'Former', last_name: 'employee', email: `erased-${emp.id}@erased.invalid` });
  t.equal((await ta.db('notifications').whereRaw('lower(recipient) = lower(?)', [emp.email])).length, 0, 'the notification log no longer names the address');
  t.equal((await ta.db('chat_conversations').where({ employee_id: emp.id })).length, 0);
  const ticket = await api.get(`/api/tickets/${tk.id}/`, as);
  t.equal(ticket.status, 200, 'the ticket stays');
  t.match(ticket.body.employee, { first_name: 'Former', last_name: 'employee' });
  const comments = await api.get(`/api/tickets/${tk.id}/comments/`, as);
  t.equal(comments.body.data.length, 1);
  t.match(JSON.stringify(comments.body.data[0]), /Former/);
  t.notMatch(JSON.stringify(comments.body.data[0]), /Grace|Hopper/);
  t.match(await ta.db('employee_audit').where({ employee_id: emp.id }), [{ action: 'erased' }]);
  t.equal((await ta.db('events').where({ type: 'employee.erased', object_id: emp.company_id })).length, 1, 'employee.erased recorded');
  const events = await ta.db('events').where({ subject_employee_id: emp.id }).orWhere({ audience_employee_id: emp.id });
  t.ok(events.length >= 3, `the person's earlier events are still there (${events.length})`);
  const text = JSON.stringify(events);
  t.notOk(/Grace|Hopper|Brewster/.test(text) || text.includes(emp.email), 'but no longer carry their name or email');
  const twice = await api.post(`/api/employees/${emp.id}/erase/`, { confirm: emp.company_id }, as);
  t.equal(twice.status, 409);
  t.equal(twice.body.code, 'already_erased');
  t.equal((await api.patch(`/api/employees/${emp.id}/`, { first_name: 'Grace' }, as)).status, 409, 'an erased account cannot be re-personalised');
});

t.test('export: one person\'s data as JSON (admin, and the person themselves)', async (t) => {
  const emp = await signedIn(ta, { role: 'Employee' });
  const other = await signedIn(ta, { role: 'Employee' });
  const mine = (await api.post('/api/tickets/', { subject: 'Mouse', category: 'Hardware', sub_category: 'Mouse', description: 'Left click sticks.' }, { token: emp.token })).body;
  await api.post('/api/tickets/', { subject: 'Not mine', category: 'Hardware', sub_category: 'Mouse', description: 'x' }, { token: other.token });
  await api.post(`/api/tickets/${mine.id}/comments/`, { comment: 'Any news?' }, { token: emp.token });
  t.equal((await api.post(`/api/tickets/${mine.id}/attachments/`, undefined, { token: emp.token, raw: form('files[]', [{ data: Buffer.from('a log\n'), name: 'log.txt' }]) })).status, 201);
  const r = await api.get(`/api/employees/${emp.user.company_id}/export/`, as);
  t.equal(r.status, 200);
  t.equal(r.body.format, 'smartsupport.employee-export.v1');
  t.equal(r.body.profile.company_id, emp.user.company_id);
  t.same(r.body.tickets.map((x: { ticket_number: string }) => x.ticket_number), [mine.ticket_number], 'only their tickets');
  t.match(r.body.comments, [{ ticket_number: mine.ticket_number, comment: 'Any news?', written_by_subject: true }]);
  t.match(r.body.attachments, [{ ticket_number: mine.ticket_number, file_name: 'log.txt', file_type: 'text/plain', uploaded_by_subject: true }]);
  const self = await api.get('/api/employee/profile/export/', { token: emp.token });
  t.equal(self.status, 200);
  t.same(self.body.tickets, r.body.tickets, 'the person gets the same document');
  t.equal((await api.get(`/api/employees/${emp.user.id}/export/`, { token: other.token })).status, 403, 'not another employee');
});

t.test('CLI: employees deactivate | reactivate | erase | export', async (t) => {
  const bin = path.resolve('bin/smartsupport');
  const home = mkdtempSync(path.join(os.tmpdir(), 'ss-lifecycle-cli-'));
  const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: home, SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: admin.token, NO_COLOR: '1' };
  const cli = (args: string[]) => run(process.execPath, [bin, ...args], { env }).then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }));
  const emp = await createEmployee(ta.db, { password: PW });
  const d = await cli(['employees', 'deactivate', emp.company_id, '--reason', 'On leave', '--json']);
  t.equal(d.code, 0, d.stderr);
  t.match(JSON.parse(d.stdout), [{ company_id: emp.company_id, status: 'Deactivated' }]);
  const r = await cli(['employees', 'reactivate', emp.company_id, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), [{ status: 'Approved' }]);
  const x = await cli(['employees', 'export', emp.company_id]);
  t.equal(x.code, 0, x.stderr);
  t.equal(JSON.parse(x.stdout).profile.company_id, emp.company_id);
  const noConfirm = await cli(['employees', 'erase', emp.company_id]);
  t.not(noConfirm.code, 0, 'off a terminal, erase needs --confirm');
  t.equal((await ta.db('employees').where({ id: emp.id }).first()).status, 'Approved');
  const bad = await cli(['employees', 'erase', emp.company_id, '--confirm', 'MA0000']);
  t.not(bad.code, 0);
  t.match(bad.stderr, /company id/i);
  const e = await cli(['employees', 'erase', emp.company_id, '--confirm', emp.company_id, '--json']);
  t.equal(e.code, 0, e.stderr);
  t.match(JSON.parse(e.stdout), { status: 'Erased', first_name: 'Former' });
});
