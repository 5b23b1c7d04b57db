/**
 * `smartsupport tickets …` and `reports tickets`, run in-process with injected streams and prompter
 * against a real test app.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { Prompter } from '../src/cli/factory.js';
import { run } from '../src/cli/main.js';
import { signedIn, startTestApp } from './helpers/harness.js';

process.env.XDG_CONFIG_HOME = await mkdtemp(path.join(os.tmpdir(), 'ss-cli-'));
const ta = await startTestApp(t);
const coord = await signedIn(ta, { role: 'Ticket Coordinator' });
const emp = await signedIn(ta, { role: 'Employee' });

async function cli(token: string, args: string[], opts: { tty?: boolean; prompter?: Prompter } = {}) {
  const stdout = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const stdin = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await run(['node', 'smartsupport', ...args], { io: { stdin, stdout, stderr, env: { SMARTSUPPORT_URL: ta.url, SMARTSUPPORT_TOKEN: token, NO_COLOR: '1' } }, prompter: opts.prompter });
  return { code, out, err, json: () => JSON.parse(out) };
}

const answers = (values: Record<string, string>, confirm = true): Prompter => ({
  input: async ({ message }) => values[Object.keys(values).find((k) => message.startsWith(k))!] ?? 'x',
  password: async () => 'x',
  confirm: async () => confirm,
  select: async () => undefined as never,
  checkbox: async () => [],
});

t.test('create, show (TX or number), list, update, comment, history', async (t) => {
  const c = await cli(emp.token, ['tickets', 'create', '--subject', 'Mouse dead', '--category', 'Hardware', '--sub-category', 'Mouse', '--description', 'No light', '--json']);
  t.equal(c.code, 0, c.err);
  const tk = c.json();
  t.equal(tk.status, 'New');
  const n = String(tk.id);
  t.equal((await cli(emp.token, ['tickets', 'show', tk.ticket_number, '--json'])).json().id, tk.id);
  t.equal((await cli(emp.token, ['tickets', 'show', n, '--json', 'ticket_number,status'])).out.trim(), JSON.stringify({ ticket_number: tk.ticket_number, status: 'New' }, null, 2));
  t.equal((await cli(emp.token, ['tickets', 'show', 'bogus'])).code, 2);
  t.equal((await cli(emp.token, ['tickets', 'show', '999999'])).code, 4);
  const list = await cli(emp.token, ['tickets', 'list', '--json']);
  t.same(list.json().map((x: { id: number }) => x.id), [tk.id]);
  const tsv = await cli(emp.token, ['tickets', 'list', '--status', 'New']);
  t.match(tsv.out, new RegExp(`^${tk.ticket_number}\tNew`));
  t.equal((await cli(emp.token, ['tickets', 'update', n, '--subject', 'Mouse very dead', '--json'])).json().subject, 'Mouse very dead');
  const dated = (await cli(emp.token, ['tickets', 'update', n, '--scheduled-date', '2027-01-15', '--sub-category', 'Wireless mouse', '--json'])).json();
  t.match(dated, { scheduled_date: '2027-01-15', sub_category: 'Wireless mouse', subject: 'Mouse very dead' }, 'only the given flags change');
  t.equal((await cli(emp.token, ['tickets', 'update', n, '--scheduled-date', '', '--json'])).json().scheduled_date, null, '--scheduled-date "" clears it');
  t.equal((await cli(emp.token, ['tickets', 'update', n])).code, 2, 'no field flag is a usage error');
  t.equal((await cli(emp.token, ['tickets', 'comment', n, 'any news?', '--json'])).json().comment, 'any news?');
  t.equal((await cli(coord.token, ['tickets', 'comments', n, '--json'])).json().length, 1);
  await cli(emp.token, ['tickets', 'comment', n, 'second note', '--json']);
  const paged = await cli(emp.token, ['tickets', 'comments', n, '--limit', '1']);
  t.match(paged.err, /^more: --cursor \S+/m, 'a partial page says how to get the next one');
  const next = await cli(emp.token, ['tickets', 'comments', n, '--limit', '1', '--cursor', /--cursor (\S+)/.exec(paged.err)![1]!, '--json']);
  t.same(next.json().map((c: { comment: string }) => c.comment), ['second note'], 'the cursor continues the list');
  t.equal(next.err, '', 'no hint with --json');
  t.notMatch((await cli(emp.token, ['tickets', 'comments', n, '--limit', '1', '--all'])).err, /more:/, 'none after --all');
  const h = await cli(emp.token, ['tickets', 'history', n, '--json']);
  t.ok(h.json().some((e: { event: string }) => e.event === 'commented'));
});

t.test('transitions, exit codes, views and the report', async (t) => {
  const tk = (await cli(emp.token, ['tickets', 'create', '--subject', 's', '--category', 'c', '--sub-category', 'x', '--description', 'd', '--json'])).json();
  t.equal((await cli(coord.token, ['tickets', 'new', '--json'])).json().some((x: { id: number }) => x.id === tk.id), true);
  t.equal((await cli(coord.token, ['tickets', 'approve', tk.ticket_number, '--priority', 'High', '--department', 'IT Department', '--json'])).json().status, 'Open');
  t.ok((await cli(coord.token, ['tickets', 'open', '--json'])).json().some((x: { id: number }) => x.id === tk.id));
  const again = await cli(coord.token, ['tickets', 'approve', tk.ticket_number, '--priority', 'High', '--department', 'IT Department']);
  t.equal(again.code, 5, 'invalid transition → exit 5');
  t.match(again.err, /cannot be approved/);
  t.equal((await cli(coord.token, ['tickets', 'claim', String(tk.id), '--json'])).json().status, 'In Progress');
  t.ok((await cli(coord.token, ['tickets', 'mine', '--json'])).json().some((x: { id: number }) => x.id === tk.id));
  t.equal((await cli(coord.token, ['tickets', 'status', String(tk.id), 'Resolved', '-m', 'fixed', '--json'])).json().status, 'Resolved');
  t.equal((await cli(coord.token, ['tickets', 'finalize', String(tk.id), '--json'])).json().reason, 'finalized');
  t.equal((await cli(emp.token, ['tickets', 'close', String(tk.id), '--json'])).json().status, 'Closed');
  t.equal((await cli(emp.token, ['tickets', 'approve', String(tk.id), '--priority', 'High', '--department', 'IT Department'])).code, 3, 'forbidden → exit 3');
  const other = (await cli(emp.token, ['tickets', 'create', '--subject', 's', '--category', 'c', '--sub-category', 'x', '--description', 'd', '--json'])).json();
  t.equal((await cli(coord.token, ['tickets', 'reject', String(other.id), '--reason', 'dup', '--json'])).json().status, 'Rejected');
  const third = (await cli(emp.token, ['tickets', 'create', '--subject', 's', '--category', 'c', '--sub-category', 'x', '--description', 'd', '--json'])).json();
  t.equal((await cli(emp.token, ['tickets', 'withdraw', String(third.id), '--json'])).json().status, 'Withdrawn');
  const report = await cli(coord.token, ['reports', 'tickets', '--json']);
  t.equal(report.code, 0);
  t.ok(report.json().by_status.Closed >= 1);
});

t.test('create prompts on a terminal, fails with exit 2 off one', async (t) => {
  const off = await cli(emp.token, ['tickets', 'create']);
  t.equal(off.code, 2);
  t.match(off.err, /--subject/);
  const on = await cli(emp.token, ['tickets', 'create', '--json'], { tty: true, prompter: answers({ subject: 'Prompted', category: 'Cat', 'sub category': 'Sub', description: 'Desc' }) });
  t.equal(on.code, 0, on.err);
  t.match(on.json(), { subject: 'Prompted', category: 'Cat', sub_category: 'Sub', description: 'Desc' });
});

t.test('delete asks on a terminal, needs --yes off one', async (t) => {
  const tk = (await cli(emp.token, ['tickets', 'create', '--subject', 's', '--category', 'c', '--sub-category', 'x', '--description', 'd', '--json'])).json();
  t.equal((await cli(emp.token, ['tickets', 'delete', String(tk.id)])).code, 2);
  t.equal((await cli(emp.token, ['tickets', 'delete', String(tk.id)], { tty: true, prompter: answers({}, false) })).code, 1, 'declined → cancelled, exit 1');
  t.equal((await cli(emp.token, ['tickets', 'show', String(tk.id), '--json'])).code, 0, 'declined: still there');
  t.equal((await cli(emp.token, ['tickets', 'delete', String(tk.id)], { tty: true, prompter: answers({}, true) })).code, 0);
  t.equal((await cli(emp.token, ['tickets', 'show', String(tk.id)])).code, 4);
  const tk2 = (await cli(emp.token, ['tickets', 'create', '--subject', 's', '--category', 'c', '--sub-category', 'x', '--description', 'd', '--json'])).json();
  t.equal((await cli(emp.token, ['tickets', 'delete', tk2.ticket_number, '--yes'])).code, 0);
});

t.test('tickets list --all streams every page: the same bytes as one JSON document, and TSV lines', async (t) => {
  const own = await signedIn(ta, { role: 'Employee' });
  const empty = await cli(own.token, ['tickets', 'list', '--all', '--json']);
  t.equal(empty.out, '[]\n', 'no tickets: an empty array');
  await ta.db.raw(
    `INSERT INTO tickets (employee_id, subject, category, sub_category, description) SELECT ?, 'Streamed ' || g, 'Hardware', 'Mouse', 'line one\nline two' FROM generate_series(1, 230) g`,
    [own.user.id],
  );
  // what the API returns, page by page
  const all: Record<string, unknown>[] = [];
  for (let cursor: string | undefined; ; ) {
    const res = await ta.api.get('/api/tickets/', { token: own.token, query: { limit: '100', ...(cursor ? { cursor } : {}) } });
    all.push(...res.body.data);
    cursor = res.body.next_cursor ?? undefined;
    if (!cursor) break;
  }
  t.equal(all.length, 230);
  const json = await cli(own.token, ['tickets', 'list', '--all', '--json']);
  t.equal(json.code, 0, json.err);
  t.equal(json.out, JSON.stringify(all, null, 2) + '\n', 'byte for byte the one-document output');
  const fields = await cli(own.token, ['tickets', 'list', '--all', '--json', 'ticket_number,subject']);
  t.same(fields.json(), all.map((x) => ({ ticket_number: x.ticket_number, subject: x.subject })), '--json fields');
  t.equal((await cli(own.token, ['tickets', 'list', '--all', '--json', 'nope'])).code, 2, 'an unknown field is still refused');
  const tsv = await cli(own.token, ['tickets', 'list', '--all']);
  const lines = tsv.out.trimEnd().split('\n');
  t.equal(lines.length, 230, 'one TSV line per ticket (newlines in values flattened)');
  t.match(lines[0], new RegExp(`^${all[0]!.ticket_number}\\t`));
  t.notMatch(tsv.err, /more:/);
});
