/** Notification preferences: defaults, choices, locked security mails, the batched check, ticket mails respecting them, CLI. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { run } from '../src/cli/main.js';
import { recipientsFor, wantsEmail, wantsEmailMany } from '../src/features/notifications/preferences.js';
import { createApiKey, signedIn, startTestApp } from './helpers/harness.js';

process.env.XDG_CONFIG_HOME = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));
const ta = await startTestApp(t);
const P = '/api/employee/profile/notifications/';

type Pref = { key: string; enabled: boolean; default: boolean; customized: boolean; locked: boolean };
const summary = (data: Pref[]) => Object.fromEntries(data.map((p) => [p.key, `${p.enabled ? 'on' : 'off'}${p.customized ? '*' : ''}${p.locked ? '!' : ''}`]));

t.test('defaults per role; choices stored; null returns to the default; security locked', async (t) => {
  const emp = await signedIn(ta, { role: 'Employee' });
  const r = await ta.api.get<{ data: Pref[] }>(P, { token: emp.token });
  t.equal(r.status, 200);
  t.same(summary(r.body.data), { ticket_updates: 'on', ticket_comments: 'on', announcements: 'on', account_security: 'on!' }, 'employee sees only everyone-keys, all at their defaults');

  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const c = await ta.api.get<{ data: Pref[] }>(P, { token: coord.token });
  t.same(summary(c.body.data), {
    ticket_updates: 'on', ticket_comments: 'on', ticket_assigned: 'on', sla_warnings: 'on', weekly_digest: 'off', announcements: 'on', account_security: 'on!',
  }, 'staff see staff keys; the digest is opt-in');

  const u = await ta.api.put<{ data: Pref[] }>(P, { ticket_comments: false, weekly_digest: true, sla_warnings: false }, { token: coord.token });
  t.equal(u.status, 200, u.text);
  t.same(summary(u.body.data), {
    ticket_updates: 'on', ticket_comments: 'off*', ticket_assigned: 'on', sla_warnings: 'off*', weekly_digest: 'on*', announcements: 'on', account_security: 'on!',
  });
  t.same(summary((await ta.api.get<{ data: Pref[] }>(P, { token: coord.token })).body.data), summary(u.body.data), 'persisted');
  // choosing the default explicitly is still a choice; null forgets it
  const back = await ta.api.put<{ data: Pref[] }>(P, { sla_warnings: null, ticket_updates: true }, { token: coord.token });
  t.equal(summary(back.body.data).sla_warnings, 'on');
  t.equal(summary(back.body.data).ticket_updates, 'on*');
  t.equal(summary(back.body.data).ticket_comments, 'off*', 'keys left out are unchanged');

  const locked = await ta.api.put(P, { account_security: false, ticket_updates: false }, { token: emp.token });
  t.equal(locked.status, 422);
  t.equal(locked.body.code, 'preference_locked');
  t.same(locked.body.errors, [{ field: 'account_security', message: 'cannot be turned off' }]);
  const staffOnly = await ta.api.put(P, { weekly_digest: true, ticket_updates: false }, { token: emp.token });
  t.equal(staffOnly.status, 422);
  t.equal(staffOnly.body.code, 'preference_not_applicable');
  t.equal(summary((await ta.api.get<{ data: Pref[] }>(P, { token: emp.token })).body.data).ticket_updates, 'on', 'a refused update changes nothing');
  t.equal((await ta.api.put(P, { account_security: true }, { token: emp.token })).status, 200, 'turning it on is harmless');

  t.equal((await ta.api.put(P, { bogus_key: true }, { token: emp.token })).status, 400, 'unknown key');
  t.equal((await ta.api.put(P, {}, { token: emp.token })).status, 400, 'empty body');
  t.equal((await ta.api.put(P, { ticket_updates: 'no' }, { token: emp.token })).status, 400, 'not a boolean');
  const key = await createApiKey(ta.db, { scopes: ['employees:read', 'employees:write', 'tickets:read', 'tickets:write'] });
  t.equal((await ta.api.get(P, { apiKey: key.key })).status, 403, 'an API key has no preferences');
  t.equal((await ta.api.get(P)).status, 401);
});

t.test('wantsEmail / wantsEmailMany / recipientsFor answer from defaults, choices, roles', async (t) => {
  const a = await signedIn(ta, { role: 'Employee' });
  const b = await signedIn(ta, { role: 'Employee' });
  const s1 = await signedIn(ta, { role: 'System Admin' });
  const s2 = await signedIn(ta, { role: 'Ticket Coordinator' });
  const s3 = await signedIn(ta, { role: 'System Admin', status: 'Pending' });
  await ta.api.put(P, { ticket_comments: false }, { token: b.token });
  await ta.api.put(P, { weekly_digest: true }, { token: s1.token });
  await ta.api.put(P, { weekly_digest: true }, { token: s3.token });
  await ta.api.put(P, { sla_warnings: false }, { token: s2.token });

  t.equal(await wantsEmail(ta.db, a.user.id, 'ticket_comments'), true, 'default on');
  t.equal(await wantsEmail(ta.db, b.user.id, 'ticket_comments'), false, 'chose off');
  t.equal(await wantsEmail(ta.db, b.user.id, 'account_security'), true, 'locked');
  t.equal(await wantsEmail(ta.db, a.user.id, 'sla_warnings'), false, 'not for employees');
  t.equal(await wantsEmail(ta.db, 987654321, 'ticket_updates'), false, 'unknown person');
  const gone = await signedIn(ta, { role: 'System Admin' });
  await ta.api.put(P, { weekly_digest: true }, { token: gone.token });
  await ta.db('employees').where({ id: gone.user.id }).update({ deactivated_at: new Date() });
  t.notOk((await recipientsFor(ta.db, 'weekly_digest')).some((r) => r.id === gone.user.id), 'deactivated: no digest');

  const ids = [a.user.id, b.user.id, s1.user.id, s2.user.id, s3.user.id];
  t.same([...(await wantsEmailMany(ta.db, ids, 'ticket_comments'))].sort(), [a.user.id, s1.user.id, s2.user.id, s3.user.id].sort());
  t.same([...(await wantsEmailMany(ta.db, ids, 'sla_warnings'))].sort(), [s1.user.id, s3.user.id].sort());
  t.same([...(await wantsEmailMany(ta.db, ids, 'weekly_digest'))].sort(), [s1.user.id, s3.user.id].sort());
  t.same([...(await wantsEmailMany(ta.db, [], 'weekly_digest'))], []);

  // one statement for many people (no N+1)
  let statements = 0;
  const onQuery = () => void (statements += 1);
  ta.db.on('query', onQuery);
  await wantsEmailMany(ta.db, ids, 'ticket_updates');
  ta.db.off('query', onQuery);
  t.equal(statements, 1, 'one query for five people');

  const digest = (await recipientsFor(ta.db, 'weekly_digest')).map((r) => r.id);
  t.ok(digest.includes(s1.user.id), 'opted-in admin');
  t.notOk(digest.includes(s3.user.id), 'not Approved: not a recipient');
  t.notOk(digest.includes(s2.user.id), 'did not opt in');
  const sla = (await recipientsFor(ta.db, 'sla_warnings', { roles: ['Ticket Coordinator'] })).map((r) => r.id);
  t.notOk(sla.includes(s2.user.id), 'turned off');
  t.notOk(sla.includes(s1.user.id), 'role filter');
});

t.test('ticket status and comment emails follow the owner\'s preferences', async (t) => {
  const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
  const quiet = await signedIn(ta, { role: 'Employee' });
  const loud = await signedIn(ta, { role: 'Employee' });
  await ta.api.put(P, { ticket_updates: false, ticket_comments: false }, { token: quiet.token });

  const mails = async (email: string) => (await ta.db('notifications').where({ recipient: email }).orderBy('id').pluck('template')) as string[];
  for (const who of [quiet, loud]) {
    const tk = await ta.api.post('/api/tickets/', { subject: 'VPN down', category: 'Network', sub_category: 'VPN', description: 'No tunnel' }, { token: who.token });
    t.equal(tk.status, 201, tk.text);
    const ap = await ta.api.post(`/api/tickets/${tk.body.ticket_number}/approve/`, { priority: 'High', department: 'IT Department' }, { token: coord.token });
    t.equal(ap.status, 200, ap.text);
    t.equal((await ta.api.post(`/api/tickets/${tk.body.ticket_number}/comments/`, { comment: 'Looking at it' }, { token: coord.token })).status, 201);
  }
  t.same(await mails(loud.user.email), ['ticket_status_changed', 'ticket_commented'], 'defaults: both mails');
  t.same(await mails(quiet.user.email), [], 'turned off: no mail queued');

  // turning one back on takes effect for the next event
  await ta.api.put(P, { ticket_comments: null }, { token: quiet.token });
  const [tk] = await ta.db('tickets').where({ employee_id: quiet.user.id }).select('ticket_number');
  await ta.api.post(`/api/tickets/${tk.ticket_number}/comments/`, { comment: 'Fixed?' }, { token: coord.token });
  t.same(await mails(quiet.user.email), ['ticket_commented']);
});

t.test('CLI: profile notifications show / set', async (t) => {
  const emp = await signedIn(ta, { role: 'Employee' });
  const cli = async (args: string[]) => {
    const stdout = Object.assign(new PassThrough(), { isTTY: false });
    const stderr = Object.assign(new PassThrough(), { isTTY: false });
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    let out = '';
    let err = '';
    stdout.on('data', (d) => (out += d));
    stderr.on('data', (d) => (err += d));
    const code = await run(['node', 'smartsupport', ...args], { io: { stdin, stdout, stderr, env: { SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: emp.token, NO_COLOR: '1' } } });
    return { code, out, err };
  };
  const shown = await cli(['profile', 'notifications', 'show']);
  t.equal(shown.code, 0, shown.err);
  t.equal(shown.out.split('\n')[0], 'ticket_updates\ton\ton\t\tstatus changes of tickets you own');
  const set = await cli(['profile', 'notifications', 'set', 'ticket_comments=off', 'announcements=OFF', '--json', 'key,enabled']);
  t.equal(set.code, 0, set.err);
  t.same(JSON.parse(set.out), [
    { key: 'ticket_updates', enabled: true },
    { key: 'ticket_comments', enabled: false },
    { key: 'announcements', enabled: false },
    { key: 'account_security', enabled: true },
  ]);
  const bad = await cli(['profile', 'notifications', 'set', 'ticket_comments']);
  t.equal(bad.code, 2, 'usage error');
  t.match(bad.err, /not KEY=on\|off\|default/);
  const locked = await cli(['profile', 'notifications', 'set', 'account_security=off']);
  t.equal(locked.code, 1);
  t.match(locked.err, /Security emails cannot be turned off/);
  t.equal(await wantsEmail(ta.db, emp.user.id, 'announcements'), false, 'the CLI change reached the server');
});
