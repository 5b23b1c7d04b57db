/**
 * The `calendars` and `sla` CLI nouns, `tickets list --sla` and `reports sla` (CSV): the built
 * binary in a child process against a test app. Also: editing a policy recomputes the due times
 * of its open tickets (the `sla.recompute` job).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { packageRoot } from '../src/lib/paths.js';
import { signedIn, startTestApp } from './helpers/harness.js';
import { waitFor } from './helpers/outbound.js';

const ta = await startTestApp(t, { worker: true });
const xdg = await mkdtemp(path.join(os.tmpdir(), 'ss-sla-cli-'));
t.teardown(() => rm(xdg, { recursive: true, force: true }));
const admin = await signedIn(ta, { role: 'System Admin' });
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });

function cli(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(packageRoot, 'bin', 'smartsupport'), ...args],
      { env: { PATH: process.env.PATH, SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: token, XDG_CONFIG_HOME: xdg, NO_COLOR: '1' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

t.test('calendars, policies, the breached list and the CSV report from the CLI', async (t) => {
  const cal = await cli(['calendars', 'create', '--name', 'London 9-5', '--zone', 'Europe/London', '--hours', 'mon-fri 09:00-12:00,13:00-17:00', '--holiday', '2026-12-25:yearly', '--default', '--json'], admin.token);
  t.equal(cal.code, 0, cal.stderr);
  const c = JSON.parse(cal.stdout);
  t.same(c.hours.monday, [{ from: '09:00', to: '12:00' }, { from: '13:00', to: '17:00' }]);
  t.same(c.hours.saturday, undefined);
  t.same(c.holidays, [{ date: '2026-12-25', recurring: true }]);
  t.equal(c.is_default, true);
  const bad = await cli(['calendars', 'create', '--name', 'X', '--zone', 'Nowhere/Land', '--hours', 'mon 09:00-17:00'], admin.token);
  t.not(bad.code, 0);
  t.match(bad.stderr, /not an IANA time zone|calendar is not valid/);
  t.equal((await cli(['calendars', 'create', '--name', 'X', '--zone', 'UTC', '--hours', 'monday all day'], admin.token)).code, 2, 'usage error');

  const pol = await cli(['sla', 'create', '--name', 'Critical 24/7', '--priority', 'Critical', '--calendar', '24/7', '--first-response', '15', '--resolution', '240', '--pause', 'Pending', '--json'], admin.token);
  t.equal(pol.code, 0, pol.stderr);
  const p = JSON.parse(pol.stdout);
  t.same([p.conditions.priority, p.targets.first_response_minutes, p.calendar_id, p.pause_statuses], [['Critical'], 15, null, ['Pending']]);
  const list = await cli(['sla', 'list'], coord.token);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /Critical 24\/7\tpriority=Critical\t15\/-\/240\t24\/7\tPending/);
  t.equal((await cli(['sla', 'create', '--name', 'Nope', '--first-response', '5'], coord.token)).code, 3, 'coordinators cannot create policies (exit 3)');

  // a breached ticket: created Critical, its start moved back past the 15 minutes, then recomputed
  const tk = (await ta.api.post('/api/tickets/', { subject: 'Server down', category: 'Server', sub_category: 'Outage', description: 'All of it.', priority: 'Critical' }, { token: coord.token })).body;
  await ta.db('ticket_sla').where({ ticket_id: tk.id }).update({ first_response_start: ta.db.raw(`now() - interval '20 minutes'`) });
  await ta.api.patch(`/api/tickets/${tk.ticket_number}/`, { category: 'Servers' }, { token: coord.token });
  const breached = await cli(['tickets', 'list', '--sla', 'breached', '--json', 'ticket_number,sla'], coord.token);
  t.equal(breached.code, 0, breached.stderr);
  const rows = JSON.parse(breached.stdout);
  t.same(rows.map((r: { ticket_number: string }) => r.ticket_number), [tk.ticket_number]);
  t.equal(rows[0].sla.targets.first_response.state, 'breached');
  const show = await cli(['tickets', 'show', tk.ticket_number], coord.token);
  t.match(show.stdout, /Critical 24\/7: breached; first response due \S+; resolution due \S+/);

  const csv = await cli(['reports', 'sla', '--since', '1d', '--csv'], coord.token);
  t.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split(/\r?\n/);
  t.equal(lines[0], 'policy,tickets,fr_met,fr_breached,fr_compliance,fr_p50_min,fr_p90_min,res_met,res_breached,res_compliance,res_p50_min,res_p90_min');
  t.equal(lines[1], 'Critical 24/7,1,0,1,0,,,0,0,,,');

  // editing the policy recomputes its open tickets' due times in a job
  const longer = await cli(['sla', 'update', String(p.id), '--first-response', '60', '--json'], admin.token);
  t.equal(longer.code, 0, longer.stderr);
  const recomputed = await waitFor(async () => {
    const r = await ta.api.get(`/api/tickets/${tk.ticket_number}/`, { token: coord.token });
    return r.body.sla.targets.first_response.minutes === 60 ? r.body.sla : null;
  }, 'the recompute job', 30_000);
  t.equal(Date.parse(recomputed.first_response_due_at) - Date.parse(recomputed.targets.first_response.started_at), 60 * 60_000);
  t.equal(recomputed.targets.first_response.state, 'running', 'no longer breached under the longer target');

  t.equal((await cli(['calendars', 'delete', String(c.id), '--yes'], admin.token)).code, 0, 'no policy uses the calendar');
  t.equal((await cli(['sla', 'delete', String(p.id), '--yes'], admin.token)).code, 0);
});
